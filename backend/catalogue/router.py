"""Catalogue endpoints: indicators and units."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from backend.api import problems
from backend.api.deps import Reader, SessionDep
from backend.api.problems import NotFound
from backend.api.tables import TABLE_RESPONSES, FormatQuery, TableFormat, flatten, render
from backend.catalogue import repository as repo
from backend.catalogue.schemas import IndicatorOut, UnitOut

router = APIRouter(tags=["catalogue"])


@router.get("/indicators", response_model=list[IndicatorOut], summary="Indicators",
            responses={**TABLE_RESPONSES, **problems.responses(401, 403)})
def indicators(
    _: Reader, session: SessionDep,
    family: Annotated[str | None, Query(max_length=16, description="coal, power, oil, gas, transport, economy, "
                                                                   "energy.")] = None,
    is_leading: Annotated[bool | None, Query(description="Only leading indicators (先行指标).")] = None,
    frequency: Annotated[str | None, Query(max_length=8, description="15min, hour, day, month.")] = None,
    format: FormatQuery = TableFormat.json,
) -> list[IndicatorOut] | Response:
    """Every indicator: its code (used by the series endpoints), names, unit, frequency, and how
    it aggregates across entities (`agg_entities`) and within a time bucket (`agg_time`)."""
    rows = [IndicatorOut.model_validate(i) for i in repo.list_indicators(session)
            if (family is None or i.family == family) and (is_leading is None or i.is_leading == is_leading)
            and (frequency is None or i.frequency == frequency)]
    return rows if format == TableFormat.json else render(flatten(rows), format, "indicators")


@router.get("/indicators/{code}", response_model=IndicatorOut, summary="One indicator",
            description="One indicator by its code (e.g. `power.consumption`): unit, frequency and how it "
                        "aggregates over time (`agg_time`) and across places (`agg_entities`).",
            responses=problems.responses(401, 403, 404))
def indicator(code: str, _: Reader, session: SessionDep) -> IndicatorOut:
    ind = repo.get_indicator(session, code)
    if ind is None:
        raise NotFound(f"indicator {code!r} does not exist; see GET /api/v1/indicators")
    return IndicatorOut.model_validate(ind)


@router.get("/units", response_model=list[UnitOut], summary="Units",
            responses=problems.responses(401, 403))
def units(_: Reader, session: SessionDep) -> list[UnitOut]:
    """Units and their factor to the base unit of their dimension (万吨 = 10,000 吨)."""
    return [UnitOut.model_validate(u) for u in repo.list_units(session)]
