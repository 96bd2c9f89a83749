from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.observations import repository as repo
from backend.observations import service

TZ = "Asia/Shanghai"


def _series(session: Session, indicator: str = "power.consumption", entity: int = 1) -> int:
    return repo.ensure_series(session, [(indicator, "enterprise", entity)])[(indicator, "enterprise", entity)]


def _rows(sid: int, start: datetime, n: int, step: timedelta, value: float = 10.0) -> list[repo.ObservationRow]:
    return [repo.ObservationRow(sid, start + i * step, value + i, "test") for i in range(n)]


def test_a_repeated_delivery_stores_nothing_twice(db_session: Session):
    sid = _series(db_session)
    rows = _rows(sid, datetime(2025, 3, 1, tzinfo=UTC), 96, timedelta(minutes=15))
    first = repo.write_observations(db_session, rows, "observation", TZ)
    again = repo.write_observations(db_session, rows, "observation", TZ)
    assert (first.inserted, first.updated, first.unchanged) == (96, 0, 0)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 96)
    n = db_session.execute(text("SELECT count(*) FROM observation WHERE series_id = :s"), {"s": sid}).scalar()
    assert n == 96


def test_a_corrected_value_keeps_the_previous_one_as_a_revision(db_session: Session):
    sid = _series(db_session, "econ.value_added", 2)
    t = datetime(2024, 12, 31, 16, tzinfo=UTC)  # 2025-01-01 00:00 local: January
    repo.write_observations(db_session, [repo.ObservationRow(sid, t, 100.0, "stats")], "period_observation", TZ)
    res = repo.write_observations(db_session, [repo.ObservationRow(sid, t, 104.5, "stats-revised")],
                                  "period_observation", TZ)
    assert (res.inserted, res.updated) == (0, 1)
    assert repo.revisions(db_session, "period_observation", sid, t) == [(0, 100.0, "stats")]
    month = repo.monthly(db_session, [sid], date(2025, 1, 1), date(2025, 2, 1))
    assert [(m.month, m.sum) for m in month] == [(date(2025, 1, 1), 104.5)]


def test_duplicates_inside_one_batch_keep_the_last_value(db_session: Session):
    sid = _series(db_session)
    t = datetime(2025, 5, 5, 2, tzinfo=UTC)
    res = repo.write_observations(db_session, [repo.ObservationRow(sid, t, 1.0, "a"), repo.ObservationRow(sid, t, 2.0, "b")],
                                  "observation", TZ)
    assert (res.received, res.inserted, res.duplicates_in_batch) == (2, 1, 1)
    assert repo.raw(db_session, "observation", sid, t, t + timedelta(seconds=1)) == [(t, 2.0)]


def test_rollups_bucket_by_local_day_and_month_across_boundaries(db_session: Session):
    sid = _series(db_session, entity=3)
    # 2024-02-29 15:00Z .. 2024-02-29 17:45Z hourly-ish: local 23:00 on Feb 29 (leap day) to 01:45 on Mar 1.
    start = datetime(2024, 2, 29, 15, 0, tzinfo=UTC)
    rows = _rows(sid, start, 12, timedelta(minutes=15), value=1.0)  # values 1..12
    repo.write_observations(db_session, rows, "observation", TZ)
    days = {d.day: (d.sum, d.count, d.min, d.max, d.last) for d in repo.daily(db_session, [sid], date(2024, 2, 1),
                                                                              date(2024, 4, 1))}
    # local 23:00-23:45 on 29 Feb: values 1..4; 00:00-01:45 on 1 Mar: values 5..12
    assert days[date(2024, 2, 29)] == (10.0, 4, 1.0, 4.0, 4.0)
    assert days[date(2024, 3, 1)] == (sum(range(5, 13)), 8, 5.0, 12.0, 12.0)
    months = {m.month: (m.sum, m.count) for m in repo.monthly(db_session, [sid], date(2024, 1, 1), date(2025, 1, 1))}
    assert months == {date(2024, 2, 1): (10.0, 4), date(2024, 3, 1): (68.0, 8)}


def test_rollups_follow_a_correction_inside_a_bucket(db_session: Session):
    sid = _series(db_session, entity=4)
    rows = _rows(sid, datetime(2025, 6, 30, 16, tzinfo=UTC), 4, timedelta(hours=1), value=10.0)  # 1 July local
    repo.write_observations(db_session, rows, "observation", TZ)
    repo.write_observations(db_session, [repo.ObservationRow(sid, rows[1].time, 100.0, "fix")], "observation", TZ)
    (day,) = repo.daily(db_session, [sid], date(2025, 7, 1), date(2025, 7, 2))
    assert day.sum == 10 + 100 + 12 + 13
    (month,) = repo.monthly(db_session, [sid], date(2025, 7, 1), date(2025, 8, 1))
    assert month.sum == day.sum and month.max == 100.0


def test_observations_are_hypertables_and_retention_drops_whole_old_chunks(db_session: Session):
    assert repo.is_hypertable(db_session, "observation")
    assert repo.is_hypertable(db_session, "period_observation")
    sid = _series(db_session, entity=5)
    now = datetime(2026, 11, 27, tzinfo=UTC)
    old = _rows(sid, now - timedelta(days=60), 4, timedelta(days=1))
    recent = _rows(sid, now - timedelta(days=2), 4, timedelta(hours=6))
    repo.write_observations(db_session, old + recent, "observation", TZ)
    res = service.apply_retention(db_session, now, keep_days=30)
    assert res.method == "drop_chunks" and res.removed >= 1
    left = repo.raw(db_session, "observation", sid, now - timedelta(days=400), now)
    assert [t for t, _ in left] == [r.time for r in recent]
    # the daily rollups of the dropped days stay, so history views still work
    assert len(repo.daily(db_session, [sid], (now - timedelta(days=61)).date(), (now - timedelta(days=55)).date())) == 4


def test_a_batch_mixing_new_corrected_and_repeated_points_keeps_rollups_exact(db_session: Session):
    sid = _series(db_session, entity=6)
    t0 = datetime(2025, 8, 31, 15, 0, tzinfo=UTC)  # 23:00 local on 31 Aug; later points cross into September
    first = _rows(sid, t0, 4, timedelta(minutes=30), value=10.0)  # 10, 11, 12, 13
    repo.write_observations(db_session, first, "observation", TZ)
    batch = [first[0], repo.ObservationRow(sid, first[1].time, 50.0, "fix")] + _rows(
        sid, t0 + timedelta(hours=2), 3, timedelta(minutes=30), value=20.0)  # 20, 21, 22 (September)
    res = repo.write_observations(db_session, batch, "observation", TZ)
    assert (res.inserted, res.updated, res.unchanged) == (3, 1, 1)
    stored = repo.raw(db_session, "observation", sid, t0, t0 + timedelta(days=1))
    by_day: dict[date, list[float]] = {}
    for t, v in stored:
        by_day.setdefault((t + timedelta(hours=8)).date(), []).append(v)
    daily = {d.day: (d.sum, d.count, d.min, d.max, d.last) for d in
             repo.daily(db_session, [sid], date(2025, 8, 1), date(2025, 10, 1))}
    assert daily == {day: (sum(v), len(v), min(v), max(v), v[-1]) for day, v in by_day.items()}
    months = {m.month: m.sum for m in repo.monthly(db_session, [sid], date(2025, 8, 1), date(2025, 10, 1))}
    assert months == {date(2025, 8, 1): 10 + 50, date(2025, 9, 1): 12 + 13 + 20 + 21 + 22}
