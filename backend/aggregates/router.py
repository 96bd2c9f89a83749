"""Series endpoints: any indicator at any level, bucketed, with period comparisons; top-N."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import Field
from sqlalchemy.orm import Session

from backend.aggregates import cache, service
from backend.aggregates import repository as agg_repo
from backend.aggregates.periods import Bucket, label, period_end
from backend.aggregates.schemas import (
    Basis,
    GroupByParam,
    GroupOut,
    IndicatorRef,
    PointOut,
    SeriesOut,
    TopBy,
    TopOut,
    TopRowOut,
)
from backend.api import problems
from backend.api.deps import Reader, SessionDep
from backend.api.pagination import MAX_ID
from backend.api.problems import InvalidRequest
from backend.api.tables import TABLE_RESPONSES, FormatQuery, TableFormat, flatten, render
from backend.api.types import Day
from backend.auth import scope
from backend.auth.rules import Principal
from backend.catalogue.models import Indicator
from backend.registry import repository as registry_repo

router = APIRouter(tags=["series"])

_FIGURE = "(" + "|".join(sorted(service.ALL_FIGURES)) + ")"
_FIGURES_PATTERN = rf"^ *({_FIGURE} *)?(, *({_FIGURE} *)?)*$"

IndicatorQ = Annotated[str, Query(min_length=1, max_length=64, description="Indicator code (GET /api/v1/indicators).",
                                  examples=["econ.value_added"])]
StartQ = Annotated[Day, Query(description="First local day (Asia/Shanghai), inclusive.", examples=["2025-01-01"])]
EndQ = Annotated[Day, Query(description="Last local day, inclusive. The range is widened to whole buckets.",
                             examples=["2025-12-31"])]
TopEndQ = Annotated[Day, Query(description="Last local day, inclusive: the total covers "
                                 "the local days start..end exactly.", examples=["2025-12-31"])]
DistrictQ = Annotated[list[str] | None, Query(description="District code(s); repeat for several.",
                                              examples=[["150304"]])]
ParkQ = Annotated[list[str] | None, Query(description="Park code(s).", examples=[["WD"]])]
IndustryQ = Annotated[list[str] | None, Query(description="Industry group code(s) (GET /api/v1/industries).",
                                              examples=[["coking"]])]
AboveQ = Annotated[bool | None, Query(description="Only 规上 enterprises (true) or only the others (false).")]
KeyQ = Annotated[bool | None, Query(description="Only 重点企业 (true) or only the others (false).")]
EnterpriseQ = Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None, Query(description="Enterprise id(s).")]


def _tz(request: Request) -> str:
    return str(request.app.state.settings.timezone)


def scoped_filters(session: Session, principal: Principal, district: list[str] | None, park: list[str] | None,
                   enterprise: list[int] | None, industry: list[str] | None = None, above_scale: bool | None = None,
                   key_enterprise: bool | None = None) -> dict[str, object]:
    """Resolve codes to ids and apply the caller's scope: a district officer must name its own
    district (403 otherwise); an enterprise outside the caller's scope is a 404."""
    district_ids = tuple(scope.district_by_code(session, principal, c).id for c in district) if district else None
    park_ids = tuple(scope.park_by_code(session, principal, c).id for c in park) if park else None
    enterprise_ids = tuple(scope.enterprise(session, principal, e).id for e in enterprise) if enterprise else None
    if district_ids is None and park_ids is None and enterprise_ids is None:
        scope.require_city(principal, "a figure without a district, park or enterprise")
    if enterprise_ids is None and not principal.city_wide and principal.district_id is not None:
        # a district officer's figures are always within its district
        district_ids = district_ids or (principal.district_id,)
    if industry:
        known = {g.code for g in registry_repo.list_industry_groups(session)}
        unknown = sorted(set(industry) - known)
        if unknown:
            raise InvalidRequest(f"unknown industry group(s) {unknown}; see GET /api/v1/industries")
    return {"district_ids": district_ids, "park_ids": park_ids, "enterprise_ids": enterprise_ids,
            "industry_groups": tuple(industry) if industry else None, "above_scale": above_scale,
            "key_enterprise": key_enterprise}


def _indicator_ref(ind: Indicator) -> IndicatorRef:
    return IndicatorRef(code=ind.code, name_zh=ind.name_zh, name_en=ind.name_en, unit=ind.unit_code,
                        agg_time=ind.agg_time, agg_entities=ind.agg_entities)


def _labels(session: Session, group_by: str, keys: list[str]
            ) -> tuple[dict[str, tuple[str | None, str | None]], dict[str, str]]:
    """Group names (zh, en), and group keys as the API shows them: district and park codes,
    not database ids. One lookup."""
    if group_by == "district":
        districts = registry_repo.list_districts(session)
        return {str(d.id): (d.name_zh, d.name_en) for d in districts}, {str(d.id): d.code for d in districts}
    if group_by == "park":
        parks = registry_repo.list_parks(session)
        return {str(p.id): (p.name_zh, p.name_en) for p in parks}, {str(p.id): p.code for p in parks}
    if group_by == "industry":
        return {g.code: (g.name_zh, g.name_en) for g in registry_repo.list_industry_groups(session)}, {}
    if group_by == "enterprise":
        found = agg_repo.enterprise_names(session, [int(k) for k in keys if k.isdigit()])
        return {str(i): (zh, en) for i, (zh, en, _) in found.items()}, {}
    return {}, {}


def _single_label(session: Session, kind: str, q: service.SeriesQuery, groups: list[str]
                  ) -> tuple[dict[str, tuple[str | None, str | None]], dict[str, str]]:
    """Not grouped: the key and name of the one district, park or enterprise the figure is
    for (none for the city or several places)."""
    ids = {"district": q.district_ids, "park": q.park_ids, "enterprise": q.enterprise_ids}.get(kind)
    if not ids or len(ids) != 1:
        return {}, {}
    names, keys = _labels(session, kind, [str(ids[0])])
    one = str(ids[0])
    return ({g: names[one] for g in groups if one in names},
            {g: keys.get(one, one) for g in groups})


def _point_out(p: service.Point, bucket: Bucket, tz: str) -> PointOut:
    m = p.math
    if isinstance(p.key, datetime):
        start: date | datetime = p.key.replace(tzinfo=ZoneInfo(tz))
        end: date | datetime = start + timedelta(hours=1)
    else:
        start, end = p.key, period_end(p.key, bucket)
        if p.combined_months:
            start = date(p.key.year, 1, 1)
    period = label(p.key, bucket)
    if p.combined_months:
        period = f"{p.key.year}-01..02"
    # model_construct: the figures come from our own typed computation, so each point is not
    # validated again (it adds up for group_by answers with many groups and points).
    return PointOut.model_construct(
        period=period, start=start, end=end, value=m.value, yoy_pct=m.yoy_pct, pop_pct=m.pop_pct,
        ytd=m.ytd, ytd_yoy_pct=m.ytd_yoy_pct, share_pct=m.share_pct,
        contribution_pp=m.contribution_pp, ytd_contribution_pp=m.ytd_contribution_pp,
        last_year_value=m.last_year_value, last_year_ytd=m.last_year_ytd,
        combined_months=p.combined_months, n_series=p.n_series, partial=p.through is not None, through=p.through)


def _series_out(session: Session, q: service.SeriesQuery, tz: str, today: date, basis: Basis) -> SeriesOut:
    res = service.series(session, q, tz, today)
    kind = q.group_by if q.group_by != "none" else (
        "enterprise" if q.enterprise_ids else "park" if q.park_ids else "district" if q.district_ids else "city")
    if q.group_by == "none":
        names, keys = _single_label(session, kind, q, [g.group for g in res.groups])
    else:
        names, keys = _labels(session, q.group_by, [g.group for g in res.groups])
    groups = [GroupOut(key=keys.get(g.group, g.group), kind=kind, name_zh=names.get(g.group, (None, None))[0],
                       name_en=names.get(g.group, (None, None))[1],
                       points=[_point_out(p, res.bucket, tz) for p in g.points]) for g in res.groups]
    parent = (GroupOut(key="", kind="parent", name_zh=None, name_en=None,
                       points=[_point_out(p, res.bucket, tz) for p in res.parent.points]) if res.parent else None)
    return SeriesOut(indicator=_indicator_ref(res.indicator), bucket=res.bucket.value, start=res.start,
                     end=res.end - timedelta(days=1), basis=basis, source=res.source, groups=groups, parent=parent,
                     notes=res.notes)


def _answer_cache(request: Request) -> cache.AnswerCache | None:
    return getattr(request.app.state, "answer_cache", None)


@router.get("/series", response_model=SeriesOut, summary="An indicator at any level, bucketed, with 同比/环比/累计",
            responses={**TABLE_RESPONSES, **problems.responses(401, 403, 404, 422)})
def get_series(
    request: Request, principal: Reader, session: SessionDep,
    indicator: IndicatorQ, start: StartQ, end: EndQ,
    bucket: Annotated[Bucket, Query(description="hour (≤ 31 days, 15-min/hourly indicators), day, week (ISO), "
                                                "month, quarter or year, in local time.")] = Bucket.month,
    district: DistrictQ = None, park: ParkQ = None, industry: IndustryQ = None, above_scale: AboveQ = None,
    key_enterprise: KeyQ = None, enterprise: EnterpriseQ = None,
    group_by: Annotated[GroupByParam, Query(description="Side by side: one series per district, park, industry or "
                                                        "enterprise within the filters.")] = GroupByParam.none,
    figures: Annotated[str, Query(max_length=100, description="Comma-separated subset of yoy, pop, ytd, share, "
                                                               "contribution (fewer is faster).",
                                  # documented only: the check below names the unknown ones
                                  json_schema_extra={"pattern": _FIGURES_PATTERN})]
    = "yoy,pop,ytd,share,contribution",
    basis: Annotated[Basis, Query(description="`same` (同口径): 同比 and 累计同比 compare the enterprises that are "
                                              "in the set now with their own values last year, so an enterprise "
                                              "entering the above-scale set does not look like growth. Needs an "
                                              "enterprise filter such as above_scale=true.")] = Basis.current,
    format: FormatQuery = TableFormat.json,
) -> SeriesOut | Response:
    """Values of `indicator` for the city (no filter), a district, a park, an industry, an
    enterprise, or a combination (e.g. `district=150304&industry=coking`: coking enterprises in
    乌达区), bucketed in local time (Asia/Shanghai: a day starts at local midnight, a month on the
    1st). Every point carries 同比 (`yoy_pct`), 环比 (`pop_pct`), 累计 (`ytd`) and 累计同比
    (`ytd_yoy_pct`); with `group_by`, also the share of the parent and the contribution to the
    parent's growth.

    Enterprise values count in the district/park/industry of the registry version valid on
    their day. A place reported directly (e.g. grid load per district) uses its own series,
    else the sum of its children (see `source`). Month, quarter and year views read monthly
    rollups only. A monthly series with no January but a February value is treated as a
    January–February total (`combined_months`). The week/month/quarter/year containing today
    (Asia/Shanghai), while its data run through an earlier day than its end, has `partial:
    true` and `through`, and its 同比/环比/累计同比 compare the same span (同期). Comparisons
    whose base starts before the indicator's data do are null.

    Example: `GET /api/v1/series?indicator=econ.value_added&district=150304&bucket=month&start=2025-01-01&end=2025-12-31`
    """
    figs = frozenset(f.strip() for f in figures.split(",") if f.strip())
    unknown = figs - service.ALL_FIGURES
    if unknown:
        raise InvalidRequest(f"unknown figures {sorted(unknown)}; choose from {sorted(service.ALL_FIGURES)}")
    filters = scoped_filters(session, principal, district, park, enterprise, industry, above_scale, key_enterprise)
    q = service.SeriesQuery(indicator=indicator, bucket=bucket, start=start, end=end, group_by=group_by.value,
                            figures=figs, basis=basis.value, **filters)  # type: ignore[arg-type]
    tz = _tz(request)
    today = datetime.now(ZoneInfo(tz)).date()
    if format == TableFormat.json:
        # Serialised here (pydantic's JSON encoder) rather than validated again by FastAPI, and
        # kept while the data behind it is unchanged (backend/aggregates/cache.py).
        body = cache.answer(_answer_cache(request), session, indicator, ("series", q, tz, today),
                            lambda: _series_out(session, q, tz, today, basis).model_dump_json().encode())
        return Response(body, media_type="application/json")
    out = _series_out(session, q, tz, today, basis)
    rows = [{"group": g.key, "group_name_zh": g.name_zh, **p.model_dump(mode="json")}
            for g in out.groups for p in g.points]
    return render(flatten(rows), format, f"series-{indicator}")


@router.get("/series/top", response_model=TopOut, summary="Top-N enterprises by value or by change",
            responses={**TABLE_RESPONSES, **problems.responses(401, 403, 404, 422)})
def top(
    request: Request, principal: Reader, session: SessionDep,
    indicator: IndicatorQ, start: StartQ, end: TopEndQ,
    by: Annotated[TopBy, Query(description="value; change (against the same period last year); change_pct.")]
    = TopBy.value,
    n: Annotated[int, Query(ge=1, le=500, description="How many enterprises to list (1–500).")] = 10,
    order: Annotated[str, Query(pattern="^(desc|asc)$", description="desc: largest first (asc: the biggest "
                                                                    "falls first with by=change).")] = "desc",
    district: DistrictQ = None, park: ParkQ = None, industry: IndustryQ = None, above_scale: AboveQ = None,
    key_enterprise: KeyQ = None,
    format: FormatQuery = TableFormat.json,
) -> TopOut | Response:
    """The `n` enterprises with the largest total of `indicator` over [start, end] (local days),
    or the largest change against the same days last year. Filters as for `/series`."""
    filters = scoped_filters(session, principal, district, park, None, industry, above_scale, key_enterprise)
    q = service.SeriesQuery(indicator=indicator, bucket=Bucket.day, start=start, end=end,
                            **filters)  # type: ignore[arg-type]
    tz = _tz(request)

    def compute() -> TopOut:
        ind, a, b, rows, notes = service.top_enterprises(session, q, by.value, n, order == "asc", tz)
        items = [TopRowOut(rank=i + 1, enterprise_id=r.enterprise_id, name_zh=r.name_zh, name_en=r.name_en,
                           uscc=r.uscc, value=r.value, last_year_value=r.last_year_value, change=r.change,
                           change_pct=r.change_pct) for i, r in enumerate(rows)]
        return TopOut(indicator=_indicator_ref(ind), start=a, end=b - timedelta(days=1), by=by, items=items,
                      notes=notes)

    if format != TableFormat.json:
        return render(flatten(compute().items), format, f"top-{indicator}")
    today = datetime.now(ZoneInfo(tz)).date()
    body = cache.answer(_answer_cache(request), session, indicator, ("top", q, by, n, order, tz, today),
                        lambda: compute().model_dump_json().encode())
    return Response(body, media_type="application/json")
