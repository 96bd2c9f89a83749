"""Ingest endpoints: per-source status, recent job runs, the quarantine."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from backend.api import problems
from backend.api.deps import Reader, SessionDep
from backend.api.pagination import Page, PageDep
from backend.api.types import AwareInstant
from backend.auth.rules import Principal, Role
from backend.config import Settings, get_settings
from backend.ingestion import service
from backend.ingestion.batch import ParsedRow
from backend.ingestion.schemas import (
    JobRunOut,
    QuarantineOut,
    QuarantineResubmitIn,
    QuarantineResubmitOut,
    QuarantineReviewIn,
    SourceStatusOut,
)

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


def _settings(request: Request) -> Settings:
    return getattr(request.app.state, "settings", None) or get_settings()


def _reviewer(principal: Reader) -> Principal:
    # Reviewing changes what is stored: duty officers and admins; analysts and leaders read only.
    if principal.role not in (Role.admin, Role.duty_officer):
        raise problems.Forbidden("only duty officers and admins review quarantined rows")
    return principal


Reviewer = Annotated[Principal, Depends(_reviewer)]


@router.get("/quarantine", response_model=Page[QuarantineOut], summary="Rejected input rows",
            responses=problems.responses(401, 403))
def quarantine(_: Staff, session: SessionDep, page: PageDep,
               source: Annotated[str | None, Query(max_length=64)] = None,
               status: Annotated[str | None, Query(pattern="^(open|resolved|dismissed)$")] = None,
               batch: Annotated[str | None, Query(max_length=64, description="batch id")] = None,
               reason: Annotated[str | None, Query(max_length=200, description="substring of the reason")] = None,
               seen_from: Annotated[AwareInstant | None, Query(description="last seen at or after")] = None,
               seen_to: Annotated[AwareInstant | None, Query(description="last seen before")] = None,
               ) -> Page[QuarantineOut]:
    """Every rejected row with its reason (Chinese, then English) and raw content, most
    recently seen first. The same content rejected again only raises `seen_count`.
    Filters: source, review status, batch id, a substring of the reason (any case), and a
    range of the time it was last seen."""
    total, items = service.list_quarantine(session, source=source, status=status, limit=page.limit,
                                           offset=page.offset, batch=batch, reason=reason, seen_from=seen_from,
                                           seen_to=seen_to)
    return Page[QuarantineOut](items=[QuarantineOut.model_validate(q) for q in items], total=total,
                               limit=page.limit, offset=page.offset)


@router.post("/quarantine/{row_id}/review", response_model=QuarantineOut, summary="Review a rejected row",
             responses=problems.responses(401, 403, 404, 422))
def review(row_id: int, body: QuarantineReviewIn, principal: Reviewer, session: SessionDep) -> QuarantineOut:
    """Mark a quarantined row `resolved` or `dismissed` (or `open` again), with a note.
    Duty officers and admins only."""
    try:
        row = service.review_quarantine(session, row_id, status=body.status, by=principal.username, note=body.note,
                                        now=datetime.now(UTC))
    except service.QuarantineNotFound:
        raise problems.NotFound(f"no quarantined row {row_id}") from None
    return QuarantineOut.model_validate(row)


@router.post("/quarantine/{row_id}/resubmit", response_model=QuarantineResubmitOut,
             summary="Store a corrected version of a rejected row", responses=problems.responses(401, 403, 404, 422))
def resubmit(row_id: int, body: QuarantineResubmitIn, principal: Reviewer, session: SessionDep,
             request: Request) -> QuarantineResubmitOut:
    """Store the corrected value through the normal store under the row's source (units
    converted; a value that replaces a stored one is kept as a revision) and mark the row
    `resolved`. A correction the store would reject as well answers 422 with the reason and
    stores nothing. Duty officers and admins only."""
    row = ParsedRow(body.indicator, body.entity_kind, body.entity_code, body.time, body.value, body.unit)
    try:
        q, res = service.resubmit_quarantine(session, row_id, row=row, by=principal.username, note=body.note,
                                             now=datetime.now(UTC), tz=_settings(request).timezone)
    except service.QuarantineNotFound:
        raise problems.NotFound(f"no quarantined row {row_id}") from None
    except service.CorrectionRejected as exc:
        raise problems.InvalidRequest(str(exc)) from None
    return QuarantineResubmitOut(row=QuarantineOut.model_validate(q), inserted=res.inserted, updated=res.updated)
