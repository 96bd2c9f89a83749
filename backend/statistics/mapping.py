"""The mapping file (YAML): which column is which, and how the file's indicator and
region names map to our indicator codes and registry entities. See
docs/statistics-import.md for the full reference and examples.

Parsing a mapping is pure (`parse_mapping(dict)`); `load_mapping(path)` reads the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from backend.statistics.layout import ROLES, LayoutOptions
from backend.statistics.parsing import Measure, Period, normalise, normalise_unit, parse_measure, parse_period

ENTITY_KINDS = ("city", "district", "park", "enterprise")
CITY_ID = 0  # entity id of our own city (Wuhai) in series


class MappingError(ValueError):
    pass


@dataclass(frozen=True)
class Target:
    """Where one file indicator goes, per measure. `month` is the indicator code for month
    values; `ytd` for year-to-date values (default `<month>.ytd` when the catalogue has it)."""

    month: str | None = None
    ytd: str | None = None
    growth_month: str | None = None
    growth_ytd: str | None = None
    unit: str | None = None  # the unit the file uses for it, when the file does not say
    measure: Measure | None = None  # the measure to assume when the file does not say

    def code_for(self, measure: Measure) -> str | None:
        return {Measure.MONTH: self.month, Measure.YTD: self.ytd, Measure.GROWTH_MONTH: self.growth_month,
                Measure.GROWTH_YTD: self.growth_ytd}.get(measure)


@dataclass(frozen=True)
class EntityRef:
    """A registry entity: the city (id 0 is Wuhai; any other id names a reference region,
    by convention its 6-digit administrative code), or a district/park by code or name,
    or an enterprise by USCC."""

    kind: str
    id: int | None = None
    code: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Mapping:
    name: str
    source: str  # stored with every value as its source
    layout: LayoutOptions
    sheet: str | None = None
    zero_is_missing: bool = True
    measure: Measure | None = None
    period: Period | None = None
    unit: str | None = None
    indicator: str | None = None
    region: str | None = None
    indicators: dict[str, Target] = field(default_factory=dict)  # normalised file key -> target
    regions: dict[str, EntityRef] = field(default_factory=dict)  # normalised file key -> entity
    auto_regions: bool = False
    city_code: str = "150300"
    unmapped_indicators: str = "reject"  # reject | ignore
    unmapped_regions: str = "reject"
    derive: bool = True  # month <-> year-to-date, see rules.derive


_MEASURE_KEYS = ("month", "ytd", "growth_month", "growth_ytd")


def _measure(value: Any, where: str) -> Measure | None:
    if value is None:
        return None
    s = str(value)
    if s in Measure.__members__.values():
        return Measure(s)
    m = parse_measure(s)
    if m is None:
        raise MappingError(f"{where}: unknown measure {s!r} (month, ytd, growth_month, growth_ytd, 当月, 累计)")
    return m


def _target(key: str, spec: Any) -> Target:
    if isinstance(spec, str):
        return Target(month=spec)
    if not isinstance(spec, dict):
        raise MappingError(f"indicators.{key}: give an indicator code or a dict with month/ytd/unit/measure")
    unknown = set(spec) - {*_MEASURE_KEYS, "unit", "measure", "code"}
    if unknown:
        raise MappingError(f"indicators.{key}: unknown keys {sorted(unknown)}")
    month = spec.get("month", spec.get("code"))
    return Target(month=month, ytd=spec.get("ytd"), growth_month=spec.get("growth_month"),
                  growth_ytd=spec.get("growth_ytd"),
                  unit=normalise_unit(str(spec["unit"])) if spec.get("unit") else None,
                  measure=_measure(spec.get("measure"), f"indicators.{key}.measure"))


def _entity(key: str, spec: Any) -> EntityRef:
    if isinstance(spec, bool):
        raise MappingError(f"regions.{key}: not an entity")
    if isinstance(spec, int):
        return EntityRef("city", id=spec)
    if isinstance(spec, str):
        if spec == "city":
            return EntityRef("city", id=CITY_ID)
        raise MappingError(f"regions.{key}: write `city`, a number (city id) or a dict {{kind: …, code: …}}")
    if not isinstance(spec, dict) or spec.get("kind") not in ENTITY_KINDS:
        raise MappingError(f"regions.{key}: kind must be one of {', '.join(ENTITY_KINDS)}")
    kind = spec["kind"]
    ref = EntityRef(kind, id=spec.get("id"), code=str(spec["code"]) if spec.get("code") is not None else None,
                    name=spec.get("name"))
    if kind == "city" and ref.id is None:
        ref = EntityRef("city", id=CITY_ID)
    if kind != "city" and ref.id is None and ref.code is None and ref.name is None:
        raise MappingError(f"regions.{key}: a {kind} needs an id, a code or a name")
    return ref


def parse_mapping(doc: dict[str, Any], name: str = "mapping") -> Mapping:
    """A validated Mapping from the YAML document."""
    if not isinstance(doc, dict):
        raise MappingError("the mapping file must be a YAML mapping")
    known = {"name", "source", "layout", "sheet", "header_row", "header_rows", "columns", "ignore_columns",
             "zero_is_missing", "measure", "period", "unit", "indicator", "region", "indicators", "regions",
             "auto_regions", "city_code", "unmapped_indicators", "unmapped_regions", "derive"}
    unknown = set(doc) - known
    if unknown:
        raise MappingError(f"unknown keys in the mapping: {sorted(unknown)}")
    columns = {str(k): str(v) for k, v in (doc.get("columns") or {}).items()}
    bad = set(columns) - set(ROLES)
    if bad:
        raise MappingError(f"columns: unknown roles {sorted(bad)} (roles: {', '.join(ROLES)})")
    period = None
    if doc.get("period") is not None:
        period = parse_period(str(doc["period"]))
        if period is None or period.year is None:
            raise MappingError(f"period: cannot read {doc['period']!r} as a month (e.g. 2021-09, 2021年9月)")
    for k in ("unmapped_indicators", "unmapped_regions"):
        if doc.get(k, "reject") not in ("reject", "ignore"):
            raise MappingError(f"{k}: reject or ignore")
    layout = LayoutOptions(header_row=doc.get("header_row"), header_rows=doc.get("header_rows"), columns=columns,
                           ignore_columns=tuple(str(c) for c in doc.get("ignore_columns") or ()))
    return Mapping(
        name=str(doc.get("name", name)),
        source=str(doc.get("source", "stats"))[:64],
        layout=layout,
        sheet=doc.get("sheet"),
        zero_is_missing=bool(doc.get("zero_is_missing", True)),
        measure=_measure(doc.get("measure"), "measure"),
        period=period,
        unit=normalise_unit(str(doc["unit"])) if doc.get("unit") else None,
        indicator=str(doc["indicator"]) if doc.get("indicator") else None,
        region=str(doc["region"]) if doc.get("region") else None,
        indicators={normalise(str(k)): _target(str(k), v) for k, v in (doc.get("indicators") or {}).items()},
        regions={normalise(str(k)): _entity(str(k), v) for k, v in (doc.get("regions") or {}).items()},
        auto_regions=bool(doc.get("auto_regions", False)),
        city_code=str(doc.get("city_code", "150300")),
        unmapped_indicators=doc.get("unmapped_indicators", "reject"),
        unmapped_regions=doc.get("unmapped_regions", "reject"),
        derive=bool(doc.get("derive", True)),
    )


def load_mapping(path: Path) -> Mapping:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: not valid YAML: {exc}") from exc
    return parse_mapping(doc, name=path.stem)
