"""The demo's monthly direct reports: deterministic, stored through the reporting path,
completeness with every state for last month, idempotent on re-run."""

from __future__ import annotations

import time as clock
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.reporting import demo, service
from backend.reporting.rules import REPORTED
from ingest.simulator.generator import World

SH = ZoneInfo("Asia/Shanghai")
SETTINGS = Settings(database_url="postgresql://unused/none")
NOW = datetime(2026, 11, 27, 20, tzinfo=SH)
OCT = date(2026, 10, 1)


def test_demo_months_are_the_26_months_before_this_one():
    months = demo.demo_months(date(2026, 11, 27))
    assert len(months) == 26 and months[0] == date(2024, 9, 1) and months[-1] == OCT


def test_figures_and_behaviour_are_a_pure_function_of_seed_enterprise_and_month():
    a, b = World(seed=1), World(seed=1)
    pa, pb = a.of("power.consumption")[7], b.of("power.consumption")[7]
    assert demo.report_values(a, pa, OCT) == demo.report_values(b, pb, OCT)
    assert demo.report_values(a, pa, OCT) != demo.report_values(World(seed=2), World(seed=2).of(
        "power.consumption")[7], OCT)
    uscc = pa.entity.code
    assert demo.plan_enterprise_month(1, uscc, OCT, SH) == demo.plan_enterprise_month(1, uscc, OCT, SH)


def test_figures_are_plausible_and_dip_in_the_spring_festival_month():
    w = World(seed=1)
    miners = [s for s in w.of("power.consumption") if s.entity.group == "coal_mining"][:5]
    for s in miners:
        feb, mar = demo.report_values(w, s, date(2026, 2, 1)), demo.report_values(w, s, date(2026, 3, 1))
        # the Spring Festival of 2026 is on 17 February: mines stand nearly still for two weeks
        assert feb["econ.main_product_output"] < 0.8 * mar["econ.main_product_output"]
        assert 0 < mar["econ.value_added"] < mar["econ.gross_output"]
        assert mar["energy.consumption"] > 0


def _count(session: Session, sql: str, **params: object) -> int:
    return int(session.execute(text(sql), params).scalar_one())


def test_the_demo_reports_are_stored_through_the_reporting_path_and_show_every_state(db_session: Session):
    t0 = clock.monotonic()
    first = demo.seed_demo_reports(db_session, SETTINGS, NOW)
    elapsed = clock.monotonic() - t0
    assert first.submitted > 2000 and first.already == 0
    print(f"\n[demo reports] {first.submitted} submissions, {first.flags} flags in {elapsed:.1f} s")
    # every indicator stored as an enterprise period observation from the direct channel
    stored = db_session.execute(text(
        "SELECT s.indicator_code, count(*) FROM period_observation o JOIN series s ON s.id = o.series_id "
        "WHERE s.entity_kind = 'enterprise' AND o.source = 'direct:api' GROUP BY 1")).all()
    assert {c for c, _ in stored} == set(REPORTED) and min(n for _, n in stored) > 2000
    assert _count(db_session, "SELECT count(*) FROM report_submission WHERE submitted_by = :b",
                  b=demo.DEMO_SUBMITTER) == first.submitted
    # mistakes and incidents raise review flags; last month's stay open, older ones were confirmed
    flags: dict[str, int] = {s: n for s, n in db_session.execute(text(
        "SELECT status, count(*) FROM report_flag GROUP BY 1"))}
    assert flags.get("open", 0) > 0 and flags.get("confirmed", 0) > 0 and flags.get("cleared", 0) > 0
    assert _count(db_session, "SELECT count(*) FROM report_flag WHERE status = 'open' AND month < :m",
                  m=OCT) == 0
    comp = service.completeness(db_session, SETTINGS, OCT, NOW)
    assert comp.counts["reported"] > comp.due * 0.6
    assert comp.counts["late"] > 0 and comp.counts["missing"] > 0 and comp.counts["pending"] == 0
    assert all(e.missing and e.completed_at is None for e in comp.enterprises if e.status == "missing")
    # an older month is complete: everybody reported (some late)
    sep = service.completeness(db_session, SETTINGS, date(2026, 8, 1), NOW)
    assert sep.counts["missing"] == 0 and sep.counts["reported"] + sep.counts["late"] == sep.due
    assert first.targets == 4

    again = demo.seed_demo_reports(db_session, SETTINGS, NOW)
    assert (again.submitted, again.targets, again.confirmed) == (0, 0, 0)
    assert again.already == first.submitted


def test_submissions_whose_time_has_not_come_are_made_on_a_later_run(db_session: Session):
    early = datetime(2026, 11, 5, 12, tzinfo=SH)
    demo.seed_demo_reports(db_session, SETTINGS, early, months_back=2)
    before = service.completeness(db_session, SETTINGS, OCT, early)
    assert before.counts["pending"] > 0 and before.counts["missing"] == 0
    later = demo.seed_demo_reports(db_session, SETTINGS, NOW, months_back=2)
    assert later.submitted > 0
    after = service.completeness(db_session, SETTINGS, OCT, NOW)
    assert after.counts["pending"] == 0 and after.counts["reported"] >= before.counts["reported"]
