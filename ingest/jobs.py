"""Every scheduled job of the ingest worker process, in one place.

A job is a thin wrapper: open a transaction, call a service, record the outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.db import transaction
from backend.health import service as health_service
from backend.observations import service as observations_service

log = logging.getLogger("yunjian.ingest")


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable[[], None]
    seconds: float  # interval
    run_at_start: bool = True


@dataclass
class WorkerContext:
    settings: Settings
    session_factory: sessionmaker[Session]
    started_at: datetime
    name: str = "ingest"


def heartbeat(ctx: WorkerContext) -> None:
    with transaction(ctx.session_factory) as s:
        health_service.beat(s, ctx.name, ctx.started_at, datetime.now(UTC), expected_interval_s=30)


def retention(ctx: WorkerContext) -> None:
    with transaction(ctx.session_factory) as s:
        res = observations_service.apply_retention(s, datetime.now(UTC), ctx.settings.raw_retention_days)
    log.info("retention: %s removed %d before %s", res.method, res.removed, res.cutoff.isoformat())


def job_specs(ctx: WorkerContext) -> list[JobSpec]:
    """The whole schedule."""
    return [
        JobSpec("heartbeat", lambda: heartbeat(ctx), seconds=30),
        JobSpec("retention", lambda: retention(ctx), seconds=ctx.settings.retention_interval_hours * 3600),
    ]
