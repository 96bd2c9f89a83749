"""The store-time hold for suspected unit mix-ups: pure rule, and the store on the real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.ingestion import service
from backend.ingestion.batch import ParsedRow
from backend.ingestion.plausibility import HOLD_FACTOR, MIN_HISTORY_DAYS, Ceiling, hold_reason, peer_ceiling

NOW = datetime(2026, 11, 27, 8, tzinfo=UTC)
TZ = "Asia/Shanghai"


def test_only_a_value_far_above_a_known_history_is_held():
    c = Ceiling(largest=5000.0, days=30)
    assert hold_reason(5000.0 * HOLD_FACTOR * 0.99, c, "t") is None
    reason = hold_reason(5000.0 * 1000, c, "t")
    assert reason is not None and reason.startswith("疑似单位错误") and "1,000×" in reason
    assert hold_reason(0.0, c, "t") is None  # a shutdown is what the detector must see
    assert hold_reason(5e9, Ceiling(5000.0, MIN_HISTORY_DAYS - 1), "t") is None  # no usual yet, no peers
    assert hold_reason(5e9, Ceiling(0.0, 60), "t", peers=5000.0) is None  # its own zeros: no scale to judge
    assert hold_reason(5e9, None, "t") is None


def test_a_series_without_a_history_is_judged_against_the_largest_of_its_peers():
    young = Ceiling(3000.0, MIN_HISTORY_DAYS - 1)
    assert hold_reason(5000.0 * HOLD_FACTOR * 0.99, young, "t", peers=5000.0) is None
    reason = hold_reason(5000.0 * 10_000, young, "t", peers=5000.0)
    assert reason is not None and "新序列" in reason and "10,000×" in reason
    assert hold_reason(5e9, None, "t", peers=5000.0) is not None  # its very first value
    # the peers are the other series, stored or in the same batch, never the series itself
    assert peer_ceiling(1, [(1, 9e9), (2, 500.0)], {3: 700.0, 1: 9e9}) == 700.0
    assert peer_ceiling(1, [(2, 500.0)], {}) == 500.0
    assert peer_ceiling(1, [], {1: 5.0}) is None
    # with a history of its own, the series' own maximum decides, not its peers
    assert hold_reason(5000.0 * 300, Ceiling(5000.0 * 10, 30), "t", peers=5000.0) is None


def _codes(session: Session, n: int) -> list[str]:
    return list(session.execute(text("SELECT uscc FROM enterprise ORDER BY id LIMIT :n"), {"n": n}).scalars())


def _day(i: int) -> datetime:  # local midnight, i days before 27 Nov 2026 (Beijing)
    return datetime(2026, 11, 26, 16, tzinfo=UTC) - timedelta(days=i)


def _store(session: Session, rows: list[ParsedRow], hold: bool) -> service.StoreResult:
    return service.store_batch(session, source="coal_production", batch_id="b", rows=rows, rejected=[], now=NOW,
                               tz=TZ, hold_implausible=hold)


def test_a_scheduled_feed_holds_a_unit_slip_and_stores_the_rest_of_the_batch(db_session: Session):
    service.register_source(db_session, name="coal_production", family="coal", title_zh="煤", title_en="coal",
                            interval_s=600, expected_lag_s=86400)
    old, new = _codes(db_session, 2)
    history = [ParsedRow("coal.raw_output", "enterprise", old, _day(i), 0.4 + i / 100, "万吨") for i in range(1, 21)]
    history += [ParsedRow("coal.raw_output", "enterprise", new, _day(i), 0.3, "万吨") for i in range(1, 4)]
    assert _store(db_session, history, hold=False).inserted == 23

    today = [ParsedRow("coal.raw_output", "enterprise", old, _day(0), 4500.0, "万吨", raw={"v": "4500"}),  # t as 万吨
             ParsedRow("coal.raw_output", "enterprise", old, _day(-1), 0.0, "万吨"),  # shut down: stored
             ParsedRow("coal.raw_output", "enterprise", new, _day(0), 0.35, "万吨")]  # young, plausible: stored
    res = _store(db_session, today, hold=True)
    assert (res.inserted, res.rejected) == (2, 1)
    raw, reason = db_session.execute(text("SELECT raw_text, reason FROM ingest_quarantine")).one()
    assert "4500" in str(raw) and reason.startswith("疑似单位错误") and "held for review" in reason
    stored = db_session.execute(text("""SELECT count(*) FROM period_observation o JOIN series s ON s.id = o.series_id
        JOIN enterprise e ON e.id = s.entity_id WHERE e.uscc = :c AND o.time = :t"""),
                                {"c": old, "t": _day(0)}).scalar_one()
    assert stored == 0

    # A person who checked it resubmits it as is: stored, not held again.
    qid = db_session.execute(text("SELECT id FROM ingest_quarantine")).scalar_one()
    _, again = service.resubmit_quarantine(db_session, qid, row=today[0], by="duty", note="核实无误", now=NOW, tz=TZ)
    assert again.inserted == 1


def test_without_the_hold_a_file_import_stores_the_value_as_given(db_session: Session):
    (code,) = _codes(db_session, 1)
    history = [ParsedRow("coal.raw_output", "enterprise", code, _day(i), 0.5, "万吨") for i in range(1, 15)]
    _store(db_session, history, hold=False)
    res = _store(db_session, [ParsedRow("coal.raw_output", "enterprise", code, _day(0), 5000.0, "万吨")], hold=False)
    assert res.inserted == 1 and res.rejected == 0
    assert db_session.execute(text("SELECT max(value) FROM period_observation")).scalar_one() == pytest.approx(5e7)


def test_a_new_meter_with_a_wrong_unit_from_its_first_day_is_held_against_its_peers(db_session: Session):
    service.register_source(db_session, name="coal_production", family="coal", title_zh="煤", title_en="coal",
                            interval_s=600, expected_lag_s=86400)
    peer, new = _codes(db_session, 2)
    _store(db_session, [ParsedRow("coal.raw_output", "enterprise", peer, _day(i), 0.5, "万吨") for i in range(1, 11)],
           hold=False)
    first_days = [ParsedRow("coal.raw_output", "enterprise", new, _day(i), 3000.0, "万吨") for i in range(0, 2)]
    res = _store(db_session, first_days, hold=True)  # 3,000 万吨 a day: 6,000× the largest peer's 5,000 t
    assert (res.inserted, res.rejected) == (0, 2)
    reasons = db_session.execute(text("SELECT reason FROM ingest_quarantine")).scalars().all()
    assert all("新序列" in r and "6,000×" in r for r in reasons)
    # an indicator nobody has a history of yet: nothing to judge by, stored
    fresh = _store(db_session, [ParsedRow("coke.output", "enterprise", new, _day(0), 3000.0, "万吨")], hold=True)
    assert fresh.inserted == 1


def test_a_mixup_stored_before_does_not_become_the_yardstick(db_session: Session):
    (code,) = _codes(db_session, 1)
    clean = [ParsedRow("coal.raw_output", "enterprise", code, _day(i), 0.5, "万吨") for i in range(3, 23)]
    slipped = [ParsedRow("coal.raw_output", "enterprise", code, _day(i), 5000.0, "万吨") for i in (1, 2)]
    _store(db_session, clean + slipped, hold=False)  # two wrong days got in before anyone noticed
    res = _store(db_session, [ParsedRow("coal.raw_output", "enterprise", code, _day(0), 5000.0, "万吨")], hold=True)
    assert (res.inserted, res.rejected) == (0, 1)  # judged by the usual days, not by the two wrong ones


def test_a_system_started_from_nothing_judges_its_first_batch_by_the_batch(db_session: Session):
    codes = _codes(db_session, 4)
    first = [ParsedRow("coal.raw_output", "enterprise", c, _day(0), 0.4 + k / 10, "万吨") for k, c in enumerate(codes)]
    first[2] = first[2]._replace(value=4000.0)  # one meter sends tonnes as 万吨
    res = _store(db_session, first, hold=True)
    assert (res.inserted, res.rejected) == (3, 1)
