"""SQL for ingest state, leases, job runs and the quarantine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

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
                    offset: int) -> tuple[int, list[QuarantineRow]]:
    q = select(QuarantineRow)
    if source_name:
        q = q.where(QuarantineRow.source_name == source_name)
    if status:
        q = q.where(QuarantineRow.status == status)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    items = session.scalars(q.order_by(QuarantineRow.last_seen_at.desc(), QuarantineRow.id.desc())
                            .limit(limit).offset(offset))
    return total, list(items)


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
