"""The ingest worker process: an APScheduler 3.x scheduler, never inside the web app."""

from __future__ import annotations

import logging
import signal
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler

from backend.config import Settings
from backend.db import make_engine, make_session_factory
from ingest.jobs import WorkerContext, job_specs

log = logging.getLogger("yunjian.ingest")


def build_scheduler(settings: Settings) -> tuple[BlockingScheduler, WorkerContext]:
    engine = make_engine(settings.effective_database_url())
    ctx = WorkerContext(settings=settings, session_factory=make_session_factory(engine), started_at=datetime.now(UTC))
    sched = BlockingScheduler(
        executors={"default": ThreadPoolExecutor(4)},
        # Jobs never overlap themselves and missed runs coalesce into one.
        job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": 60},
        timezone=UTC,
    )
    now = datetime.now(UTC)
    for spec in job_specs(ctx):
        sched.add_job(spec.func, "interval", seconds=spec.seconds, id=spec.id, name=spec.id,
                      next_run_time=now + timedelta(seconds=1) if spec.run_at_start else None)
    return sched, ctx


def run(settings: Settings) -> None:
    sched, _ = build_scheduler(settings)
    log.info("ingest worker: %d jobs: %s", len(sched.get_jobs()), ", ".join(j.id for j in sched.get_jobs()))
    def _stop(signum: int, frame: object) -> None:
        # Let running jobs finish their transaction; do not start new ones.
        sched.shutdown(wait=True)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    sched.start()
