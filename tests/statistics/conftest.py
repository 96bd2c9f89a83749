"""Fixtures: see tests/statistics/support.py."""

from tests.statistics.support import catalogue, plan_for, units  # noqa: F401
