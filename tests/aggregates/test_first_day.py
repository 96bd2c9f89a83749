"""The first day with data of each indicator (`indicator_first_day`, migration 0007) stays equal
to a recomputation from the daily rollups after every kind of write: the write path, an earlier
or later delivery, and hand-made deletes and key changes in SQL, series deleted with their
rollups, TRUNCATE. The API's incomplete-base rule reads it (`aggregates.repository.context`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.aggregates import repository as agg_repo
from backend.observations import repository as obs_repo
from backend.observations.repository import ObservationRow

TZ = "Asia/Shanghai"


def _recomputed(session: Session) -> dict[str, date]:
    return {code: day for code, day in session.execute(text(
        "SELECT s.indicator_code, min(d.day) FROM rollup_daily d JOIN series s ON s.id = d.series_id GROUP BY 1"))}


def _kept(session: Session) -> dict[str, date]:
    return {code: day for code, day in session.execute(text("SELECT indicator_code, first_day FROM indicator_first_day"))}


def _store(session: Session, indicator: str, entity_id: int, days: list[date]) -> int:
    sid = obs_repo.ensure_series(session, [(indicator, "enterprise", entity_id)])[(indicator, "enterprise", entity_id)]
    rows = [ObservationRow(sid, datetime.combine(d, time(4), UTC), 1.0, "t") for d in days]
    obs_repo.write_observations(session, rows, "observation", TZ)
    return sid


def test_the_first_day_follows_every_write(db_session: Session) -> None:
    s = db_session
    e1, e2 = (int(i) for i in s.execute(text("SELECT id FROM enterprise ORDER BY id LIMIT 2")).scalars())
    d0 = date(2026, 3, 10)
    s.execute(text("TRUNCATE rollup_daily, rollup_monthly, observation"))
    assert _kept(s) == {}

    def check() -> dict[str, date]:
        kept = _kept(s)
        assert kept == _recomputed(s)
        return kept

    a = _store(s, "power.consumption", e1, [d0, d0 + timedelta(days=1)])
    assert check() == {"power.consumption": d0}
    _store(s, "power.consumption", e2, [d0 - timedelta(days=5)])  # an earlier delivery
    assert check()["power.consumption"] == d0 - timedelta(days=5)
    _store(s, "power.consumption", e1, [d0 + timedelta(days=30)])  # a later one: unchanged
    b = _store(s, "gas.consumption", e1, [d0 + timedelta(days=2)])
    assert check() == {"power.consumption": d0 - timedelta(days=5), "gas.consumption": d0 + timedelta(days=2)}

    s.execute(text("DELETE FROM rollup_daily WHERE day = :d"), {"d": d0 - timedelta(days=5)})  # by hand
    assert check()["power.consumption"] == d0
    s.execute(text("UPDATE rollup_daily SET day = day - 100 WHERE series_id = :b"), {"b": b})  # a key, by hand
    assert check()["gas.consumption"] == d0 + timedelta(days=2 - 100)
    other = s.execute(text(  # an indicator e1 has no series of
        "SELECT code FROM indicator i WHERE NOT EXISTS (SELECT 1 FROM series s WHERE s.indicator_code = i.code "
        "AND s.entity_kind = 'enterprise' AND s.entity_id = :e) ORDER BY code LIMIT 1"), {"e": e1}).scalar_one()
    s.execute(text("UPDATE series SET indicator_code = :o WHERE id = :a"), {"o": other, "a": a})  # a move, by hand
    assert check() == {other: d0, "gas.consumption": d0 + timedelta(days=2 - 100)}  # e2's only day was deleted
    s.execute(text("DELETE FROM series WHERE id = :b"), {"b": b})  # its rollups go by cascade
    assert check() == {other: d0}
    s.execute(text("TRUNCATE rollup_daily CASCADE"))
    assert check() == {}


def test_the_api_context_reads_the_kept_day(db_session: Session) -> None:
    s = db_session
    e1 = int(s.execute(text("SELECT id FROM enterprise ORDER BY id LIMIT 1")).scalar_one())
    s.execute(text("TRUNCATE rollup_daily, rollup_monthly, observation"))
    ctx = agg_repo.context(s, "power.consumption")
    assert ctx is not None and ctx.first_day is None and ctx.first_month is None
    _store(s, "power.consumption", e1, [date(2026, 3, 10)])
    ctx = agg_repo.context(s, "power.consumption")
    assert ctx is not None and (ctx.first_day, ctx.first_month) == (date(2026, 3, 10), date(2026, 3, 1))
