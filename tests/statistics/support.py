"""Fixtures and helpers for the statistics tests: the hand-written files and a registry index."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.catalogue.service import read_catalogue
from backend.statistics.layout import read_layout
from backend.statistics.mapping import load_mapping
from backend.statistics.rules import IndicatorInfo, Plan, RegistryIndex, plan_import
from backend.statistics.tables import read_table

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Ids as in the pure tests' own registry (the DB tests use the seeded one).
REGISTRY = RegistryIndex(
    districts_by_code={"150302": 1, "150303": 2, "150304": 3, "150391": 4},
    districts_by_name={"海勃湾区": 1, "海南区": 2, "乌达区": 3, "滨河新区": 4},
    parks_by_code={"QLS": 1}, parks_by_name={"千里山工业园区": 1})


@pytest.fixture(scope="session")
def catalogue() -> dict[str, IndicatorInfo]:
    doc = read_catalogue()
    return {i["code"]: IndicatorInfo(i["unit"], i["frequency"], i["agg_time"]) for i in doc["indicators"]}


@pytest.fixture(scope="session")
def units() -> dict[str, tuple[str, float]]:
    out: dict[str, tuple[str, float]] = {}
    for u in read_catalogue()["units"]:
        out[u["code"]] = out[u["name_zh"]] = (u["dimension"], u["factor"])
    return out


@pytest.fixture()
def plan_for(catalogue, units):
    def _plan(data_file: str, mapping_file: str, data: bytes | None = None) -> Plan:
        mapping = load_mapping(FIXTURES / mapping_file)
        raw = data if data is not None else (FIXTURES / data_file).read_bytes()
        grid, _ = read_table(raw, data_file, mapping.sheet)
        return plan_import(read_layout(grid, mapping.layout), mapping, catalogue, units, REGISTRY)
    return _plan


def values(plan: Plan) -> dict[tuple[str, str, int, str], tuple[float, int]]:
    """(indicator, kind, entity, 'YYYY-MM') -> (value, quality)."""
    return {(f.indicator_code, f.entity_kind, f.entity_id, f"{f.year}-{f.month:02d}"): (f.value, f.quality)
            for f in plan.facts}
