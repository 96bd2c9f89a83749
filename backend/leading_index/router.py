"""The leading index (先行指标指数), its weights, and the district evaluation (调度评价)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request

from backend.aggregates.periods import add_months
from backend.api import problems
from backend.api.deps import OriginDep, Reader, SessionDep, require
from backend.api.types import Day
from backend.auth import scope
from backend.auth.rules import Permission, Principal
from backend.leading_index import service
from backend.leading_index.schemas import (
    EvaluationOut,
    EvaluationRowOut,
    IndexPointOut,
    LeadingIndexOut,
    PlaceIndexOut,
    WeightsIn,
)
from backend.registry import repository as registry_repo

router = APIRouter(tags=["leading index"])

Writer = Annotated[Principal, Depends(require(Permission.write_index_weights))]
METHOD = "docs/leading-index.md"


def _today(request: Request) -> date:
    return datetime.now(ZoneInfo(str(request.app.state.settings.timezone))).date()


def _place_out(session: SessionDep, p: service.PlaceIndex) -> PlaceIndexOut:
    districts = {str(d.id): (d.code, d.name_zh) for d in registry_repo.list_districts(session)}
    code, name = districts.get(p.group, ("city", "乌海市"))
    ev = p.evaluation
    return PlaceIndexOut(
        place=code, name_zh=name, seasonally_adjusted=p.result.seasonally_adjusted,
        evaluation=EvaluationOut(grade=ev.grade, grade_zh=ev.grade_zh,
                                 composite_change_3m_pct=ev.composite_change_3m_pct, diffusion=ev.diffusion),
        points=[IndexPointOut(month=x.month, composite=x.composite, diffusion=x.diffusion,
                              n_indicators=x.n_indicators, components=x.changes) for x in p.result.points])


@router.get("/leading-index", response_model=LeadingIndexOut, summary="Leading index for the city or a district",
            responses=problems.responses(401, 403, 404, 422))
def leading_index(request: Request, principal: Reader, session: SessionDep,
                  district: Annotated[str | None, Query(max_length=16, description="District code; omit for the "
                                                                                   "city.", examples=["150304"])]
                  = None,
                  start: Annotated[Day | None, Query(description="First month (default: 24 months ago).")] = None,
                  end: Annotated[Day | None, Query(description="Last month (default: this month).")] = None,
                  ) -> LeadingIndexOut:
    """The composite leading index (base 100 in the first month) and the diffusion index, month
    by month, from the leading indicators (煤、电、油、气、运) seasonally adjusted, direction-adjusted
    and standardised, with configurable weights; and the evaluation of the latest month. See
    docs/leading-index.md for the method."""
    if district:
        ids: tuple[int, ...] | None = (scope.district_by_code(session, principal, district).id,)
    else:
        scope.require_city(principal, "the city's leading index")
        ids = None
    last = end or _today(request)
    first = start or add_months(last.replace(day=1), -23)
    _, places, weights = service.compute(session, first, last, ids, False, str(request.app.state.settings.timezone))
    outs = []
    for p in places:
        out = _place_out(session, p)
        if district:
            out.place, out.name_zh = district, scope.district_by_code(session, principal, district).name_zh
        outs.append(out)
    return LeadingIndexOut(method=METHOD, weights=weights, places=outs)


@router.get("/leading-index/evaluation", response_model=list[EvaluationRowOut],
            summary="调度评价: every district on the leading index", responses=problems.responses(401, 403, 422))
def evaluation(request: Request, principal: Reader, session: SessionDep,
               month: Annotated[Day | None, Query(description="Month evaluated (any day in it; default this "
                                                               "month).")] = None) -> list[EvaluationRowOut]:
    """Each district's leading index over the 12 months to `month`: its 3-month change, the
    diffusion index, a grade (好/中/差) and a rank. District officers see their own row."""
    last = (month or _today(request)).replace(day=1)
    first = add_months(last, -11)
    ids = (principal.district_id,) if principal.district_id is not None else None
    if ids is None:
        scope.require_city(principal, "the evaluation of every district")
    _, places, _ = service.compute(session, first, last, ids, True, str(request.app.state.settings.timezone))
    rows = [_place_out(session, p) for p in places]
    ranked = sorted([r for r in rows if r.evaluation.composite_change_3m_pct is not None],
                    key=lambda r: -(r.evaluation.composite_change_3m_pct or 0.0))
    rank = {r.place: i + 1 for i, r in enumerate(ranked)}
    return [EvaluationRowOut(rank=rank.get(r.place), place=r.place, name_zh=r.name_zh,
                             composite=r.points[-1].composite if r.points else None,
                             diffusion=r.evaluation.diffusion,
                             composite_change_3m_pct=r.evaluation.composite_change_3m_pct,
                             grade=r.evaluation.grade, grade_zh=r.evaluation.grade_zh) for r in rows]


@router.get("/leading-index/weights", response_model=dict[str, float], summary="Leading-index weights",
            responses=problems.responses(401, 403))
def get_weights(_: Reader, session: SessionDep) -> dict[str, float]:
    """Every leading indicator and its weight (1 unless configured; 0 = not used)."""
    return service.effective_weights(session)


@router.put("/leading-index/weights", response_model=dict[str, float], summary="Change leading-index weights",
            responses=problems.responses(401, 403, 422))
def put_weights(body: WeightsIn, principal: Writer, session: SessionDep, origin: OriginDep) -> dict[str, float]:
    """Set the weights of some leading indicators (admin, analyst); audited."""
    return service.set_weights(session, principal, body.weights, origin)
