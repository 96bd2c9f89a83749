"""Direct reporting (企业直报) endpoints: push, upload, completeness, review flags, deadlines."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile

from backend.api import problems
from backend.api.deps import PrincipalDep, SessionDep
from backend.config import Settings
from backend.registry import repository as registry_repo
from backend.reporting import access, rules, service
from backend.reporting.rules import ReportError
from backend.reporting.schemas import (
    CompletenessOut,
    DeadlineIn,
    DeadlineOut,
    EnterpriseCompletenessOut,
    FlagOut,
    FlagRecordOut,
    FlagResolveIn,
    RejectedOut,
    ReportIn,
    SubmissionOut,
    UploadOut,
)
from backend.reporting.upload import UploadError
from backend.statistics.tables import TableError

router = APIRouter(prefix="/reporting", tags=["reporting"])

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _month(period: str) -> date:
    try:
        return rules.month_of(period)
    except ReportError as exc:
        raise problems.InvalidRequest(str(exc)) from exc


def _out(r: service.SubmissionResult) -> SubmissionOut:
    return SubmissionOut(
        submission_id=r.submission_id, enterprise_id=r.enterprise_id, period=f"{r.month:%Y-%m}",
        status=r.status, stored=r.stored, inserted=r.inserted, updated=r.updated,  # type: ignore[arg-type]
        unchanged=r.unchanged,
        flags=[FlagOut(indicator_code=f.indicator_code, rule=f.rule.value, message=f.message, detail=f.detail)
               for f in r.flags],
        rejected=[RejectedOut(location=x.location, reason=x.reason, raw=x.raw) for x in r.rejected])


@router.post("/enterprises/{enterprise_id}/reports", response_model=SubmissionOut, summary="Submit a monthly report",
             responses=problems.responses(401, 403, 404, 422))
def submit_report(enterprise_id: int, body: ReportIn, principal: PrincipalDep, session: SessionDep,
                  request: Request) -> SubmissionOut:
    """Push an enterprise's figures for one month (any subset of the five reported
    indicators; sending a value again corrects it, keeping the old one as a revision).

    Allowed for the enterprise's own reporter (role `enterprise_reporter`, or its API key
    with the `write` scope) and for admins. Each value is checked: a value that cannot be
    right (not a number, wrong unit, out of range) is rejected with its reason and the
    others are stored; a value that may be right but looks odd (环比 jump, mismatch with the
    metered electricity, value added above gross output) is stored and flagged for review."""
    if not access.may_submit(principal, enterprise_id):
        raise problems.Forbidden("you may submit reports only for your own enterprise (with a write-scoped key)")
    if registry_repo.get_enterprise(session, enterprise_id) is None:
        raise problems.NotFound(f"enterprise {enterprise_id} does not exist")
    result = service.submit(
        session, _settings(request), enterprise_id=enterprise_id, month=_month(body.period),
        values=[service.SubmittedValue(v.indicator, v.value, v.unit, f"values[{i}]", f"{v.indicator}={v.value} "
                                       f"{v.unit or ''}".strip()) for i, v in enumerate(body.values)],
        channel="api", submitted_by=principal.actor, now=datetime.now(UTC))
    return _out(result)


@router.post("/uploads", response_model=UploadOut, summary="Upload a reporting form (CSV/XLSX)",
             responses=problems.responses(401, 403, 422))
def upload_form(file: Annotated[UploadFile, File(description="CSV (UTF-8 or GBK) or XLSX reporting form")],
                principal: PrincipalDep, session: SessionDep, request: Request) -> UploadOut:
    """Upload the monthly form: one row per enterprise and month (统一社会信用代码, 报告期,
    工业总产值(万元), 营业收入(万元), 工业增加值(万元), 综合能源消费量(吨标准煤), 主要产品产量(吨)) or one
    value per row (报告期, 指标, 数值, 单位). An enterprise reporter's rows are for its own
    enterprise (the credit-code column may be left out); an admin's rows name theirs."""
    if not access.may_submit(principal, None):
        raise problems.Forbidden("uploads are for enterprise reporters and admins (with a write-scoped key)")
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise problems.InvalidRequest(f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    try:
        result = service.upload(session, _settings(request), data=data, file_name=file.filename or "upload.csv",
                                submitted_by=principal.actor, now=datetime.now(UTC),
                                enterprise_id=access.bound_enterprise(principal))
    except (UploadError, TableError) as exc:
        raise problems.InvalidRequest(str(exc)) from exc
    return UploadOut(file_name=result.file_name, submissions=[_out(s) for s in result.submissions],
                     rejected=[RejectedOut(location=x.location, reason=x.reason, raw=x.raw) for x in result.rejected])


@router.get("/completeness", response_model=CompletenessOut, summary="Reporting completeness for a month",
            responses=problems.responses(401, 403, 422))
def completeness(period: Annotated[str, Query(examples=["2026-10"], description="Reporting month, YYYY-MM.")], principal: PrincipalDep, session: SessionDep,
                 request: Request) -> CompletenessOut:
    """应报 / 已报 / 迟报 / 未报 (and 待报 before the deadline) per above-scale enterprise, as
    of now. District officers see their own district."""
    if not access.may_read_completeness(principal):
        raise problems.Forbidden("completeness is for city and district staff")
    c = service.completeness(session, _settings(request), _month(period), datetime.now(UTC),
                             district_id=principal.district_id)
    return CompletenessOut(
        period=f"{c.month:%Y-%m}", due_at=c.due_at, due=c.due, reported=c.counts["reported"], late=c.counts["late"],
        missing=c.counts["missing"], pending=c.counts["pending"],
        enterprises=[EnterpriseCompletenessOut(enterprise_id=e.enterprise_id, uscc=e.uscc, name_zh=e.name_zh,
                                               status=e.status.value, status_zh=rules.STATUS_ZH[e.status],
                                               completed_at=e.completed_at, missing=e.missing)
                     for e in c.enterprises])


@router.get("/flags", response_model=list[FlagRecordOut], summary="Review flags",
            responses=problems.responses(401, 403, 422))
def flags(principal: PrincipalDep, session: SessionDep, period: str | None = None,
          status: Annotated[str | None, Query(pattern="^(open|confirmed|dismissed|cleared)$")] = "open",
          limit: Annotated[int, Query(ge=1, le=1000)] = 200, offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0
          ) -> list[FlagRecordOut]:
    """Values stored but marked for review, newest first. A reporter sees its own enterprise's."""
    rows = service.list_flags(session, month=_month(period) if period else None, status=status,
                              enterprise_id=access.bound_enterprise(principal), limit=limit, offset=offset)
    return [FlagRecordOut.model_validate(f) for f in rows]


@router.post("/flags/{flag_id}/resolve", status_code=204, summary="Confirm or dismiss a review flag",
             responses=problems.responses(401, 403, 404, 422))
def resolve_flag(flag_id: int, body: FlagResolveIn, principal: PrincipalDep, session: SessionDep) -> None:
    """`confirmed`: the figure was checked and is right; `dismissed`: not worth pursuing."""
    if not access.may_resolve_flags(principal):
        raise problems.Forbidden("flags are resolved by admins, duty officers and analysts")
    try:
        service.resolve_flag(session, flag_id, body.status, principal.actor, datetime.now(UTC))
    except service.FlagNotFound as exc:
        raise problems.NotFound(f"flag {flag_id} does not exist") from exc


@router.put("/periods/{period}", response_model=DeadlineOut, summary="Set a month's reporting deadline",
            responses=problems.responses(401, 403, 422))
def set_deadline(period: str, body: DeadlineIn, principal: PrincipalDep, session: SessionDep) -> DeadlineOut:
    """Override the default deadline (the Nth of the next month, `YUNJIAN_REPORTING_DEADLINE_DAY`)."""
    if not access.may_set_deadlines(principal):
        raise problems.Forbidden("deadlines are set by admins")
    if body.due_at.tzinfo is None:
        raise problems.InvalidRequest("due_at needs a time zone (e.g. 2026-11-16T00:00:00+08:00)")
    month = _month(period)
    return DeadlineOut(period=f"{month:%Y-%m}", due_at=service.set_deadline(session, month, body.due_at, body.note))
