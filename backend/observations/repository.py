"""SQL for series, observations, revisions and rollups.

The write path (`write_observations`) is the only way values enter the store:
COPY into a session-local staging table, keep the previous value of every corrected point
as a revision, upsert, then refresh exactly the daily and monthly rollup buckets the
changed points fall in — all in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import psycopg
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from backend.observations.models import RollupDaily, RollupMonthly, Series

Table = Literal["observation", "period_observation"]
TABLES: tuple[Table, ...] = ("observation", "period_observation")


@dataclass(frozen=True, slots=True)
class ObservationRow:
    series_id: int
    time: datetime  # timezone-aware
    value: float
    source: str
    quality: int = 0


@dataclass(frozen=True)
class WriteResult:
    received: int
    inserted: int
    updated: int  # corrected values: the previous one is kept as a revision
    unchanged: int  # identical re-deliveries
    duplicates_in_batch: int  # same (series, time) twice in one batch: the last one wins

    @property
    def stored(self) -> int:
        return self.inserted + self.updated


def _driver(session: Session) -> psycopg.Connection[Any]:
    conn = session.connection().connection.driver_connection
    assert isinstance(conn, psycopg.Connection)
    return conn


def ensure_series(session: Session, keys: Iterable[tuple[str, str, int]]) -> dict[tuple[str, str, int], int]:
    """Series ids for (indicator_code, entity_kind, entity_id) keys, creating missing ones."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = [{"indicator_code": i, "entity_kind": k, "entity_id": e} for i, k, e in wanted]
    for start in range(0, len(rows), 5000):
        session.execute(insert(Series).values(rows[start:start + 5000]).on_conflict_do_nothing())
    found = session.execute(
        text("SELECT s.indicator_code, s.entity_kind, s.entity_id, s.id FROM series s "
             "JOIN unnest(CAST(:i AS text[]), CAST(:k AS text[]), CAST(:e AS int[])) AS w(i, k, e) "
             "ON s.indicator_code = w.i AND s.entity_kind = w.k AND s.entity_id = w.e"),
        {"i": [w[0] for w in wanted], "k": [w[1] for w in wanted], "e": [w[2] for w in wanted]})
    return {(i, k, e): sid for i, k, e, sid in found}


def write_observations(session: Session, rows: Sequence[ObservationRow], table: Table, tz: str) -> WriteResult:
    """Idempotent upsert of `rows` into `table`, keeping revisions and refreshing rollups."""
    if table not in TABLES:
        raise ValueError(f"unknown observation table {table!r}")
    if not rows:
        return WriteResult(0, 0, 0, 0, 0)
    conn = _driver(session)
    with conn.cursor() as cur:
        cur.execute("""
            CREATE TEMP TABLE IF NOT EXISTS obs_stage (
                seq serial, series_id int, time timestamptz, value float8, source text, quality smallint
            ) ON COMMIT DELETE ROWS""")
        cur.execute("""
            CREATE TEMP TABLE IF NOT EXISTS obs_days (series_id int, day date, PRIMARY KEY (series_id, day))
            ON COMMIT DELETE ROWS""")
        cur.execute("TRUNCATE obs_stage, obs_days")
        # Binary COPY: no text formatting of timestamps and floats on either side.
        with cur.copy("COPY obs_stage (series_id, time, value, source, quality) FROM STDIN (FORMAT BINARY)") as cp:
            cp.set_types(["int4", "timestamptz", "float8", "text", "int2"])
            for r in rows:
                cp.write_row((r.series_id, r.time, r.value, r.source, r.quality))
        cur.execute("SELECT min(time), max(time), count(*), count(DISTINCT (series_id, time)) FROM obs_stage")
        stats = cur.fetchone()
        assert stats is not None
        tmin: datetime = stats[0]
        tmax: datetime = stats[1]
        n: int = stats[2]
        distinct: int = stats[3]
        # Literal time bounds let TimescaleDB exclude chunks at plan time.
        bounds = {"tmin": tmin, "tmax": tmax, "tz": tz}
        src = "obs_stage"
        if distinct != n:  # same (series, time) twice in the batch: the last delivered wins
            src = "obs_dedup"
            cur.execute("""
                CREATE TEMP TABLE IF NOT EXISTS obs_dedup (series_id int, time timestamptz, value float8,
                    source text, quality smallint) ON COMMIT DELETE ROWS""")
            cur.execute("TRUNCATE obs_dedup")
            cur.execute("""
                INSERT INTO obs_dedup SELECT DISTINCT ON (series_id, time) series_id, time, value, source, quality
                FROM obs_stage ORDER BY series_id, time, seq DESC""")
        cur.execute(f"""
            INSERT INTO observation_revision (table_name, series_id, time, revision, value, source)
            SELECT %(t)s, o.series_id, o.time, o.revision, o.value, o.source
            FROM {table} o JOIN {src} s ON o.series_id = s.series_id AND o.time = s.time
            WHERE o.time >= %(tmin)s AND o.time <= %(tmax)s AND o.value IS DISTINCT FROM s.value""",
                    {**bounds, "t": table})
        updated = cur.rowcount
        cur.execute(f"""
            WITH up AS (
                INSERT INTO {table} AS o (series_id, time, value, source, quality)
                SELECT series_id, time, value, source, quality FROM {src}
                ON CONFLICT (series_id, time) DO UPDATE
                    SET value = EXCLUDED.value, source = EXCLUDED.source, quality = EXCLUDED.quality,
                        revision = o.revision + 1, ingested_at = now()
                    WHERE o.value IS DISTINCT FROM EXCLUDED.value OR o.quality IS DISTINCT FROM EXCLUDED.quality
                RETURNING o.series_id, o.time)
            , days AS (  -- the local days the changed points fall in: exactly the rollup buckets to refresh
                INSERT INTO obs_days SELECT DISTINCT series_id, (time AT TIME ZONE %(tz)s)::date FROM up
                ON CONFLICT DO NOTHING)
            SELECT count(*) FROM up""", bounds)
        counted = cur.fetchone()
        changed = int(counted[0]) if counted else 0
        if changed:
            _refresh_rollups(cur, table, bounds)
    inserted = max(changed - updated, 0)
    return WriteResult(received=n, inserted=inserted, updated=updated,
                       unchanged=distinct - changed, duplicates_in_batch=n - distinct)


def _refresh_rollups(cur: psycopg.Cursor[Any], table: str, bounds: dict[str, object]) -> None:
    """Recompute the daily buckets (local days) listed in obs_days, then their months."""
    cur.execute(f"""
        INSERT INTO rollup_daily AS r (series_id, day, sum, count, min, max, last, last_at)
        SELECT o.series_id, d.day, sum(o.value), count(*), min(o.value), max(o.value),
               (array_agg(o.value ORDER BY o.time DESC))[1], max(o.time)
        FROM obs_days d
        JOIN {table} o ON o.series_id = d.series_id
             AND o.time >= (d.day::timestamp AT TIME ZONE %(tz)s)
             AND o.time < ((d.day + 1)::timestamp AT TIME ZONE %(tz)s)
        WHERE o.time >= %(tmin)s::timestamptz - interval '1 day' AND o.time <= %(tmax)s::timestamptz + interval '1 day'
        GROUP BY o.series_id, d.day
        ON CONFLICT (series_id, day) DO UPDATE SET sum = EXCLUDED.sum, count = EXCLUDED.count, min = EXCLUDED.min,
            max = EXCLUDED.max, last = EXCLUDED.last, last_at = EXCLUDED.last_at""", bounds)
    cur.execute("""
        INSERT INTO rollup_monthly AS r (series_id, month, sum, count, min, max, last, last_at)
        SELECT d.series_id, m.month, sum(d.sum), sum(d.count), min(d.min), max(d.max),
               (array_agg(d.last ORDER BY d.last_at DESC))[1], max(d.last_at)
        FROM (SELECT DISTINCT series_id, date_trunc('month', day)::date AS month FROM obs_days) m
        JOIN rollup_daily d ON d.series_id = m.series_id AND d.day >= m.month
             AND d.day < (m.month + interval '1 month')::date
        GROUP BY d.series_id, m.month
        ON CONFLICT (series_id, month) DO UPDATE SET sum = EXCLUDED.sum, count = EXCLUDED.count, min = EXCLUDED.min,
            max = EXCLUDED.max, last = EXCLUDED.last, last_at = EXCLUDED.last_at""")


def daily(session: Session, series_ids: Sequence[int], start: date, end: date) -> list[RollupDaily]:
    """Daily rollups for local days in [start, end)."""
    return list(session.scalars(select(RollupDaily).where(
        RollupDaily.series_id.in_(series_ids), RollupDaily.day >= start, RollupDaily.day < end)
        .order_by(RollupDaily.series_id, RollupDaily.day)))


def monthly(session: Session, series_ids: Sequence[int], start: date, end: date) -> list[RollupMonthly]:
    """Monthly rollups for months whose first day is in [start, end)."""
    return list(session.scalars(select(RollupMonthly).where(
        RollupMonthly.series_id.in_(series_ids), RollupMonthly.month >= start, RollupMonthly.month < end)
        .order_by(RollupMonthly.series_id, RollupMonthly.month)))


def raw(session: Session, table: Table, series_id: int, start: datetime, end: datetime) -> list[tuple[datetime, float]]:
    res = session.execute(text(f"SELECT time, value FROM {table} WHERE series_id = :s AND time >= :a AND time < :b "
                               "ORDER BY time"), {"s": series_id, "a": start, "b": end})
    return [(t, v) for t, v in res]


def revisions(session: Session, table: Table, series_id: int, time: datetime) -> list[tuple[int, float, str]]:
    res = session.execute(text("SELECT revision, value, source FROM observation_revision WHERE table_name = :t "
                               "AND series_id = :s AND time = :time ORDER BY revision"),
                          {"t": table, "s": series_id, "time": time})
    return [(r, v, s) for r, v, s in res]


def timescaledb_version(session: Session) -> str | None:
    return session.execute(text("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")).scalar()


def is_hypertable(session: Session, table: str) -> bool:
    if timescaledb_version(session) is None:
        return False
    return bool(session.execute(text("SELECT 1 FROM timescaledb_information.hypertables "
                                     "WHERE hypertable_name = :t"), {"t": table}).scalar())


def drop_raw_chunks(session: Session, cutoff: datetime) -> int:
    """Drop raw observation chunks entirely older than `cutoff`; returns how many."""
    res = session.execute(text("SELECT drop_chunks('observation', older_than => CAST(:c AS timestamptz))"),
                          {"c": cutoff})
    return len(res.all())


def delete_raw_before(session: Session, cutoff: datetime) -> int:
    """Plain-PostgreSQL fallback for retention: delete rows instead of dropping chunks."""
    return session.execute(text("DELETE FROM observation WHERE time < :c"), {"c": cutoff}).rowcount  # type: ignore[attr-defined]
