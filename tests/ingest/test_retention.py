"""Pruning old ingest runs, alone and as part of the worker's retention job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.db import transaction
from backend.ingestion import repository as repo
from backend.ingestion import service
from ingest import jobs

NOW = datetime(2026, 11, 27, 8, tzinfo=UTC)


def _run(session: Session, started: datetime, status: str = "ok") -> int:
    return repo.start_run(session, source_name="power_metering", kind="scheduled", holder="h", now=started,
                          status=status)


def test_runs_older_than_the_retention_are_pruned_and_running_ones_kept(db_session: Session) -> None:
    old = _run(db_session, NOW - timedelta(days=91))
    stuck = _run(db_session, NOW - timedelta(days=200), status="running")
    recent = _run(db_session, NOW - timedelta(days=89))
    assert service.prune_job_runs(db_session, NOW, keep_days=90) == 1
    left = set(db_session.execute(text("SELECT id FROM ingest_job_run")).scalars())
    assert old not in left and {stuck, recent} <= left


def test_the_retention_job_prunes_ingest_runs_with_the_configured_days(fresh_factory: sessionmaker[Session],
                                                                       fresh_database_url: str) -> None:
    now = datetime.now(UTC)
    with transaction(fresh_factory) as s:
        kept = _run(s, now - timedelta(days=6))
        _run(s, now - timedelta(days=8))
    ctx = jobs.WorkerContext(settings=Settings(database_url=fresh_database_url, ingest_run_retention_days=7),
                             session_factory=fresh_factory, started_at=now)
    jobs.retention(ctx)
    with fresh_factory() as s:
        assert list(s.execute(text("SELECT id FROM ingest_job_run")).scalars()) == [kept]
