"""Every scheduled job of the ingest worker process, in one place.

A job is a thin wrapper: open a transaction, call a service, record the outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.db import transaction
from backend.health import service as health_service
from backend.ingestion import service as ingestion_service
from backend.observations import service as observations_service
from ingest import runner
from ingest.sources.definitions import SourceDef, sources_for

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
    holder: str = field(default_factory=runner.make_holder)  # this process, for source leases


def heartbeat(ctx: WorkerContext) -> None:
    with transaction(ctx.session_factory) as s:
        health_service.beat(s, ctx.name, ctx.started_at, datetime.now(UTC), expected_interval_s=30)


def retention(ctx: WorkerContext) -> None:
    now = datetime.now(UTC)
    with transaction(ctx.session_factory) as s:
        res = observations_service.apply_retention(s, now, ctx.settings.raw_retention_days)
        runs = ingestion_service.prune_job_runs(s, now, ctx.settings.ingest_run_retention_days)
    log.info("retention: %s removed %d before %s; %d ingest runs pruned", res.method, res.removed,
             res.cutoff.isoformat(), runs)


def ingest_source(ctx: WorkerContext, src: SourceDef) -> None:
    """Fetch, parse and store one upstream source (under its lease); the outcome goes to
    ingest_job_run and ingest_source. New values are evaluated for alerts at once."""
    result = runner.run_source(src, ctx.session_factory, ctx.settings, holder=ctx.holder)
    if result is not None and result.stored:
        evaluate_alerts(ctx)


def evaluate_alerts(ctx: WorkerContext) -> None:
    """Score every newly stored point and raise, update or group alerts (writes the outbox)."""
    from backend.alerts import service as alerts_service

    with transaction(ctx.session_factory) as s:
        rep = alerts_service.evaluate(s, datetime.now(UTC))
    if rep.series:
        log.info("alerts: %d points of %d series, opened %s, raised %s, groups %s, %d notifications%s",
                 rep.points, rep.series, rep.opened, rep.raised, rep.groups, rep.notifications,
                 f"; {len(rep.relearned)} series re-learned from history stored late" if rep.relearned else "")
    if rep.notifications:
        dispatch_notifications(ctx)  # red and orange mail leaves now, not at the next dispatcher round


def escalate_alerts(ctx: WorkerContext) -> None:
    from backend.alerts import service as alerts_service

    with transaction(ctx.session_factory) as s:
        now = datetime.now(UTC)
        alerts_service.check_missing(s, now)  # meters that stopped reporting
        alerts_service.run_escalations(s, now)


def dispatch_notifications(ctx: WorkerContext) -> None:
    """Send due outbox rows over SMTP (claims with FOR UPDATE SKIP LOCKED; retries with backoff)."""
    from backend.notifications import service as notifications_service

    notifications_service.dispatch_due(ctx.session_factory, notifications_service.config_from_settings(ctx.settings),
                                       lambda: datetime.now(UTC))


def queue_digests(ctx: WorkerContext) -> None:
    from backend.notifications import service as notifications_service

    with transaction(ctx.session_factory) as s:
        notifications_service.enqueue_digests(s, datetime.now(UTC), ctx.settings.tz, ctx.settings.digest_hour)


def job_specs(ctx: WorkerContext) -> list[JobSpec]:
    """The whole schedule."""
    return [
        JobSpec("heartbeat", lambda: heartbeat(ctx), seconds=30),
        JobSpec("retention", lambda: retention(ctx), seconds=ctx.settings.retention_interval_hours * 3600),
        # Alerts (backend/alerts) and their e-mail (backend/notifications).
        JobSpec("alerts:evaluate", lambda: evaluate_alerts(ctx), seconds=ctx.settings.alerts_interval_s),
        JobSpec("alerts:escalate", lambda: escalate_alerts(ctx), seconds=ctx.settings.escalation_interval_s),
        JobSpec("notifications:dispatch", lambda: dispatch_notifications(ctx), seconds=ctx.settings.outbox_interval_s),
        JobSpec("notifications:digest", lambda: queue_digests(ctx), seconds=600),
        # One job per upstream source (ingest/sources/definitions.py); YUNJIAN_INGEST_INTERVAL_S overrides.
        *(JobSpec(f"source:{src.name}", lambda src=src: ingest_source(ctx, src),  # type: ignore[misc]
                  seconds=runner.interval_for(src, ctx.settings))
          for src in sources_for(ctx.settings)),
    ]
