"""Benchmarks: scripts run by hand (`python benchmarks/<name>.py`), printing their figures."""
