"""Annual district targets and progress against them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from backend.api import problems
from backend.api.deps import OriginDep, Reader, SessionDep, require
from backend.api.tables import TABLE_RESPONSES, FormatQuery, TableFormat, flatten, render
from backend.api.types import Day
from backend.auth import scope
from backend.auth.rules import Permission, Principal
from backend.registry import repository as registry_repo
from backend.targets import repository as repo
from backend.targets import rules, service
from backend.targets.models import DistrictTarget
from backend.targets.schemas import ProgressOut, TargetIn, TargetIndicator, TargetOut

router = APIRouter(tags=["targets"])

Writer = Annotated[Principal, Depends(require(Permission.write_targets))]
YearPath = Annotated[int, Path(ge=2000, le=2100, description="Target year.", examples=[2025])]
YearQ = Annotated[int | None, Query(ge=2000, le=2100, description="Target year.", examples=[2025])]
DistrictQ = Annotated[str | None, Query(max_length=16, description="District code.", examples=["150304"])]


def _visible_districts(session: SessionDep, principal: Principal, district: str | None) -> list[int] | None:
    if district:
        return [scope.district_by_code(session, principal, district).id]
    if principal.district_id is not None:
        return [principal.district_id]
    scope.require_city(principal, "the list of every district's targets")
    return None


def _out(t: DistrictTarget, names: dict[int, tuple[str, str]]) -> TargetOut:
    code, name = names[t.district_id]
    return TargetOut(district_code=code, district_name_zh=name, year=t.year, indicator=t.indicator_code,
                     target_growth_pct=t.target_growth_pct, note=t.note)


def _names(session: SessionDep) -> dict[int, tuple[str, str]]:
    return {d.id: (d.code, d.name_zh) for d in registry_repo.list_districts(session)}


@router.get("/targets", response_model=list[TargetOut], summary="Annual district targets",
            responses={**TABLE_RESPONSES, **problems.responses(401, 403, 404, 422)})
def list_targets(principal: Reader, session: SessionDep, year: YearQ = None, district: DistrictQ = None,
                 format: FormatQuery = TableFormat.json) -> list[TargetOut] | Response:
    """Targets for above-scale industrial value-added growth (`econ.value_added`) and industrial
    fixed-asset investment growth (`econ.fai_industrial`), per district and year."""
    names = _names(session)
    rows = [_out(t, names) for t in repo.list_targets(session, year, _visible_districts(session, principal, district))]
    return rows if format == TableFormat.json else render(flatten(rows), format, "targets")


@router.put("/targets/{district_code}/{year}/{indicator}", response_model=TargetOut,
            summary="Set a district's target for a year", responses=problems.responses(401, 403, 404, 422))
def put_target(district_code: str, year: YearPath, indicator: TargetIndicator,
               body: TargetIn, principal: Writer, session: SessionDep, origin: OriginDep) -> TargetOut:
    """Create or change a target (admin, leader, analyst). Recorded in the audit log with the
    previous value."""
    d = scope.district_by_code(session, principal, district_code)
    t = service.upsert(session, principal, d.id, year, indicator.value, body.target_growth_pct, body.note, origin)
    return _out(t, _names(session))


@router.delete("/targets/{district_code}/{year}/{indicator}", status_code=204, summary="Remove a target",
               responses=problems.responses(401, 403, 404, 422))
def delete_target(district_code: str, year: YearPath, indicator: TargetIndicator, principal: Writer, session: SessionDep,
                  origin: OriginDep) -> Response:
    d = scope.district_by_code(session, principal, district_code)
    service.remove(session, principal, d.id, year, indicator.value, origin)
    return Response(status_code=204)


@router.get("/targets/progress", response_model=list[ProgressOut], summary="Progress against the targets",
            responses={**TABLE_RESPONSES, **problems.responses(401, 403, 404, 422)})
def target_progress(request: Request, principal: Reader, session: SessionDep,
                    year: Annotated[int, Query(ge=2000, le=2100, examples=[2025], description="Year of the targets.")],
                    district: DistrictQ = None,
                    as_of: Annotated[Day | None, Query(description="Measure through this local day "
                                                                    "(default today).")] = None,
                    format: FormatQuery = TableFormat.json) -> list[ProgressOut] | Response:
    """For each target of `year`: the district's 累计 and 累计同比 through the latest month with
    data, the published 累计增速 where there is one (it then judges progress), the gap to the
    target in points, the whole-year amount the target implies and how much of it is done
    against the time elapsed (时间进度), and a status."""
    tz = str(request.app.state.settings.timezone)
    day = as_of or datetime.now(ZoneInfo(tz)).date()
    names = _names(session)
    targets = repo.list_targets(session, year, _visible_districts(session, principal, district))
    rows = []
    for p in service.progress(session, targets, day, tz):
        base = _out(p.target, names)
        rows.append(ProgressOut(
            **base.model_dump(), as_of_month=p.as_of_month, ytd_value=p.ytd_value, last_year_ytd=p.last_year_ytd,
            actual_ytd_growth_pct=p.actual_ytd_growth_pct, computed_ytd_growth_pct=p.computed_ytd_growth_pct,
            published_ytd_growth_pct=p.published_ytd_growth_pct,
            gap_pp=None if p.actual_ytd_growth_pct is None else p.actual_ytd_growth_pct - p.target.target_growth_pct,
            last_year_total=p.last_year_total, required_total=p.required_total, completion_pct=p.completion_pct,
            time_elapsed_pct=p.time_elapsed_pct, status=p.status, status_zh=rules.STATUS_ZH[p.status]))
    return rows if format == TableFormat.json else render(flatten(rows), format, f"target-progress-{year}")
