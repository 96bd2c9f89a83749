"""Direct reporting against the real database: submissions, flags, quarantine, completeness, uploads."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.observations import repository as obs_repo
from backend.registry import repository as registry_repo
from backend.reporting import service
from backend.reporting.service import SubmittedValue

TZ = "Asia/Shanghai"
SH = ZoneInfo(TZ)
OCT, SEP = date(2026, 10, 1), date(2026, 9, 1)
NOV_5 = datetime(2026, 11, 5, 10, tzinfo=SH)
SETTINGS = Settings(database_url="postgresql://unused/none")

FULL = {"econ.gross_output": 1000.0, "econ.revenue": 950.0, "econ.value_added": 300.0,
        "energy.consumption": 800.0, "econ.main_product_output": 5000.0}


def _values(d: dict[str, float]) -> list[SubmittedValue]:
    return [SubmittedValue(k, v) for k, v in d.items()]


@pytest.fixture()
def due_ids(db_session: Session) -> list[int]:
    ids = registry_repo.enterprise_ids_in(db_session, date(2026, 10, 31), above_scale=True)
    assert len(ids) > 10
    return ids


def _stored(session: Session, eid: int, code: str, month: date) -> tuple[float, int, str] | None:
    row = session.execute(text(
        "SELECT o.value, o.quality, o.source FROM period_observation o JOIN series s ON s.id = o.series_id "
        "WHERE s.indicator_code = :c AND s.entity_kind = 'enterprise' AND s.entity_id = :e AND o.time = :t"),
        {"c": code, "e": eid, "t": datetime(month.year, month.month, 1, tzinfo=SH)}).first()
    return (row[0], row[1], row[2]) if row else None


def _submit(session: Session, eid: int, month: date, d: dict[str, float], now: datetime = NOV_5, **kw):
    return service.submit(session, SETTINGS, enterprise_id=eid, month=month, values=_values(d), channel="api",
                          submitted_by="test", now=now, **kw)


def test_a_full_report_is_stored_and_counts_as_reported(db_session: Session, due_ids: list[int]):
    eid = due_ids[0]
    res = _submit(db_session, eid, OCT, FULL)
    assert res.status == "accepted" and res.inserted == 5 and res.rejected == [] and res.flags == []
    assert _stored(db_session, eid, "econ.revenue", OCT) == (950.0, 0, "direct:api")
    comp = service.completeness(db_session, SETTINGS, OCT, datetime(2026, 11, 20, tzinfo=SH))
    row = next(r for r in comp.enterprises if r.enterprise_id == eid)
    assert row.status == "reported" and row.missing == []
    assert comp.due == len(due_ids)
    assert comp.counts == {"reported": 1, "late": 0, "missing": len(due_ids) - 1, "pending": 0}


def test_completeness_before_the_deadline_counts_pending_and_after_it_late(db_session: Session, due_ids: list[int]):
    a, b, c = due_ids[:3]
    _submit(db_session, a, OCT, FULL, now=datetime(2026, 11, 8, 23, 0, tzinfo=SH))
    _submit(db_session, b, OCT, FULL, now=datetime(2026, 11, 12, tzinfo=SH))
    _submit(db_session, c, OCT, {"econ.revenue": 10.0}, now=datetime(2026, 11, 3, tzinfo=SH))
    comp = service.completeness(db_session, SETTINGS, OCT, datetime(2026, 11, 20, tzinfo=SH))
    status = {r.enterprise_id: r.status for r in comp.enterprises}
    assert (status[a], status[b], status[c]) == ("reported", "late", "missing")
    assert next(r for r in comp.enterprises if r.enterprise_id == c).missing == [
        "econ.gross_output", "econ.value_added", "energy.consumption", "econ.main_product_output"]
    early = service.completeness(db_session, SETTINGS, OCT, datetime(2026, 11, 8, 23, 30, tzinfo=SH))
    assert early.counts["pending"] == len(due_ids) - 1 and early.counts["reported"] == 1


def test_a_deadline_set_for_a_period_replaces_the_default(db_session: Session, due_ids: list[int]):
    a = due_ids[0]
    _submit(db_session, a, OCT, FULL, now=datetime(2026, 11, 12, tzinfo=SH))
    service.set_deadline(db_session, OCT, datetime(2026, 11, 16, tzinfo=SH), "国庆顺延")
    comp = service.completeness(db_session, SETTINGS, OCT, datetime(2026, 11, 20, tzinfo=SH))
    assert comp.due_at == datetime(2026, 11, 16, tzinfo=SH)
    assert next(r for r in comp.enterprises if r.enterprise_id == a).status == "reported"


def test_invalid_values_are_quarantined_and_the_valid_ones_stored(db_session: Session, due_ids: list[int]):
    eid = due_ids[1]
    res = service.submit(db_session, SETTINGS, enterprise_id=eid, month=OCT, channel="api", submitted_by="t",
                         now=NOV_5, values=[SubmittedValue("econ.revenue", "12a"),
                                            SubmittedValue("econ.gross_output", 100, "吨"),
                                            SubmittedValue("econ.value_added", 1.2, "亿元")])
    assert res.status == "accepted" and res.stored == {"econ.value_added": 12000.0}
    assert len(res.rejected) == 2
    q = db_session.execute(text("SELECT reason, batch_id FROM ingest_quarantine WHERE source_name = 'direct_report' "
                                "ORDER BY reason")).all()
    assert [b for _, b in q] == [f"report:{res.submission_id}"] * 2
    assert any("not a number" in r for r, _ in q) and any("cannot convert" in r for r, _ in q)


def test_a_month_that_has_not_ended_is_rejected_whole(db_session: Session, due_ids: list[int]):
    res = _submit(db_session, due_ids[0], date(2026, 11, 1), FULL)
    assert res.status == "rejected" and res.stored == {} and len(res.rejected) == 5
    assert "has not ended" in res.rejected[0].reason


def test_a_jump_is_flagged_stored_as_suspect_and_cleared_by_a_correction(db_session: Session, due_ids: list[int]):
    eid = due_ids[2]
    _submit(db_session, eid, SEP, FULL, now=datetime(2026, 10, 5, tzinfo=SH))
    res = _submit(db_session, eid, OCT, {**FULL, "econ.revenue": 2000.0})
    assert res.status == "flagged"
    assert [(f.indicator_code, f.rule.value) for f in res.flags] == [("econ.revenue", "mom_jump")]
    assert _stored(db_session, eid, "econ.revenue", OCT) == (2000.0, 2, "direct:api")
    flag = db_session.execute(text("SELECT status, message FROM report_flag WHERE enterprise_id = :e"),
                              {"e": eid}).one()
    assert flag[0] == "open" and "环比" in flag[1]
    fixed = _submit(db_session, eid, OCT, {"econ.revenue": 990.0}, now=NOV_5 + timedelta(days=1))
    assert fixed.status == "accepted" and fixed.updated == 1
    assert _stored(db_session, eid, "econ.revenue", OCT) == (990.0, 0, "direct:api")
    assert db_session.execute(text("SELECT status FROM report_flag WHERE enterprise_id = :e"),
                              {"e": eid}).scalar_one() == "cleared"


def test_output_that_disagrees_with_metered_electricity_is_flagged(db_session: Session, due_ids: list[int]):
    eid = due_ids[3]
    sid = obs_repo.ensure_series(db_session, [("power.consumption", "enterprise", eid)])[
        ("power.consumption", "enterprise", eid)]
    # September 1,000,000 kWh, October 400,000 kWh (one reading each month is enough for the rollup;
    # August's is there because the first metered month counts as partial)
    obs_repo.write_observations(db_session, [
        obs_repo.ObservationRow(sid, datetime(2026, 8, 15, 12, tzinfo=SH), 1_000_000.0, "meter"),
        obs_repo.ObservationRow(sid, datetime(2026, 9, 15, 12, tzinfo=SH), 1_000_000.0, "meter"),
        obs_repo.ObservationRow(sid, datetime(2026, 10, 15, 12, tzinfo=SH), 400_000.0, "meter")], "observation", TZ)
    _submit(db_session, eid, SEP, FULL, now=datetime(2026, 10, 5, tzinfo=SH))
    # output up 10% while power fell 60%; and energy 40 tce < 400,000 kWh * 0.1229 kgce = 49.2 tce
    res = _submit(db_session, eid, OCT, {**FULL, "econ.main_product_output": 5500.0, "energy.consumption": 40.0})
    rules_hit = {(f.indicator_code, f.rule.value) for f in res.flags}
    assert ("econ.main_product_output", "power_intensity") in rules_hit
    assert ("energy.consumption", "energy_below_power") in rules_hit


def test_an_upload_makes_one_submission_per_enterprise_and_rejects_unknown_ones(db_session: Session,
                                                                                 due_ids: list[int]):
    a, b = due_ids[4], due_ids[5]
    uscc: dict[int, str] = {i: u for i, u in db_session.execute(
        text("SELECT id, uscc FROM enterprise WHERE id IN (:a, :b)"), {"a": a, "b": b})}
    csv_text = ("2026年10月规上工业企业主要指标月报\n"
                "统一社会信用代码,报告期,工业总产值(万元),营业收入(万元),工业增加值(万元),综合能源消费量(吨标准煤),主要产品产量(吨)\n"
                f"{uscc[a]},2026-10,\"1,000\",950,300,800,5000\n"
                f"{uscc[b]},2026年10月,2000,1900,abc,1600,9000\n"
                "91150300XXXXXXXXX0,2026-10,1,1,1,1,1\n")
    res = service.upload(db_session, SETTINGS, data=csv_text.encode("gbk"), file_name="monthly.csv",
                         submitted_by="staff", now=NOV_5)
    assert [(s.enterprise_id, len(s.stored), len(s.rejected)) for s in res.submissions] == sorted(
        [(a, 5, 0), (b, 4, 1)])
    assert len(res.rejected) == 5 and "no enterprise with credit code" in res.rejected[0].reason
    assert _stored(db_session, a, "econ.gross_output", OCT) == (1000.0, 0, "direct:upload")


def test_an_enterprise_upload_may_not_report_for_another_enterprise(db_session: Session, due_ids: list[int]):
    a, b = due_ids[6], due_ids[7]
    other = db_session.execute(text("SELECT uscc FROM enterprise WHERE id = :b"), {"b": b}).scalar_one()
    csv_text = ("统一社会信用代码,报告期,营业收入(万元)\n"
                f",2026-10,950\n"
                f"{other},2026-10,100\n")
    res = service.upload(db_session, SETTINGS, data=csv_text.encode(), file_name="mine.csv", submitted_by="rep",
                         now=NOV_5, enterprise_id=a)
    assert [(s.enterprise_id, s.stored) for s in res.submissions] == [(a, {"econ.revenue": 950.0})]
    assert "only report for your own enterprise" in res.rejected[0].reason


def test_months_before_metering_began_and_its_first_month_get_no_power_checks(db_session: Session,
                                                                                due_ids: list[int]):
    eid = due_ids[8]
    sid = obs_repo.ensure_series(db_session, [("power.consumption", "enterprise", eid)])[
        ("power.consumption", "enterprise", eid)]
    # metering history loaded from 20 September only: September is partial, August unmetered
    obs_repo.write_observations(db_session, [
        obs_repo.ObservationRow(sid, datetime(2026, 9, 20, 12, tzinfo=SH), 100_000.0, "meter"),
        obs_repo.ObservationRow(sid, datetime(2026, 10, 15, 12, tzinfo=SH), 10_000_000.0, "meter")],
        "observation", TZ)
    aug = _submit(db_session, eid, date(2026, 8, 1), FULL, now=datetime(2026, 9, 5, tzinfo=SH))
    sep = _submit(db_session, eid, SEP, FULL, now=datetime(2026, 10, 5, tzinfo=SH))
    oct_ = _submit(db_session, eid, OCT, FULL)
    assert aug.flags == [] and sep.flags == []
    # October is metered, but against a partial September no intensity change is judged
    assert [f.rule.value for f in oct_.flags] == ["energy_below_power"]
