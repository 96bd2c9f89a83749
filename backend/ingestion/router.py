"""Ingest endpoints: per-source status, recent job runs, the quarantine."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from backend.api import problems
from backend.api.deps import Reader, SessionDep
from backend.api.pagination import Page, PageDep
from backend.auth.rules import Principal, Role
from backend.ingestion import service
from backend.ingestion.schemas import JobRunOut, QuarantineOut, SourceStatusOut

router = APIRouter(prefix="/ingest", tags=["ingest"])


def _staff(principal: Reader) -> Principal:
    # Quarantined rows may hold any enterprise's figures: not for enterprise reporters.
    if principal.role == Role.enterprise_reporter:
        raise problems.Forbidden("enterprise reporters cannot read ingest internals")
    return principal


Staff = Annotated[Principal, Depends(_staff)]


@router.get("/sources", response_model=list[SourceStatusOut], summary="Upstream sources and their freshness",
            responses=problems.responses(401, 403))
def sources(_: Staff, session: SessionDep) -> list[SourceStatusOut]:
    """Every scheduled upstream source: `state` (`ok`, `late` when the newest data is older
    than twice the expected lag plus one interval, `failing` when the last run failed,
    `never` before the first success), lag behind now, watermark, last success and error,
    and row counts."""
    out = []
    for st in service.source_statuses(session, datetime.now(UTC)):
        s = st.source
        out.append(SourceStatusOut(
            name=s.name, family=s.family, title_zh=s.title_zh, title_en=s.title_en, state=st.state,
            interval_s=s.interval_s, expected_lag_s=s.expected_lag_s, lag_s=st.lag_s, watermark_at=s.watermark_at,
            latest_data_at=s.latest_data_at, last_run_at=s.last_run_at, last_success_at=s.last_success_at,
            last_error_at=s.last_error_at, last_error=s.last_error, rows_stored=s.rows_stored,
            rows_rejected=s.rows_rejected, last_rows_stored=s.last_rows_stored, heartbeat_at=s.heartbeat_at))
    return out


@router.get("/runs", response_model=list[JobRunOut], summary="Recent ingest runs",
            responses=problems.responses(401, 403))
def runs(_: Staff, session: SessionDep, source: Annotated[str | None, Query(max_length=64)] = None,
         limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[JobRunOut]:
    """The latest runs (newest first), optionally of one source, with their outcome."""
    return [JobRunOut.model_validate(r) for r in service.recent_runs(session, source, limit)]


@router.get("/quarantine", response_model=Page[QuarantineOut], summary="Rejected input rows",
            responses=problems.responses(401, 403))
def quarantine(_: Staff, session: SessionDep, page: PageDep,
               source: Annotated[str | None, Query(max_length=64)] = None,
               status: Annotated[str | None, Query(pattern="^(open|resolved|dismissed)$")] = None,
               ) -> Page[QuarantineOut]:
    """Every rejected row with its reason (Chinese, then English) and raw content, most
    recently seen first. The same content rejected again only raises `seen_count`."""
    total, items = service.list_quarantine(session, source=source, status=status, limit=page.limit,
                                           offset=page.offset)
    return Page[QuarantineOut](items=[QuarantineOut.model_validate(q) for q in items], total=total,
                               limit=page.limit, offset=page.offset)
