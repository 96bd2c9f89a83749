"""SQL for health: heartbeats and database facts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from backend.health.models import WorkerHeartbeat


def upsert_heartbeat(session: Session, *, name: str, host: str, pid: int, started_at: datetime, beat_at: datetime,
                     expected_interval_s: int, info: dict[str, object]) -> None:
    stmt = insert(WorkerHeartbeat).values(name=name, host=host, pid=pid, started_at=started_at, beat_at=beat_at,
                                          expected_interval_s=expected_interval_s, info=info)
    session.execute(stmt.on_conflict_do_update(index_elements=[WorkerHeartbeat.name], set_={
        c: stmt.excluded[c] for c in ("host", "pid", "started_at", "beat_at", "expected_interval_s", "info")}))


def heartbeats(session: Session) -> list[WorkerHeartbeat]:
    return list(session.scalars(select(WorkerHeartbeat).order_by(WorkerHeartbeat.name)))


def timescaledb_facts(session: Session) -> tuple[str | None, str | None]:
    """(extension version, licence) or (None, None) without the extension."""
    version = session.execute(text("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")).scalar()
    if version is None:
        return None, None
    licence = session.execute(text("SELECT current_setting('timescaledb.license', true)")).scalar()
    return version, licence


def server_version(session: Session) -> str:
    return str(session.execute(text("SHOW server_version")).scalar())
