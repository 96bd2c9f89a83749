"""SQL for series, observations, revisions and rollups.

The write path (`write_observations`) is the only way values enter the store:
COPY into a session-local staging table, keep the previous value of every corrected point
as a revision, upsert, then refresh exactly the daily and monthly rollup buckets the
changed points fall in — all in the caller's transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import numpy as np
import psycopg
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backend.observations import rollups
from backend.observations.models import RollupDaily, RollupMonthly
from backend.observations.rollups import PG_EPOCH

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
    latest_at: datetime | None = None  # the newest time in the batch

    @property
    def stored(self) -> int:
        return self.inserted + self.updated


def _driver(session: Session) -> psycopg.Connection[Any]:
    conn = session.connection().connection.driver_connection
    assert isinstance(conn, psycopg.Connection)
    return conn


def ensure_series(session: Session, keys: Iterable[tuple[str, str, int]]) -> dict[tuple[str, str, int], int]:
    """Series ids for (indicator_code, entity_kind, entity_id) keys, creating missing ones.
    One round trip when every series exists already (the common case)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    found = _lookup_series(session, wanted)
    missing = [w for w in wanted if w not in found]
    if missing:
        session.execute(text(
            "INSERT INTO series (indicator_code, entity_kind, entity_id) "
            "SELECT * FROM unnest(CAST(:i AS text[]), CAST(:k AS text[]), CAST(:e AS int[])) "
            "ON CONFLICT DO NOTHING"),
            {"i": [m[0] for m in missing], "k": [m[1] for m in missing], "e": [m[2] for m in missing]})
        found.update(_lookup_series(session, missing))
    return found


def _lookup_series(session: Session, keys: list[tuple[str, str, int]]) -> dict[tuple[str, str, int], int]:
    res = session.execute(
        text("SELECT s.indicator_code, s.entity_kind, s.entity_id, s.id FROM series s "
             "JOIN unnest(CAST(:i AS text[]), CAST(:k AS text[]), CAST(:e AS int[])) AS w(i, k, e) "
             "ON s.indicator_code = w.i AND s.entity_kind = w.k AND s.entity_id = w.e"),
        {"i": [w[0] for w in keys], "k": [w[1] for w in keys], "e": [w[2] for w in keys]})
    return {(i, k, e): sid for i, k, e, sid in res}


def series_of_indicators(session: Session, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str, int], int]:
    """Every existing series of the given (indicator_code, entity_kind) pairs, by key."""
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    res = session.execute(
        text("SELECT s.indicator_code, s.entity_kind, s.entity_id, s.id FROM series s "
             "JOIN unnest(CAST(:i AS text[]), CAST(:k AS text[])) AS w(i, k) "
             "ON s.indicator_code = w.i AND s.entity_kind = w.k"),
        {"i": [w[0] for w in wanted], "k": [w[1] for w in wanted]})
    return {(i, k, e): sid for i, k, e, sid in res}


def write_observations(session: Session, rows: Sequence[ObservationRow], table: Table, tz: str) -> WriteResult:
    """Idempotent upsert of `rows` into `table`, keeping revisions and refreshing rollups.

    New points take the cheap path (a plain INSERT, and rollups merged incrementally from
    the batch itself); only points that already exist are compared, revised and updated,
    and only their days are recomputed from the stored rows. A concurrent writer storing
    the same new points makes this transaction fail with a unique violation rather than
    lose or double anything; callers retry the batch.
    """
    if table not in TABLES:
        raise ValueError(f"unknown observation table {table!r}")
    if not rows:
        return WriteResult(0, 0, 0, 0, 0)
    prepare_stage(session)
    # Binary COPY: no text formatting of timestamps and floats on either side.
    with _driver(session).cursor() as cur, \
            cur.copy("COPY obs_stage (series_id, time, value, source, quality) FROM STDIN (FORMAT BINARY)") as cp:
        cp.set_types(["int4", "timestamptz", "float8", "text", "int2"])
        for r in rows:
            cp.write_row((r.series_id, r.time, r.value, r.source, r.quality))
    return write_staged(session, table, tz)


def prepare_stage(session: Session) -> None:
    """Create (once per connection) and empty the session-local staging tables of the write
    path. Callers that stage rows themselves fill `obs_stage` (or their own relation with
    the same columns) and then call `write_staged`."""
    with _driver(session).cursor() as cur:
        for ddl in _STAGING_DDL:
            cur.execute(ddl)
        cur.execute("TRUNCATE obs_stage, obs_existing, obs_days")


def write_staged(session: Session, table: Table, tz: str, stage: str = "obs_stage") -> WriteResult:
    """`write_observations` for rows already staged in the database: `stage` is a relation
    (a table name, or a parenthesised subquery: trusted SQL, never user input) with columns
    seq, series_id, time, value, source, quality; with several rows for one (series, time)
    the highest `seq` wins. `prepare_stage` must have run in this transaction."""
    if table not in TABLES:
        raise ValueError(f"unknown observation table {table!r}")
    conn = _driver(session)
    with conn.cursor() as cur:
        cur.execute(f"SELECT min(time), max(time), count(*) FROM {stage} s")
        stats = cur.fetchone()
        assert stats is not None
        tmin: datetime | None = stats[0]
        tmax: datetime | None = stats[1]
        n: int = stats[2]
        if n == 0:
            return WriteResult(0, 0, 0, 0, 0)
        cur.execute("TRUNCATE obs_existing, obs_days")
        # Literal time bounds let TimescaleDB exclude chunks at plan time.
        bounds: dict[str, object] = {"tmin": tmin, "tmax": tmax, "tz": tz, "t": table}
        src = stage
        existing = _find_existing(cur, src, table, bounds)
        distinct = n
        new_rows = src
        inserted = -1
        if existing == 0:
            # All new (the common case for fresh data): insert at once. A (series, time) twice in
            # the batch then violates the primary key; only then is the batch de-duplicated.
            cur.execute("SAVEPOINT obs_new_only")
            try:
                cur.execute(f"INSERT INTO {table} (series_id, time, value, source, quality) "
                            f"SELECT series_id, time, value, source, quality FROM {src} s")
                inserted = cur.rowcount
                cur.execute("RELEASE SAVEPOINT obs_new_only")
            except psycopg.errors.UniqueViolation:
                cur.execute("ROLLBACK TO SAVEPOINT obs_new_only")
        if inserted < 0:
            # A hash aggregate over two plain columns; count(DISTINCT (a, b)) would sort row values.
            cur.execute(f"SELECT count(*) FROM (SELECT 1 FROM {stage} s GROUP BY series_id, time) d")
            row = cur.fetchone()
            assert row is not None
            distinct = row[0]
            if distinct != n:  # the same (series, time) twice in one batch: the last delivered wins
                src = "obs_dedup"
                cur.execute("TRUNCATE obs_dedup, obs_existing")
                cur.execute(f"""
                    INSERT INTO obs_dedup SELECT DISTINCT ON (series_id, time) series_id, time, value, source, quality
                    FROM {stage} s ORDER BY series_id, time, seq DESC""")
                existing = _find_existing(cur, src, table, bounds)
            if existing == 0:
                cur.execute(f"INSERT INTO {table} (series_id, time, value, source, quality) "
                            f"SELECT series_id, time, value, source, quality FROM {src} s")
                new_rows = src
            else:
                cur.execute("CREATE TEMP TABLE IF NOT EXISTS obs_new (LIKE obs_dedup) ON COMMIT DELETE ROWS")
                cur.execute("TRUNCATE obs_new")
                cur.execute(f"""
                    INSERT INTO obs_new SELECT s.series_id, s.time, s.value, s.source, s.quality FROM {src} s
                    WHERE NOT EXISTS (SELECT 1 FROM obs_existing e
                                      WHERE e.series_id = s.series_id AND e.time = s.time)""")
                cur.execute(f"INSERT INTO {table} (series_id, time, value, source, quality) "
                            "SELECT series_id, time, value, source, quality FROM obs_new")
                new_rows = "obs_new"
            inserted = cur.rowcount
        updated = 0
        if existing:
            cur.execute("DELETE FROM obs_existing WHERE value IS NOT DISTINCT FROM old_value "
                        "AND quality IS NOT DISTINCT FROM old_quality")
            updated = existing - cur.rowcount
        if updated:
            cur.execute("""
                INSERT INTO observation_revision (table_name, series_id, time, revision, value, source)
                SELECT %(t)s, series_id, time, old_revision, old_value, old_source FROM obs_existing
                WHERE value IS DISTINCT FROM old_value""", bounds)
            cur.execute(f"""
                UPDATE {table} o SET value = e.value, source = e.source, quality = e.quality,
                    revision = CASE WHEN e.value IS DISTINCT FROM e.old_value THEN o.revision + 1 ELSE o.revision END,
                    ingested_at = now()
                FROM obs_existing e
                WHERE o.series_id = e.series_id AND o.time = e.time AND o.time >= %(tmin)s AND o.time <= %(tmax)s""",
                        bounds)
        if inserted:
            _merge_new_into_daily(cur, new_rows, bounds)
        if updated:
            cur.execute("INSERT INTO obs_days SELECT DISTINCT series_id, (time AT TIME ZONE %(tz)s)::date "
                        "FROM obs_existing ON CONFLICT DO NOTHING", bounds)
            _recompute_daily(cur, table, bounds)
        if inserted or updated:
            _recompute_monthly(cur, bounds)
    return WriteResult(received=n, inserted=inserted, updated=updated,
                       unchanged=existing - updated, duplicates_in_batch=n - distinct, latest_at=tmax)


class NewPointWriter:
    """Brand-new points into the observation tables, batch by batch, while the caller reads
    the next batch: each batch goes in with one binary COPY sent from a worker thread, so the
    server inserts one batch while the client prepares the next. `finish` then merges the daily
    buckets of all the batches from partial aggregates computed here
    (`rollups.daily_partials`) and recomputes their monthly buckets. The rows never pass
    through a staging table or back out of the hypertable.

    Points are arrays in delivery order: time as µs since 2000-01-01 UTC, day as the local day
    in days since 2000-01-01. The caller calls `wait` before it uses the session itself, and
    uses the writer as a context manager (which never leaves a COPY running).

    A point stored already, or sent twice, makes `wait` or `finish` raise
    psycopg.errors.UniqueViolation: the caller rolls back to its savepoint and takes the
    merging path (`write_staged`)."""

    def __init__(self, session: Session, source: str) -> None:
        prepare_stage(session)
        self._conn = _driver(session)
        self._source = source.encode()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="copy")
        self._pending: Future[None] | None = None
        self._sent: dict[Table, list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]] = {}

    def __enter__(self) -> NewPointWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._pending is not None and exc[0] is not None:
                with contextlib.suppress(Exception):  # the caller's exception is the one to report
                    self._pending.result()
            else:
                self.wait()
        finally:
            self._pending = None
            self._pool.shutdown(wait=True)

    def send(self, table: Table, series_id: np.ndarray, time_us: np.ndarray, value: np.ndarray, day: np.ndarray
             ) -> None:
        """Queue one batch for `table` (returns once the previous batch is in)."""
        if table not in TABLES:
            raise ValueError(f"unknown observation table {table!r}")
        if len(series_id) == 0:
            return
        src = self._source
        rec = np.empty(len(series_id), np.dtype([
            ("fields", ">i2"), ("l1", ">i4"), ("series_id", ">i4"), ("l2", ">i4"), ("time", ">i8"), ("l3", ">i4"),
            ("value", ">f8"), ("l4", ">i4"), ("source", f"S{len(src)}")]))
        rec["fields"], rec["l1"], rec["l2"], rec["l3"], rec["l4"] = 4, 4, 8, 8, len(src)
        rec["series_id"], rec["time"], rec["value"], rec["source"] = series_id, time_us, value, src
        payload = _BINARY_HEADER + rec.tobytes() + _BINARY_TRAILER
        self._sent.setdefault(table, []).append((series_id, time_us, value, day))
        self.wait()
        self._pending = self._pool.submit(self._copy, table, payload)

    def _copy(self, table: Table, payload: bytes) -> None:
        view = memoryview(payload)
        with self._conn.cursor() as cur, \
                cur.copy(f"COPY {table} (series_id, time, value, source) FROM STDIN (FORMAT BINARY)") as cp:
            for i in range(0, len(view), 1 << 20):
                cp.write(view[i:i + (1 << 20)])

    def wait(self) -> None:
        """Until the batch in flight is in (raises what its COPY raised)."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def finish(self) -> dict[Table, WriteResult]:
        """Merge the rollups of everything sent; per table: the points stored, the newest time."""
        parts = {}  # computed while the last batch is still going in
        for table, batches in self._sent.items():
            series_id, time_us, value, day = (np.concatenate([b[i] for b in batches]) for i in range(4))
            parts[table] = (rollups.daily_partials(series_id, day, time_us, value), len(series_id), int(time_us.max()))
        self.wait()
        out: dict[Table, WriteResult] = {}
        with self._conn.cursor() as cur:
            for table, (partials, n, newest) in parts.items():
                cur.execute(_PARTIALS_DDL)
                with cur.copy("COPY obs_partial (series_id, day, sum, count, min, max, last, last_at) "
                              "FROM STDIN (FORMAT BINARY)") as cp:
                    cp.set_types(["int4", "date", "float8", "int4", "float8", "float8", "float8", "timestamptz"])
                    for row in zip(partials.series_id.tolist(), partials.day.tolist(), partials.sum.tolist(),
                                   partials.count.tolist(), partials.min.tolist(), partials.max.tolist(),
                                   partials.last.tolist(), partials.last_at.tolist(), strict=True):
                        cp.write_row((row[0], _day(row[1]), *row[2:7], _instant(row[7])))
                _merge_new_into_daily(cur, "obs_partial", {}, partial=True)
                cur.execute("TRUNCATE obs_partial")
                out[table] = WriteResult(received=n, inserted=n, updated=0, unchanged=0, duplicates_in_batch=0,
                                         latest_at=_instant(newest))
            if out:
                _recompute_monthly(cur, {})
        self._sent = {}
        return out


_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8  # signature, flags, no header extension
_BINARY_TRAILER = b"\xff\xff"
_PARTIALS_DDL = """CREATE TEMP TABLE IF NOT EXISTS obs_partial (series_id int, day date, sum float8, count int,
    min float8, max float8, last float8, last_at timestamptz) ON COMMIT DELETE ROWS"""


def _instant(us: int) -> datetime:
    return PG_EPOCH + timedelta(microseconds=us)


def _day(days: int) -> date:
    return PG_EPOCH.date() + timedelta(days=days)


def _find_existing(cur: psycopg.Cursor[Any], src: str, table: str, bounds: dict[str, object]) -> int:
    """Copy the staged points that are already stored, with their stored values, into obs_existing."""
    cur.execute(f"""
        INSERT INTO obs_existing
        SELECT s.series_id, s.time, s.value, s.source, s.quality, o.value, o.source, o.quality, o.revision
        FROM {src} s JOIN {table} o ON o.series_id = s.series_id AND o.time = s.time
        WHERE o.time >= %(tmin)s AND o.time <= %(tmax)s""", bounds)
    return int(cur.rowcount)


_STAGING_DDL = (
    """CREATE TEMP TABLE IF NOT EXISTS obs_stage (seq serial, series_id int, time timestamptz, value float8,
        source text, quality smallint) ON COMMIT DELETE ROWS""",
    """CREATE TEMP TABLE IF NOT EXISTS obs_dedup (series_id int, time timestamptz, value float8, source text,
        quality smallint) ON COMMIT DELETE ROWS""",
    """CREATE TEMP TABLE IF NOT EXISTS obs_existing (series_id int, time timestamptz, value float8, source text,
        quality smallint, old_value float8, old_source text, old_quality smallint, old_revision smallint)
        ON COMMIT DELETE ROWS""",
    """CREATE TEMP TABLE IF NOT EXISTS obs_days (series_id int, day date, PRIMARY KEY (series_id, day))
        ON COMMIT DELETE ROWS""",
)


def _merge_new_into_daily(cur: psycopg.Cursor[Any], new_rows: str, bounds: dict[str, object],
                          partial: bool = False) -> None:
    """Add brand-new points to their daily buckets without rereading the bucket: sums and
    counts add, min/max combine, and `last` is the value at the latest time. The buckets
    touched are noted in obs_days (for the monthly rollups). With partial=True, `new_rows`
    holds the new points' buckets already aggregated (the columns of rollup_daily)."""
    buckets = f"SELECT series_id, day, sum, count, min, max, last, last_at FROM {new_rows}" if partial else f"""
            SELECT series_id, (time AT TIME ZONE %(tz)s)::date, sum(value), count(*), min(value), max(value),
                   (array_agg(value ORDER BY time DESC))[1], max(time)
            FROM {new_rows} n GROUP BY 1, 2"""
    cur.execute(f"""
        WITH d AS (
            INSERT INTO rollup_daily AS r (series_id, day, sum, count, min, max, last, last_at)
            {buckets}
            ON CONFLICT (series_id, day) DO UPDATE SET sum = r.sum + EXCLUDED.sum, count = r.count + EXCLUDED.count,
                min = least(r.min, EXCLUDED.min), max = greatest(r.max, EXCLUDED.max),
                last = CASE WHEN EXCLUDED.last_at >= r.last_at THEN EXCLUDED.last ELSE r.last END,
                last_at = greatest(r.last_at, EXCLUDED.last_at)
            RETURNING r.series_id, r.day)
        INSERT INTO obs_days SELECT series_id, day FROM d ON CONFLICT DO NOTHING""", bounds)


def _recompute_daily(cur: psycopg.Cursor[Any], table: str, bounds: dict[str, object]) -> None:
    """Recompute from the stored rows the daily buckets (local days) listed in obs_days."""
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


def _recompute_monthly(cur: psycopg.Cursor[Any], bounds: dict[str, object]) -> None:
    """Recompute, from the daily rollups, every (series, local month) of the days in obs_days."""
    cur.execute("""
        INSERT INTO rollup_monthly AS r (series_id, month, sum, count, min, max, last, last_at)
        SELECT d.series_id, m.month, sum(d.sum), sum(d.count), min(d.min), max(d.max),
               (array_agg(d.last ORDER BY d.last_at DESC))[1], max(d.last_at)
        FROM (SELECT DISTINCT series_id, date_trunc('month', day)::date AS month FROM obs_days) m
        JOIN rollup_daily d ON d.series_id = m.series_id AND d.day >= m.month
             AND d.day < (m.month + interval '1 month')::date
        GROUP BY d.series_id, m.month
        ON CONFLICT (series_id, month) DO UPDATE SET sum = EXCLUDED.sum, count = EXCLUDED.count, min = EXCLUDED.min,
            max = EXCLUDED.max, last = EXCLUDED.last, last_at = EXCLUDED.last_at""", bounds)


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


def series_ceilings(session: Session, series_ids: Sequence[int], since: date) -> dict[int, tuple[float, int, float]]:
    """Per series: its usual largest value (75th percentile of its daily maxima), the
    number of days with data and the median of the daily maxima, over the local days from
    `since` on (daily rollups)."""
    if not series_ids:
        return {}
    rows = session.execute(text("""SELECT series_id, percentile_cont(0.75) WITHIN GROUP (ORDER BY max), count(*),
            percentile_cont(0.5) WITHIN GROUP (ORDER BY max)
        FROM rollup_daily WHERE series_id = ANY(CAST(:ids AS int[])) AND day >= CAST(:since AS date)
        GROUP BY series_id"""), {"ids": sorted(set(series_ids)), "since": since})
    return {int(sid): (float(top), int(n), float(mid)) for sid, top, n, mid in rows}


def days_reaching(session: Session, limits: dict[int, float], since: date) -> list[tuple[int, date]]:
    """(series id, local day) from `since` on whose daily maximum reaches the series' limit."""
    if not limits:
        return []
    ids, lims = zip(*sorted(limits.items()), strict=True)
    rows = session.execute(text("""SELECT r.series_id, r.day FROM rollup_daily r
        JOIN unnest(CAST(:ids AS int[]), CAST(:lims AS float8[])) AS t(sid, lim) ON r.series_id = t.sid
        WHERE r.day >= CAST(:since AS date) AND r.max >= t.lim"""), {"ids": list(ids), "lims": list(lims), "since": since})
    return [(int(sid), day) for sid, day in rows]


def withdraw_at_or_above(session: Session, table: Table, days: Sequence[tuple[int, date]], limits: dict[int, float],
                         tz: str, source: str, keep: Sequence[tuple[int, datetime]] = ()
                         ) -> list[tuple[int, datetime, float]]:
    """Delete the points `source` stored on these (series, local day) at or above the
    series' limit (except the (series, time) in `keep`), and recompute the daily and
    monthly rollups of those days (a day left empty loses its rollup row). Returns the
    withdrawn (series id, time, value). `days` comes from `days_reaching`."""
    if table not in TABLES:
        raise ValueError(f"unknown observation table {table!r}")
    if not days:
        return []
    prepare_stage(session)
    # Literal bounds let TimescaleDB exclude chunks at plan time (and bound _recompute_daily).
    lo, hi = min(d for _, d in days), max(d for _, d in days)
    bounds: dict[str, object] = {
        "tz": tz, "source": source, "dsid": [sid for sid, _ in days], "dday": [d for _, d in days],
        "lim": [limits[sid] for sid, _ in days], "ksid": [k[0] for k in keep], "ktime": [k[1] for k in keep],
        "tmin": datetime.combine(lo - timedelta(days=1), datetime.min.time(), UTC),
        "tmax": datetime.combine(hi + timedelta(days=2), datetime.min.time(), UTC),
    }
    with _driver(session).cursor() as cur:
        cur.execute("""INSERT INTO obs_days SELECT * FROM unnest(%(dsid)s::int[], %(dday)s::date[])
            ON CONFLICT DO NOTHING""", bounds)
        cur.execute(f"""DELETE FROM {table} o
            USING unnest(%(dsid)s::int[], %(dday)s::date[], %(lim)s::float8[]) AS c(sid, day, lim)
            WHERE o.series_id = c.sid AND o.value >= c.lim AND o.source = %(source)s
              AND o.time >= %(tmin)s AND o.time < %(tmax)s
              AND o.time >= (c.day::timestamp AT TIME ZONE %(tz)s)
              AND o.time < ((c.day + 1)::timestamp AT TIME ZONE %(tz)s)
              AND NOT EXISTS (SELECT 1 FROM unnest(%(ksid)s::int[], %(ktime)s::timestamptz[]) AS k(sid, t)
                              WHERE k.sid = o.series_id AND k.t = o.time)
            RETURNING o.series_id, o.time, o.value""", bounds)
        gone = cur.fetchall()
        # The recomputes upsert what is left; a day or month left empty must go first.
        cur.execute("DELETE FROM rollup_daily r USING obs_days d WHERE r.series_id = d.series_id AND r.day = d.day")
        cur.execute("""DELETE FROM rollup_monthly r
            USING (SELECT DISTINCT series_id, date_trunc('month', day)::date AS month FROM obs_days) m
            WHERE r.series_id = m.series_id AND r.month = m.month""")
        _recompute_daily(cur, table, bounds)
        _recompute_monthly(cur, bounds)
    return [(int(sid), t, float(v)) for sid, t, v in gone]


def indicator_ceilings(session: Session, indicators: Sequence[str], since: date) -> dict[str, list[tuple[int, float]]]:
    """Per indicator: its two series with the largest usual value (75th percentile of their
    daily maxima from `since` on), as (series id, value), largest first."""
    rows = session.execute(text("""SELECT indicator_code, sid, top FROM (
            SELECT indicator_code, sid, top, row_number() OVER (PARTITION BY indicator_code ORDER BY top DESC) AS k
            FROM (SELECT s.indicator_code, s.id AS sid, percentile_cont(0.75) WITHIN GROUP (ORDER BY r.max) AS top
                  FROM series s JOIN rollup_daily r ON r.series_id = s.id
                  WHERE s.indicator_code = ANY(CAST(:inds AS text[])) AND r.day >= CAST(:since AS date)
                  GROUP BY s.indicator_code, s.id) per_series) ranked
        WHERE k <= 2 ORDER BY indicator_code, k"""), {"inds": list(indicators), "since": since})
    out: dict[str, list[tuple[int, float]]] = {}
    for code, sid, top in rows:
        out.setdefault(str(code), []).append((int(sid), float(top)))
    return out


def mark_all_data_changed(session: Session) -> None:
    """Bump the data version of everything (`data_version` scope `*`, migration 0006), for a
    change the rollup triggers do not see."""
    session.execute(text("SELECT data_version_bump('*')"))


def delete_raw_before(session: Session, cutoff: datetime) -> int:
    """Plain-PostgreSQL fallback for retention: delete rows instead of dropping chunks."""
    return session.execute(text("DELETE FROM observation WHERE time < :c"), {"c": cutoff}).rowcount  # type: ignore[attr-defined]
