"""The store-time hold for suspected unit mix-ups: pure rule, and the store on the real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.ingestion import service
from backend.ingestion.batch import ParsedRow
from backend.ingestion.plausibility import (
    HOLD_FACTOR,
    MIN_HISTORY_DAYS,
    MIN_OWN_DAYS,
    Ceiling,
    hold_reason,
    judge,
    peer_ceiling,
    peer_ceilings,
)

NOW = datetime(2026, 11, 27, 8, tzinfo=UTC)
TZ = "Asia/Shanghai"


def test_only_a_value_far_above_a_known_history_is_held():
    c = Ceiling(largest=5000.0, days=30)
    assert judge(5000.0 * HOLD_FACTOR * 0.99, c) is None
    hold = judge(5000.0 * 1000, c)
    assert hold is not None and (round(hold.ratio), hold.yardstick, hold.basis) == (1000, 5000.0, "own")
    assert judge(0.0, c) is None  # a shutdown is what the detector must see
    assert judge(5e9, Ceiling(5000.0, MIN_OWN_DAYS - 1)) is None  # no usual yet, no peers
    assert judge(5e9, Ceiling(0.0, 60), peers=5000.0) is None  # its own zeros: no scale to judge
    assert judge(5e9, None) is None


def test_the_reason_names_the_value_but_not_the_moving_yardstick():
    reason = hold_reason(5e6, "t")
    assert reason.startswith("疑似单位错误，暂存待核：5e+06 t") and "held for review" in reason and "200" in reason
    assert hold_reason(5e6, "t") == reason  # a re-delivery finds the same quarantine row


def test_a_series_without_a_history_is_judged_against_the_largest_of_its_peers():
    young = Ceiling(3000.0, MIN_OWN_DAYS - 1)
    assert judge(5000.0 * HOLD_FACTOR * 0.99, young, peers=5000.0) is None
    hold = judge(5000.0 * 10_000, young, peers=5000.0)
    assert hold is not None and (round(hold.ratio), hold.basis) == (10_000, "peers")
    assert judge(5e9, None, peers=5000.0) is not None  # its very first value
    # the peers are the other series, stored or in the same batch, never the series itself
    assert peer_ceiling(1, [(1, 9e9), (2, 500.0)], {3: 700.0, 1: 9e9}) == 700.0
    assert peer_ceiling(1, [(2, 500.0)], {}) == 500.0
    assert peer_ceiling(1, [], {1: 5.0}) is None
    # with a history of its own, the series' own usual maximum decides, not its peers
    assert judge(5000.0 * 300, Ceiling(5000.0 * 10, 30), peers=5000.0) is None


def test_a_young_series_is_held_against_its_own_few_days_too():
    # A small enterprise's kWh sent as Wh on its sixth day: 1,000x its own days, but under
    # 200x the largest plant of its kind.
    few = Ceiling(410.0, MIN_HISTORY_DAYS - 1)
    hold = judge(410.0 * 1000, few, peers=14_000.0)
    assert hold is not None and (round(hold.ratio), hold.basis) == (1000, "own")
    assert judge(410.0 * HOLD_FACTOR * 0.99, few, peers=14_000.0) is None
    # too few days of its own: the peers alone judge
    assert judge(410.0 * 1000, Ceiling(410.0, MIN_OWN_DAYS - 1), peers=14_000.0) is None
    # a meter wrong from its first day: its own days are as wrong, the peers still hold it
    assert judge(4.1e5, Ceiling(4.1e5, MIN_OWN_DAYS + 1), peers=500.0) is not None


def test_a_young_series_slipping_under_its_peers_ceiling_is_held(db_session: Session):
    _register_feed(db_session)
    big, small = _codes(db_session, 2)
    _store(db_session, _mine(big, 50.0, range(1, 30)), hold=False)
    _store(db_session, _mine(small, 0.02, range(1, 6)), hold=True)  # five ordinary days of a small mine (200 t a day)
    slip = ParsedRow("coal.raw_output", "enterprise", small, _day(0), 200.0, "万吨")  # tonnes sent as 万吨
    res = _store(db_session, [slip], hold=True)  # 10,000x its own days, 4x the largest mine
    assert (res.inserted, res.rejected) == (0, 1)


def _codes(session: Session, n: int) -> list[str]:
    return list(session.execute(text("SELECT uscc FROM enterprise ORDER BY id LIMIT :n"), {"n": n}).scalars())


def _day(i: int) -> datetime:  # local midnight, i days before 27 Nov 2026 (Beijing)
    return datetime(2026, 11, 26, 16, tzinfo=UTC) - timedelta(days=i)


def _register_feed(session: Session) -> None:
    service.register_source(session, name="coal_production", family="coal", title_zh="煤", title_en="coal",
                            interval_s=600, expected_lag_s=86400)


def _mine(code: str, value: float, days: range) -> list[ParsedRow]:
    """A mine's daily output (万吨) on each of these days before 27 Nov 2026."""
    return [ParsedRow("coal.raw_output", "enterprise", code, _day(i), value, "万吨") for i in days]


def _store(session: Session, rows: list[ParsedRow], hold: bool) -> service.StoreResult:
    return service.store_batch(session, source="coal_production", batch_id="b", rows=rows, rejected=[], now=NOW,
                               tz=TZ, hold_implausible=hold)


def test_a_scheduled_feed_holds_a_unit_slip_and_stores_the_rest_of_the_batch(db_session: Session):
    _register_feed(db_session)
    old, new = _codes(db_session, 2)
    history = [ParsedRow("coal.raw_output", "enterprise", old, _day(i), 0.4 + i / 100, "万吨") for i in range(1, 21)]
    history += _mine(new, 0.3, range(1, 4))
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
    history = _mine(code, 0.5, range(1, 15))
    _store(db_session, history, hold=False)
    res = _store(db_session, [ParsedRow("coal.raw_output", "enterprise", code, _day(0), 5000.0, "万吨")], hold=False)
    assert res.inserted == 1 and res.rejected == 0
    assert db_session.execute(text("SELECT max(value) FROM period_observation")).scalar_one() == pytest.approx(5e7)


def test_a_new_meter_with_a_wrong_unit_from_its_first_day_is_held_against_its_peers(db_session: Session):
    _register_feed(db_session)
    peer, new = _codes(db_session, 2)
    _store(db_session, _mine(peer, 0.5, range(1, 11)), hold=False)
    first_days = _mine(new, 3000.0, range(0, 2))
    res = _store(db_session, first_days, hold=True)  # 3,000 万吨 a day: 6,000× the largest peer's 5,000 t
    assert (res.inserted, res.rejected) == (0, 2)
    reasons = db_session.execute(text("SELECT reason FROM ingest_quarantine")).scalars().all()
    assert len(reasons) == 2 and all(r.startswith("疑似单位错误") for r in reasons)
    again = _store(db_session, first_days, hold=True)  # delivered again: held again, no new quarantine row
    assert again.rejected == 2 and again.quarantined_new == 0
    # an indicator nobody has a history of yet: nothing to judge by, stored
    fresh = _store(db_session, [ParsedRow("coke.output", "enterprise", new, _day(0), 3000.0, "万吨")], hold=True)
    assert fresh.inserted == 1


def test_a_mixup_stored_before_does_not_become_the_yardstick(db_session: Session):
    (code,) = _codes(db_session, 1)
    clean = _mine(code, 0.5, range(3, 23))
    slipped = [ParsedRow("coal.raw_output", "enterprise", code, _day(i), 5000.0, "万吨") for i in (1, 2)]
    _store(db_session, clean + slipped, hold=False)  # two wrong days got in before anyone noticed
    res = _store(db_session, [ParsedRow("coal.raw_output", "enterprise", code, _day(0), 5000.0, "万吨")], hold=True)
    # judged by the usual days, not by the two wrong ones, which the feed's next delivery
    # also takes out of the store (withdrawn into the quarantine)
    assert (res.inserted, res.rejected) == (0, 3)
    assert db_session.execute(text("SELECT max(value) FROM period_observation")).scalar_one() == pytest.approx(5000.0)


def test_a_system_started_from_nothing_judges_its_first_batch_by_the_batch(db_session: Session):
    codes = _codes(db_session, 4)
    first = [ParsedRow("coal.raw_output", "enterprise", c, _day(0), 0.4 + k / 10, "万吨") for k, c in enumerate(codes)]
    first[2] = first[2]._replace(value=4000.0)  # one meter sends tonnes as 万吨
    res = _store(db_session, first, hold=True)
    assert (res.inserted, res.rejected) == (3, 1)


def test_a_missing_report_alert_says_the_series_values_are_held(db_session: Session):
    from backend.alerts import service as alerts_service
    from backend.alerts.models import Alert

    service.register_source(db_session, name="power_metering", family="power", title_zh="电", title_en="power",
                            interval_s=60, expected_lag_s=3600)
    code, other = _codes(db_session, 2)
    start = datetime(2026, 11, 15, 16, tzinfo=UTC)
    history = [ParsedRow("power.consumption", "enterprise", c, start + timedelta(minutes=15 * k), 100.0 + k % 7,
                         "kWh") for k in range(11 * 96) for c in (code, other)]
    service.store_batch(db_session, source="power_metering", batch_id="h", rows=history, rejected=[], now=NOW, tz=TZ)
    last = start + timedelta(minutes=15 * (11 * 96 - 1))
    alerts_service.evaluate(db_session, last + timedelta(minutes=5))  # the series are watched from here on
    slipped = [ParsedRow("power.consumption", "enterprise", code, last + timedelta(minutes=15 * k), 100_000.0, "kWh")
               for k in range(1, 9)]  # Wh sent as kWh for two hours
    res = service.store_batch(db_session, source="power_metering", batch_id="s", rows=slipped, rejected=[], now=NOW,
                              tz=TZ, hold_implausible=True)
    assert (res.inserted, res.rejected) == (0, 8)
    opened = alerts_service.check_missing(db_session, last + timedelta(hours=3))
    alerts = [db_session.get(Alert, i) for i in opened]
    mine = [a for a in alerts if a is not None and "另有 8 条数据因疑似单位错误暂存待核" in a.explanation_zh]
    assert len(mine) == 1 and "8 values arrived and are held in quarantine" in mine[0].explanation_en


def test_peer_ceilings_of_a_whole_batch_equal_one_by_one() -> None:
    stored = [(1, 9e9), (2, 500.0)]
    batch = {1: 9e9, 3: 700.0, 4: 700.0, 5: 10.0, 2: 600.0}
    assert peer_ceilings(stored, batch) == {sid: peer_ceiling(sid, stored, batch) for sid in batch}
    assert peer_ceilings([], {7: 1.0}) == {7: None}


def test_a_slip_stored_before_the_series_had_days_of_its_own_is_withdrawn_once_it_has(db_session: Session):
    # A backfill that starts with the newest day: the small mine's first stored day is a slip
    # (tonnes as 万吨) that stayed under 200x the largest mine, so it was stored. Once the
    # series has days of its own, the next delivery takes it out, into the quarantine.
    _register_feed(db_session)
    big, small = _codes(db_session, 2)
    _store(db_session, _mine(big, 50.0, range(1, 30)), hold=False)

    def stored(day: int) -> list[float]:
        return list(db_session.execute(text("""SELECT o.value FROM period_observation o JOIN series s ON s.id = o.series_id
            JOIN enterprise e ON e.id = s.entity_id WHERE e.uscc = :c AND o.time = :t"""),
                                       {"c": small, "t": _day(day)}).scalars())

    def month_sum() -> float:
        return float(db_session.execute(text("""SELECT sum(r.sum) FROM rollup_monthly r JOIN series s ON s.id = r.series_id
            JOIN enterprise e ON e.id = s.entity_id WHERE e.uscc = :c"""), {"c": small}).scalar_one())

    slip = ParsedRow("coal.raw_output", "enterprise", small, _day(1), 200.0, "万吨")
    assert _store(db_session, [slip], hold=True).inserted == 1  # no days of its own, 4x its peers: stored
    older = _mine(small, 0.02, range(2, 5))
    assert _store(db_session, older, hold=True).inserted == 3  # judged by one (wrong) day: nothing to do yet
    assert stored(1) == [pytest.approx(2e6)]

    res = _store(db_session, [ParsedRow("coal.raw_output", "enterprise", small, _day(0), 0.021, "万吨")], hold=True)
    assert (res.inserted, res.rejected) == (1, 1)  # today's figure stored, the slip withdrawn
    assert stored(1) == []
    assert db_session.execute(text("""SELECT count(*) FROM rollup_daily r JOIN series s ON s.id = r.series_id
        JOIN enterprise e ON e.id = s.entity_id WHERE e.uscc = :c AND r.day = :d"""),
                              {"c": small, "d": _day(1).astimezone(ZoneInfo(TZ)).date()}).scalar_one() == 0
    assert month_sum() == pytest.approx(3 * 200.0 + 210.0)  # tonnes: 3 x 0.02 + 0.021 万吨
    qid, raw, reason = db_session.execute(text(
        "SELECT id, raw_json, reason FROM ingest_quarantine WHERE raw_json ? 'withdrawn'")).one()
    assert raw["entity_code"] == small and raw["value"] == pytest.approx(2e6) and reason.startswith("疑似单位错误")

    # Delivered again, it is held again: two quarantine rows, one value held.
    assert _store(db_session, [slip], hold=True).rejected == 1
    sid = db_session.execute(text("""SELECT s.id FROM series s JOIN enterprise e ON e.id = s.entity_id
        WHERE e.uscc = :c AND s.indicator_code = 'coal.raw_output'"""), {"c": small}).scalar_one()
    assert service.held_counts(db_session, [sid]) == {sid: 1}
    # What another path stored (a file import, as given) is not the feed's to withdraw.
    service.store_batch(db_session, source="file_import", batch_id="f", rows=[slip._replace(time=_day(7))],
                        rejected=[], now=NOW, tz=TZ)
    # A person checks it and resubmits it as is: stored again, and never withdrawn again.
    _, again = service.resubmit_quarantine(db_session, qid, row=slip, by="duty", note="核实无误", now=NOW, tz=TZ)
    assert again.inserted == 1
    _store(db_session, [ParsedRow("coal.raw_output", "enterprise", small, _day(0), 0.022, "万吨")], hold=True)
    assert stored(1) == [pytest.approx(2e6)] and stored(7) == [pytest.approx(2e6)]
