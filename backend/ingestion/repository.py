"""SQL for ingest state, leases, job runs and the quarantine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from backend.ingestion.models import IngestJobRun, IngestLease, IngestSource, QuarantineRow


# --- sources -------------------------------------------------------------------------------
def upsert_source(session: Session, *, name: str, family: str, title_zh: str, title_en: str, interval_s: int,
                  expected_lag_s: int) -> None:
    stmt = insert(IngestSource).values(name=name, family=family, title_zh=title_zh, title_en=title_en,
                                       interval_s=interval_s, expected_lag_s=expected_lag_s)
    session.execute(stmt.on_conflict_do_update(index_elements=[IngestSource.name], set_={
        c: stmt.excluded[c] for c in ("family", "title_zh", "title_en", "interval_s", "expected_lag_s")}))


def get_source(session: Session, name: str, *, for_update: bool = False) -> IngestSource | None:
    q = select(IngestSource).where(IngestSource.name == name)
    if for_update:
        q = q.with_for_update()
    return session.scalar(q)


def list_sources(session: Session) -> list[IngestSource]:
    return list(session.scalars(select(IngestSource).order_by(IngestSource.family, IngestSource.name)))


def record_success(session: Session, name: str, *, now: datetime, watermark: datetime | None,
                   latest_data: datetime | None, stored: int, rejected: int) -> None:
    """Advance the watermark (never backwards) and the running totals."""
    session.execute(text("""
        UPDATE ingest_source SET
            watermark_at = CASE WHEN CAST(:wm AS timestamptz) IS NULL THEN watermark_at
                                ELSE greatest(watermark_at, CAST(:wm AS timestamptz)) END,
            latest_data_at = CASE WHEN CAST(:latest AS timestamptz) IS NULL THEN latest_data_at
                                  ELSE greatest(latest_data_at, CAST(:latest AS timestamptz)) END,
            rows_stored = rows_stored + :stored, rows_rejected = rows_rejected + :rejected,
            last_rows_stored = :stored, updated_at = :now
        WHERE name = :name"""),
                    {"wm": watermark, "latest": latest_data, "stored": stored, "rejected": rejected, "now": now,
                     "name": name})


def record_outcome(session: Session, name: str, *, now: datetime, error: str | None) -> None:
    values: dict[str, Any] = {"last_run_at": now, "heartbeat_at": now, "updated_at": now}
    if error is None:
        values["last_success_at"] = now
    else:
        values.update(last_error_at=now, last_error=error[:2000])
    session.execute(update(IngestSource).where(IngestSource.name == name).values(**values))


# --- leases ----------------------------------------------------------------------------------
def claim_lease(session: Session, name: str, holder: str, now: datetime, expires: datetime) -> bool:
    """Take the lease when it is free, expired, or already ours. One statement, so two
    processes racing for it cannot both win."""
    row = session.execute(text("""
        INSERT INTO ingest_lease AS l (name, holder, acquired_at, expires_at) VALUES (:n, :h, :now, :exp)
        ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, acquired_at = EXCLUDED.acquired_at,
            expires_at = EXCLUDED.expires_at
        WHERE l.expires_at <= :now OR l.holder = EXCLUDED.holder
        RETURNING l.holder"""), {"n": name, "h": holder, "now": now, "exp": expires}).first()
    return row is not None


def lease_holder(session: Session, name: str, now: datetime) -> str | None:
    """Who holds the unexpired lease on `name` (None: nobody)."""
    return session.execute(text("SELECT holder FROM ingest_lease WHERE name = :n AND expires_at > :now"),
                           {"n": name, "now": now}).scalar()


def take_over_lease(session: Session, name: str, old_holder: str, holder: str, now: datetime,
                    expires: datetime) -> bool:
    """Take the lease from `old_holder` (known to be dead); only if it still holds it."""
    row = session.execute(text("""UPDATE ingest_lease SET holder = :h, acquired_at = :now, expires_at = :exp
        WHERE name = :n AND holder = :old RETURNING holder"""),
                          {"n": name, "h": holder, "old": old_holder, "now": now, "exp": expires}).first()
    return row is not None


def holds_lease(session: Session, name: str, holder: str, now: datetime) -> bool:
    """True if `holder` still holds an unexpired lease; locks the lease row until commit so it
    cannot be taken over while the holder writes."""
    row = session.execute(text("SELECT 1 FROM ingest_lease WHERE name = :n AND holder = :h AND expires_at > :now "
                               "FOR UPDATE"), {"n": name, "h": holder, "now": now}).first()
    return row is not None


def release_lease(session: Session, name: str, holder: str, now: datetime) -> None:
    session.execute(update(IngestLease).where(IngestLease.name == name, IngestLease.holder == holder)
                    .values(expires_at=now))


# --- job runs ----------------------------------------------------------------------------------
def start_run(session: Session, *, source_name: str, kind: str, holder: str, now: datetime,
              status: str = "running") -> int:
    run = IngestJobRun(source_name=source_name, kind=kind, holder=holder, status=status, started_at=now,
                       finished_at=now if status != "running" else None, rows_received=0, rows_stored=0,
                       rows_unchanged=0, rows_rejected=0, attempts=0)
    session.add(run)
    session.flush()
    return run.id


def finish_run(session: Session, run_id: int, **values: Any) -> None:
    session.execute(update(IngestJobRun).where(IngestJobRun.id == run_id).values(**values))


def runs(session: Session, source_name: str | None = None, limit: int = 100) -> list[IngestJobRun]:
    q = select(IngestJobRun).order_by(IngestJobRun.started_at.desc(), IngestJobRun.id.desc()).limit(limit)
    if source_name:
        q = q.where(IngestJobRun.source_name == source_name)
    return list(session.scalars(q))


def delete_runs_before(session: Session, cutoff: datetime) -> int:
    res = session.execute(text("DELETE FROM ingest_job_run WHERE started_at < :c AND status <> 'running'"),
                          {"c": cutoff})
    return int(res.rowcount)  # type: ignore[attr-defined]


# --- quarantine ----------------------------------------------------------------------------------
def quarantine(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Insert rejected rows; the same (source, content) again only bumps seen_count. Returns
    how many were new."""
    if not rows:
        return 0
    new = 0
    for start in range(0, len(rows), 2000):
        stmt = insert(QuarantineRow).values(list(rows[start:start + 2000]))
        stmt = stmt.on_conflict_do_update(
            index_elements=[QuarantineRow.source_name, QuarantineRow.content_hash],
            set_={"last_seen_at": stmt.excluded.last_seen_at, "seen_count": QuarantineRow.seen_count + 1})
        res = session.execute(stmt.returning(text("(xmax = 0) AS inserted")))
        new += sum(1 for (ins,) in res if ins)
    return new


def list_quarantine(session: Session, *, source_name: str | None, status: str | None, limit: int,
                    offset: int, batch_id: str | None = None, reason: str | None = None,
                    seen_from: datetime | None = None, seen_to: datetime | None = None,
                    ) -> tuple[int, list[QuarantineRow]]:
    q = select(QuarantineRow)
    if source_name:
        q = q.where(QuarantineRow.source_name == source_name)
    if status:
        q = q.where(QuarantineRow.status == status)
    if batch_id:
        q = q.where(QuarantineRow.batch_id == batch_id)
    if reason:  # a substring of the reason, any case (reasons are Chinese, then English)
        q = q.where(QuarantineRow.reason.icontains(reason, autoescape=True))
    if seen_from:
        q = q.where(QuarantineRow.last_seen_at >= seen_from)
    if seen_to:
        q = q.where(QuarantineRow.last_seen_at < seen_to)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    items = session.scalars(q.order_by(QuarantineRow.last_seen_at.desc(), QuarantineRow.id.desc())
                            .limit(limit).offset(offset))
    return total, list(items)


def held_counts(session: Session, series_ids: Sequence[int]) -> dict[int, int]:
    """Values of a series held in open quarantine rows (their record names it: `series_id`),
    each time once: a value withdrawn from the store and the same value held on re-delivery
    are two rows but one value."""
    if not series_ids:
        return {}
    rows = session.execute(text("""SELECT (raw_json->>'series_id')::int,
            count(DISTINCT coalesce((raw_json->>'time')::timestamptz::text, id::text)) FROM ingest_quarantine
        WHERE status = 'open' AND raw_json ? 'series_id'
          AND (raw_json->>'series_id')::int = ANY(CAST(:ids AS int[])) GROUP BY 1"""), {"ids": list(series_ids)})
    return {int(sid): int(n) for sid, n in rows}


def resolved_points(session: Session, series_ids: Sequence[int]) -> list[tuple[int, datetime]]:
    """(series id, time) of quarantined values a person resolved (resubmitted as is or
    corrected): stored on purpose, never withdrawn again."""
    if not series_ids:
        return []
    rows = session.execute(text("""SELECT (raw_json->>'series_id')::int, (raw_json->>'time')::timestamptz
        FROM ingest_quarantine WHERE status = 'resolved' AND raw_json ? 'series_id' AND raw_json ? 'time'
          AND (raw_json->>'series_id')::int = ANY(CAST(:ids AS int[]))"""), {"ids": list(series_ids)})
    return [(int(sid), t) for sid, t in rows]


def get_quarantine(session: Session, row_id: int) -> QuarantineRow | None:
    return session.get(QuarantineRow, row_id)


# --- lookups the store needs ------------------------------------------------------------------------
def entity_ids(session: Session) -> dict[tuple[str, str], int]:
    """(entity_kind, external code) -> id for every enterprise (USCC), district, park and the city."""
    out: dict[tuple[str, str], int] = {}
    for kind, sql in (("enterprise", "SELECT uscc, id FROM enterprise"), ("district", "SELECT code, id FROM district"),
                      ("park", "SELECT code, id FROM park")):
        for code, id_ in session.execute(text(sql)):
            out[(kind, code)] = id_
    out[("city", "")] = 0
    return out


def indicators(session: Session) -> dict[str, tuple[str, str]]:
    """indicator code -> (unit code, frequency)."""
    return {c: (u, f) for c, u, f in session.execute(text("SELECT code, unit_code, frequency FROM indicator"))}


# --- bulk long files: staged and resolved in SQL (see service.import_long_csv) -------------------------
_BULK_DDL = (
    """CREATE TEMP TABLE IF NOT EXISTS bulk_in (seq bigserial, c1 text, c2 text, c3 text, c4 text, c5 text, c6 text)
        ON COMMIT DELETE ROWS""",
    """CREATE TEMP TABLE IF NOT EXISTS bulk_key (id int, c1 text, c2 text, c3 text, c6 text, entity_id int,
        series_id int, factor float8, tbl text) ON COMMIT DELETE ROWS""",
    "CREATE TEMP TABLE IF NOT EXISTS bulk_time (c4 text, time timestamptz) ON COMMIT DELETE ROWS",
    """CREATE TEMP TABLE IF NOT EXISTS bulk_stage (seq bigint, series_id int, time timestamptz, value float8,
        source text, quality smallint, tbl text) ON COMMIT DELETE ROWS""",
)

# An ISO 8601 time with an offset that both Python's datetime.fromisoformat and PostgreSQL read,
# to the same instant. Digits are mapped to 9 first, so the shape test is one comparison.
_TIME_SHAPES = ("9999-99-99T99:99:99+99:99", "9999-99-99T99:99:99-99:99", "9999-99-99 99:99:99+99:99",
                "9999-99-99 99:99:99-99:99")
_TIME_OK = """translate(c4, '0123456789', '9999999999') = ANY(CAST(:shapes AS text[]))
    AND substr(c4, 1, 4) <> '0000' AND substr(c4, 6, 2) BETWEEN '01' AND '12'
    AND (substr(c4, 9, 2) BETWEEN '01' AND '28'
         OR (substr(c4, 9, 2) <= '30' AND substr(c4, 6, 2) <> '02')
         OR (substr(c4, 9, 2) = '31' AND substr(c4, 6, 2) IN ('01', '03', '05', '07', '08', '10', '12'))
         OR (substr(c4, 6, 5) = '02-29' AND substr(c4, 1, 4)::int %% 4 = 0
             AND (substr(c4, 1, 4)::int %% 100 <> 0 OR substr(c4, 1, 4)::int %% 400 = 0)))
    AND substr(c4, 12, 2) < '24' AND substr(c4, 15, 2) < '60' AND substr(c4, 18, 2) < '60'
    AND substr(c4, 21, 2) <= '14' AND substr(c4, 24, 2) < '60'"""
# Plain decimals (after removing spaces, as the parser does) that cannot fail a float8 cast.
_NUMBER_OK = """translate(replace(c5, ' ', ''), '0123456789', '') IN ('', '.')
    AND replace(c5, ' ', '') NOT IN ('', '.') AND length(c5) <= 40"""


def _driver(session: Session) -> psycopg.Connection[Any]:
    conn = session.connection().connection.driver_connection
    assert isinstance(conn, psycopg.Connection)
    return conn


def bulk_prepare(session: Session) -> None:
    with _driver(session).cursor() as cur:
        for ddl in _BULK_DDL:
            cur.execute(ddl)
        cur.execute("TRUNCATE bulk_in, bulk_key, bulk_time, bulk_stage")


def bulk_copy_csv(session: Session, body: bytes) -> int | None:
    """COPY the lines of a long file (no header, no quotes) into `bulk_in`, as text. Returns
    the row count, or None (and nothing staged) when a line does not have exactly 6 cells."""
    with _driver(session).cursor() as cur:
        cur.execute("SAVEPOINT bulk_copy")
        try:
            # QUOTE is a byte the caller made sure is absent: cells are taken as written.
            with cur.copy("COPY bulk_in (c1, c2, c3, c4, c5, c6) FROM STDIN (FORMAT csv, QUOTE E'\\x02', "
                          "FORCE_NOT_NULL (c1, c2, c3, c4, c5, c6))") as cp:
                view = memoryview(body)
                for i in range(0, len(body), 1 << 20):
                    cp.write(view[i:i + (1 << 20)])
        except psycopg.errors.BadCopyFileFormat:
            cur.execute("ROLLBACK TO SAVEPOINT bulk_copy")
            return None
        n = cur.rowcount
        cur.execute("RELEASE SAVEPOINT bulk_copy")
        return n


def bulk_resolve_keys(session: Session, *, indicators: dict[str, tuple[str, str]],
                      factors: dict[tuple[str, str], float]) -> None:
    """One row in `bulk_key` per distinct (indicator, entity kind, entity code, unit) of the
    file that can be placed: the entity id, the series id (NULL if the series does not exist
    yet), the factor to the indicator's unit and the target table. `indicators` maps a code
    to (unit, table); `factors` maps (file unit, indicator unit) to the conversion factor.
    Also `bulk_time`: every distinct time text with its instant (NULL if it is not a plain
    ISO 8601 time with an offset)."""
    session.execute(text("""
        INSERT INTO bulk_key (id, c1, c2, c3, c6, entity_id, series_id, factor, tbl)
        SELECT row_number() OVER (), k.c1, k.c2, k.c3, k.c6, e.id, s.id, f.factor, i.tbl
        FROM (SELECT DISTINCT c1, c2, c3, c6 FROM bulk_in) k
        JOIN unnest(CAST(:ic AS text[]), CAST(:iu AS text[]), CAST(:it AS text[])) AS i(code, unit, tbl)
             ON i.code = k.c1
        JOIN unnest(CAST(:ff AS text[]), CAST(:ft AS text[]), CAST(:fx AS float8[])) AS f(from_unit, to_unit, factor)
             ON f.from_unit = k.c6 AND f.to_unit = i.unit
        JOIN LATERAL (SELECT 0 AS id WHERE k.c2 = 'city'
                      UNION ALL SELECT id FROM enterprise WHERE k.c2 = 'enterprise' AND uscc = k.c3
                      UNION ALL SELECT id FROM district WHERE k.c2 = 'district' AND code = k.c3
                      UNION ALL SELECT id FROM park WHERE k.c2 = 'park' AND code = k.c3) e ON true
        LEFT JOIN series s ON s.indicator_code = k.c1 AND s.entity_kind = k.c2 AND s.entity_id = e.id"""),
        {"ic": list(indicators), "iu": [u for u, _ in indicators.values()], "it": [t for _, t in indicators.values()],
         "ff": [a for a, _ in factors], "ft": [b for _, b in factors], "fx": list(factors.values())})
    session.execute(text(f"""
        INSERT INTO bulk_time (c4, time)
        SELECT c4, CASE WHEN {_TIME_OK} THEN CAST(c4 AS timestamptz) END FROM (SELECT DISTINCT c4 FROM bulk_in) d
        """.replace("%%", "%")), {"shapes": list(_TIME_SHAPES)})


def bulk_stage_good(session: Session, *, source: str, careful: bool) -> int:
    """Stage into `bulk_stage` every row whose key and time resolved and whose value is a
    finite, non-negative number (converted to the indicator's unit). Rows whose series does
    not exist yet carry -(key id) as series id until `bulk_create_series`. With careful=False
    values are cast without a syntax check and a malformed one raises (class 22 error)."""
    value = "CAST(replace(r.c5, ' ', '') AS float8)"
    if careful:
        value = f"CASE WHEN {_NUMBER_OK.replace('c5', 'r.c5')} THEN {value} END"
    # When every distinct time text of the file is valid (the usual case), casting each row's
    # text is cheaper than joining it to bulk_time; otherwise the join keeps out the bad ones.
    all_times_ok = session.execute(text("SELECT coalesce(bool_and(time IS NOT NULL), true) FROM bulk_time")).scalar()
    time_join, time_expr = ("", "CAST(r.c4 AS timestamptz)") if all_times_ok else (
        "JOIN bulk_time t ON t.c4 = r.c4 AND t.time IS NOT NULL", "t.time")
    # The session-local tables have no statistics (ANALYZE of the big one would cost as much
    # as the join): without them the planner guesses a few hundred rows and picks sorts and
    # nested loops. Hash joins on the small key and time tables are always right here.
    session.execute(text("ANALYZE bulk_key, bulk_time"))
    session.execute(text("SET LOCAL enable_mergejoin = off"))
    session.execute(text("SET LOCAL enable_nestloop = off"))
    res = session.execute(text(f"""
        INSERT INTO bulk_stage (seq, series_id, time, value, source, quality, tbl)
        SELECT r.seq, coalesce(k.series_id, -k.id), {time_expr}, v.v * k.factor, :source, 0, k.tbl
        FROM bulk_in r
        JOIN bulk_key k ON k.c1 = r.c1 AND k.c2 = r.c2 AND k.c3 = r.c3 AND k.c6 = r.c6
        {time_join}
        CROSS JOIN LATERAL (SELECT {value} AS v) v
        WHERE v.v >= 0 AND v.v < CAST('Infinity' AS float8)"""), {"source": source})
    session.execute(text("RESET enable_mergejoin"))
    session.execute(text("RESET enable_nestloop"))
    return int(res.rowcount)  # type: ignore[attr-defined]


def bulk_unstaged(session: Session) -> list[tuple[int, list[str]]]:
    """The rows of the file the SQL could not place, in file order: (seq, cells)."""
    res = session.execute(text("""
        SELECT seq, ARRAY[c1, c2, c3, c4, c5, c6] FROM bulk_in r
        WHERE NOT EXISTS (SELECT 1 FROM bulk_stage s WHERE s.seq = r.seq) ORDER BY seq"""))
    return [(int(seq), list(cells)) for seq, cells in res]


def bulk_stage_rows(session: Session, rows: Sequence[tuple[int, int, datetime, float, str, str]]) -> None:
    """Add rows placed by the Python parser: (seq, series_id, time, value, source, table)."""
    with _driver(session).cursor() as cur, cur.copy("COPY bulk_stage (seq, series_id, time, value, source, quality, tbl) "
                                        "FROM STDIN (FORMAT BINARY)") as cp:
        cp.set_types(["int8", "int4", "timestamptz", "float8", "text", "int2", "text"])
        for seq, sid, t, v, src, tbl in rows:
            cp.write_row((seq, sid, t, v, src, 0, tbl))


def bulk_create_series(session: Session) -> int:
    """Create the series that staged rows need and do not exist yet; point the rows at them."""
    created = session.execute(text("""
        INSERT INTO series (indicator_code, entity_kind, entity_id)
        SELECT k.c1, k.c2, k.entity_id FROM bulk_key k
        WHERE k.series_id IS NULL AND k.id IN (SELECT DISTINCT -series_id FROM bulk_stage WHERE series_id < 0)
        ON CONFLICT DO NOTHING""")).rowcount  # type: ignore[attr-defined]
    session.execute(text("""
        UPDATE bulk_key k SET series_id = s.id FROM series s
        WHERE k.series_id IS NULL AND s.indicator_code = k.c1 AND s.entity_kind = k.c2 AND s.entity_id = k.entity_id"""))
    session.execute(text("""
        UPDATE bulk_stage b SET series_id = k.series_id FROM bulk_key k
        WHERE b.series_id < 0 AND k.id = -b.series_id"""))
    return int(created)


def bulk_key_summary(session: Session) -> tuple[set[str], bool]:
    """(the target tables of the file's keys, whether some key has no series yet)."""
    tables, unplaced = session.execute(text(
        "SELECT array_agg(DISTINCT tbl), bool_or(series_id IS NULL) FROM bulk_key")).one()
    return set(tables or []), bool(unplaced)
