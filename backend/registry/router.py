"""Registry endpoints: districts, parks, industries and enterprises (with their history)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from backend.api import problems
from backend.api.deps import Reader, SessionDep
from backend.api.pagination import IdPath, Page, PageDep, sort_clauses
from backend.api.tables import TABLE_RESPONSES, FormatQuery, TableFormat, flatten, render
from backend.api.types import Day
from backend.auth import scope
from backend.auth.rules import Role
from backend.registry import repository as repo
from backend.registry.models import Enterprise, EnterpriseVersion
from backend.registry.schemas import (
    DistrictOut,
    EnterpriseDetail,
    EnterpriseOut,
    IndustryOut,
    ParkOut,
    VersionOut,
)

router = APIRouter(tags=["registry"])

ENTERPRISE_SORT = {"id": Enterprise.id, "name_zh": Enterprise.name_zh, "uscc": Enterprise.uscc,
                   "industry_group": EnterpriseVersion.industry_group, "district_id": EnterpriseVersion.district_id}


def _today(request_tz: str = "Asia/Shanghai") -> date:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(request_tz)).date()


@router.get("/districts", response_model=list[DistrictOut], summary="Districts",
            responses={**TABLE_RESPONSES, **problems.responses(401, 403)})
def districts(_: Reader, session: SessionDep, format: FormatQuery = TableFormat.json) -> list[DistrictOut] | Response:
    """The city's three districts and 滨河新区 (a managed area)."""
    rows = [DistrictOut.model_validate(d) for d in repo.list_districts(session)]
    return rows if format == TableFormat.json else render(flatten(rows), format, "districts")


@router.get("/parks", response_model=list[ParkOut], summary="Industrial parks",
            responses={**TABLE_RESPONSES, **problems.responses(401, 403)})
def parks(_: Reader, session: SessionDep, format: FormatQuery = TableFormat.json) -> list[ParkOut] | Response:
    """The industrial parks of 一区四园 and the district each belongs to."""
    rows = [ParkOut.model_validate(p) for p in repo.list_parks(session)]
    return rows if format == TableFormat.json else render(flatten(rows), format, "parks")


@router.get("/industries", response_model=list[IndustryOut], summary="Industry groups",
            responses={**TABLE_RESPONSES, **problems.responses(401, 403)})
def industries(_: Reader, session: SessionDep, format: FormatQuery = TableFormat.json
               ) -> list[IndustryOut] | Response:
    """The industry groups the city watches (groupings of GB/T 4754 classes)."""
    rows = [IndustryOut.model_validate(g) for g in repo.list_industry_groups(session)]
    return rows if format == TableFormat.json else render(flatten(rows), format, "industries")


def _enterprise_out(e: Enterprise, v: EnterpriseVersion, codes: dict[int, str], parks: dict[int, str]
                    ) -> EnterpriseOut:
    return EnterpriseOut(id=e.id, uscc=e.uscc, name_zh=e.name_zh, name_en=e.name_en, district_id=v.district_id,
                         district_code=codes[v.district_id], park_id=v.park_id,
                         park_code=parks.get(v.park_id) if v.park_id else None, industry_code=v.industry_code,
                         industry_group=v.industry_group, above_scale=v.above_scale, key_enterprise=v.key_enterprise)


@router.get("/enterprises", response_model=Page[EnterpriseOut], summary="Enterprises",
            responses={**TABLE_RESPONSES, **problems.responses(401, 403, 404, 422)})
def enterprises(
    principal: Reader, session: SessionDep, page: PageDep,
    district: Annotated[str | None, Query(max_length=16, description="District code.", examples=["150304"])] = None,
    park: Annotated[str | None, Query(max_length=32, description="Park code.", examples=["WD"])] = None,
    industry: Annotated[str | None, Query(max_length=32, description="Industry group code.",
                                          examples=["coking"])] = None,
    above_scale: Annotated[bool | None, Query(description="Only 规上 (true) or only non-规上 (false).")] = None,
    key_enterprise: bool | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Search in names and USCC.")] = None,
    on: Annotated[Day | None, Query(description="Attributes as valid on this day (default today).")] = None,
    sort: Annotated[str | None, Query(description="Fields: id, name_zh, uscc, industry_group, district_id; "
                                                  "`-` prefix for descending.")] = None,
    format: FormatQuery = TableFormat.json,
) -> Page[EnterpriseOut] | Response:
    """Enterprises with their attributes (district, park, industry, 规上, 重点) as valid on `on`,
    filtered on those attributes. A district officer sees only enterprises that were ever in
    their district; an enterprise reporter only its own enterprise."""
    district_id = scope.district_by_code(session, principal, district).id if district else None
    park_id = scope.park_by_code(session, principal, park).id if park else None
    day = on or _today()
    codes = {d.id: d.code for d in repo.list_districts(session)}
    park_codes = {p.id: p.code for p in repo.list_parks(session)}
    paged = format == TableFormat.json
    rows, total = repo.list_enterprises(
        session, day=day, district_id=district_id, park_id=park_id, industry_group=industry, above_scale=above_scale,
        key_enterprise=key_enterprise, q=q, ever_in_district=principal.district_id,
        only_enterprise=(principal.enterprise_id or -1) if principal.role == Role.enterprise_reporter else None,
        order_by=sort_clauses(sort, ENTERPRISE_SORT, "id"), limit=page.limit if paged else None,
        offset=page.offset if paged else 0)
    items = [_enterprise_out(e, v, codes, park_codes) for e, v in rows]
    if not paged:
        return render(flatten(items), format, "enterprises")
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/enterprises/{enterprise_id}", response_model=EnterpriseDetail, summary="One enterprise and its history",
            responses=problems.responses(401, 403, 404))
def enterprise(enterprise_id: IdPath, principal: Reader, session: SessionDep,
               on: Annotated[Day | None, Query(description="Attributes as valid on this day (default today; "
                                                            "the latest version if none is valid then).")] = None,
               ) -> EnterpriseDetail:
    """An enterprise, its attributes on `on`, and every version of its history (moves between
    parks, entry into the above-scale set...). 404 for enterprises outside your scope."""
    ent = scope.enterprise(session, principal, enterprise_id)
    versions = repo.enterprise_versions(session, ent.id)
    if not versions:
        raise problems.NotFound(f"enterprise {enterprise_id} has no registry version")
    day = on or _today()
    current = next((v for v in versions if v.valid_from <= day and (v.valid_to is None or v.valid_to > day)),
                   versions[-1])
    codes = {d.id: d.code for d in repo.list_districts(session)}
    park_codes = {p.id: p.code for p in repo.list_parks(session)}
    base = _enterprise_out(ent, current, codes, park_codes)
    return EnterpriseDetail(**base.model_dump(), versions=[VersionOut.model_validate(v) for v in versions])
