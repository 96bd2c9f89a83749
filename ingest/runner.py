"""Running one source: lease -> window -> (client -> parse -> store) per chunk -> outcome.

Each chunk is fetched completely (every request, every page), parsed, and stored in one
transaction that also advances the watermark. If the database connection is lost while
storing (a restart, a failover), the same parsed chunk is stored again on a new connection:
since the write path is idempotent, the counts come out exactly as if nothing had happened.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.db import transaction
from backend.ingestion import service
from backend.ingestion.batch import ParseResult, PayloadError, RejectedRow
from ingest.sources.client import UpstreamClient
from ingest.sources.definitions import SourceDef

log = logging.getLogger("yunjian.ingest")

STORE_ATTEMPTS = 4


def make_holder() -> str:
    """A lease holder id unique to this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_is_dead(holder: str) -> bool:
    """Whether a lease holder (`make_holder`) was a process on this machine that no longer
    exists: a worker killed mid-run (Ctrl-C, kill -9, a crash) leaves its lease behind, and a
    restarted one need not wait for it to expire. Holders on other machines are never judged."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


@dataclass
class RunResult:
    source: str
    status: str  # ok | failed | skipped
    received: int = 0
    stored: int = 0
    unchanged: int = 0
    rejected: int = 0
    store_attempts: int = 0
    chunks: int = 0
    error: str | None = None
    windows: list[tuple[datetime, datetime]] = field(default_factory=list)


def _connection_lost(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


def register(session: Session, src: SourceDef, settings: Settings) -> None:
    """Keep the source's row (titles, schedule, expected lag) in step with its definition."""
    service.register_source(session, name=src.name, family=src.family, title_zh=src.title_zh,
                            title_en=src.title_en, interval_s=int(interval_for(src, settings)),
                            expected_lag_s=int(src.expected_lag.total_seconds()))


def interval_for(src: SourceDef, settings: Settings) -> float:
    return settings.ingest_interval_s if settings.ingest_interval_s > 0 else src.interval_s


def run_source(src: SourceDef, sf: sessionmaker[Session], settings: Settings, *, holder: str,
               now: datetime | None = None, start: datetime | None = None, end: datetime | None = None,
               kind: str = "scheduled", client: UpstreamClient | None = None) -> RunResult:
    """One run of `src`. Scheduled runs fetch from the watermark (minus lookback) to now;
    a backfill gives [start, end). Never raises: the outcome is recorded and returned."""
    wall = datetime.now(UTC)  # leases and run records always use the real clock
    now = now or wall
    ttl = settings.ingest_lease_ttl_s
    # Registering commits on its own: every transaction below takes the lease row before the
    # source row (as the store does), so two runs never wait on each other in a cycle.
    with transaction(sf) as s:
        register(s, src, settings)
    with transaction(sf) as s:
        if not service.claim_lease(s, src.name, holder, wall, ttl, holder_is_dead):
            service.record_skipped(s, source=src.name, kind=kind, holder=holder, now=wall)
            log.info("%s: another worker holds the lease; skipped", src.name)
            return RunResult(src.name, "skipped")
        run_id = service.start_run(s, source=src.name, kind=kind, holder=holder, now=wall)
        wm = service.watermark(s, src.name)
    result = RunResult(src.name, "ok")
    own_client = client is None
    http = client or UpstreamClient(settings.upstream_url(src.upstream), timeout_s=settings.ingest_http_timeout_s)
    try:
        window = (start, end) if start is not None and end is not None else src.window(wm, now)
        for i, (a, b) in enumerate(src.chunks(*window)):
            with transaction(sf) as s:  # keep the lease alive over long runs
                if not service.claim_lease(s, src.name, holder, datetime.now(UTC), ttl):
                    raise service.LeaseLost(f"lease on {src.name} taken over")
            parsed = fetch_chunk(src, http, a, b, settings.upstream_credential(src.upstream), sf,
                                 batch_id=f"{run_id}.{i}")
            _store(src, sf, settings, holder, parsed, f"{run_id}.{i}", b if kind == "scheduled" else None, result)
            result.chunks += 1
            result.windows.append((a, b))
    except Exception as exc:  # recorded in the run and the source status, logged once
        result.status, result.error = "failed", f"{exc.__class__.__name__}: {exc}"
        log.warning("%s: run failed: %s", src.name, result.error)
    finally:
        if own_client:
            http.close()
        finished = datetime.now(UTC)
        try:
            with transaction(sf) as s:
                service.release_lease(s, src.name, holder, finished)  # lease row first, as everywhere
                span = (result.windows[0][0], result.windows[-1][1]) if result.windows else None
                service.finish_run(s, run_id, source=src.name, now=finished, error=result.error, window=span,
                                   received=result.received, stored=result.stored, unchanged=result.unchanged,
                                   rejected=result.rejected, attempts=result.store_attempts)
        except Exception as exc:  # the database is away: the lease expires by itself
            log.warning("%s: could not record the outcome: %s", src.name, exc)
    return result


def fetch_chunk(src: SourceDef, http: UpstreamClient, a: datetime, b: datetime, credential: str,
                sf: sessionmaker[Session], batch_id: str) -> ParseResult:
    """Every request and page of one chunk, parsed. A response that cannot be read at all is
    quarantined whole and fails the run (the watermark stays, so the next run asks again)."""
    out = ParseResult()
    for spec in src.plan(a, b, credential):
        page, pages = 1, 1
        while page <= pages:
            payload = http.get(spec, {"page": str(page)} if spec.paged else None)
            try:
                res = src.parse(payload)
            except PayloadError as exc:
                with transaction(sf) as s:
                    service.quarantine(s, source=src.name, batch_id=batch_id, now=datetime.now(UTC),
                                       rows=[RejectedRow(payload.body[:100_000].decode("utf-8", "replace"), str(exc))])
                raise
            out.extend(res)
            pages = res.pages if spec.paged else 1
            page += 1
    return out


def _store(src: SourceDef, sf: sessionmaker[Session], settings: Settings, holder: str, parsed: ParseResult,
           batch_id: str, watermark: datetime | None, result: RunResult) -> None:
    for attempt in range(1, STORE_ATTEMPTS + 1):
        result.store_attempts += 1
        try:
            with transaction(sf) as s:
                res = service.store_batch(s, source=src.name, batch_id=batch_id, rows=parsed.rows,
                                          rejected=parsed.rejected, now=datetime.now(UTC), tz=settings.timezone,
                                          holder=holder, watermark=watermark, hold_implausible=True)
        except (OperationalError, DBAPIError) as exc:
            if not _connection_lost(exc) or attempt == STORE_ATTEMPTS:
                raise
            log.warning("%s: database connection lost while storing batch %s (attempt %d); retrying",
                        src.name, batch_id, attempt)
            time.sleep(min(0.5 * 2 ** (attempt - 1), 5.0))
            continue
        result.received += res.received
        result.stored += res.stored
        result.unchanged += res.unchanged
        result.rejected += res.rejected
        return


def backfill(settings: Settings, source_name: str, start: datetime, end: datetime) -> RunResult:
    """Run `source_name` over [start, end) (naive datetimes are Beijing time) as a backfill:
    same lease, parsing and store as scheduled runs; the watermark is left alone."""
    from backend.db import make_engine, make_session_factory
    from ingest.sources.definitions import source_named
    from ingest.sources.parsers import UPSTREAM_TZ

    src = source_named(source_name)
    a, b = (t if t.tzinfo else t.replace(tzinfo=UPSTREAM_TZ) for t in (start, end))
    if b <= a:
        raise ValueError("end must be after start")
    engine = make_engine(settings.effective_database_url())
    try:
        return run_source(src, make_session_factory(engine), settings, holder=make_holder(), start=a, end=b,
                          kind="backfill")
    finally:
        engine.dispose()
