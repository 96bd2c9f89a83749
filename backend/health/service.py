"""Health: what `/health` reports, and the heartbeat every worker writes."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from backend.health import repository as repo
from backend.migrate import current_revisions

NO_TIMESCALEDB_WARNING = ("TimescaleDB is not installed in this database: observations are plain tables "
                          "(no chunk exclusion, retention deletes rows). Fine for a trial, not for production.")


@dataclass
class WorkerStatus:
    name: str
    host: str
    pid: int
    beat_at: datetime
    age_s: float
    expected_interval_s: int
    stale: bool


@dataclass
class HealthReport:
    status: str  # ok | degraded | down
    database: bool
    postgres_version: str | None = None
    timescaledb_version: str | None = None
    timescaledb_license: str | None = None
    migrations_current: list[str] = field(default_factory=list)
    migrations_head: list[str] = field(default_factory=list)
    migrations_at_head: bool = False
    workers: list[WorkerStatus] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def beat(session: Session, name: str, started_at: datetime, now: datetime, expected_interval_s: int,
         info: dict[str, object] | None = None) -> None:
    repo.upsert_heartbeat(session, name=name, host=socket.gethostname(), pid=os.getpid(), started_at=started_at,
                          beat_at=now, expected_interval_s=expected_interval_s, info=info or {})


def worker_stale(age_s: float, expected_interval_s: int) -> bool:
    """A worker is stale when it missed more than two beats (and at least 2 minutes)."""
    return age_s > max(2 * expected_interval_s, 120)


def report(session: Session, heads: set[str], now: datetime) -> HealthReport:
    rep = HealthReport(status="ok", database=True)
    rep.postgres_version = repo.server_version(session)
    rep.timescaledb_version, rep.timescaledb_license = repo.timescaledb_facts(session)
    current = current_revisions(session.connection())
    rep.migrations_current, rep.migrations_head = sorted(current), sorted(heads)
    rep.migrations_at_head = current == heads
    if rep.timescaledb_version is None:
        rep.warnings.append(NO_TIMESCALEDB_WARNING)
    if not rep.migrations_at_head:
        rep.warnings.append("database schema is not at the latest migration: run `yunjian migrate`")
        rep.status = "degraded"
    if rep.migrations_current:
        for hb in repo.heartbeats(session):
            age = (now - hb.beat_at).total_seconds()
            ws = WorkerStatus(hb.name, hb.host, hb.pid, hb.beat_at, round(age, 1), hb.expected_interval_s,
                              worker_stale(age, hb.expected_interval_s))
            rep.workers.append(ws)
            if ws.stale:
                rep.warnings.append(f"worker {hb.name} last beat {int(age)} s ago")
                rep.status = "degraded"
    return rep
