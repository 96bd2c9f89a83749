"""The demo stores its monthly direct reports in a one-shot process that starts with the
first phase and does not hold up the rest."""

from __future__ import annotations

from backend.config import Settings
from backend.platform.supervisor import demo_processes


def test_the_demo_runs_the_monthly_reports_as_a_one_shot_in_the_first_phase():
    specs = {s.name: s for s in demo_processes(Settings(database_url="postgresql://unused/none"))}
    reports = specs["reports"]
    assert reports.oneshot and reports.phase == 0
    assert reports.argv[-2:] == ["reporting", "demo"]
