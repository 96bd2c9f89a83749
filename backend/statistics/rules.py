"""Pure rules of the statistics import: each cell of a table -> a value to store in one
of our series, a rejection with its reason, or "not published"; then month <-> year-to-date
derivation. No database: the catalogue, unit table and registry come in as dicts.

Storage decisions (documented in docs/statistics-import.md):
- month values (当月) go to the mapped indicator (e.g. econ.value_added), year-to-date values
  (累计) to its YTD twin (econ.value_added.ytd), each at the first instant of the month
  (local time) the period ends in;
- 1-2月 published together: the Jan-Feb figure is the February year-to-date value; January's
  and February's month values stay empty unless published on their own. A 1-2月 growth rate
  is the February year-to-date growth;
- within one file, for additive indicators (agg_time sum), a missing month value is derived
  as YTD(m) - YTD(m-1) (January: YTD(1)) and a missing YTD as YTD(m-1) + month(m); derived
  values carry quality 1 (estimated) and never replace a published value.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from backend.catalogue.service import UnitError, conversion_factor
from backend.statistics.layout import Cell, Context, Table
from backend.statistics.mapping import CITY_ID, EntityRef, Mapping, Target
from backend.statistics.parsing import (
    Measure,
    NumberError,
    Period,
    normalise,
    normalise_unit,
    parse_measure,
    parse_number,
    parse_period,
    remove_periods,
    split_label,
)
from backend.statistics.regions import province_code

QUALITY_PUBLISHED = 0
QUALITY_DERIVED = 1


@dataclass(frozen=True)
class IndicatorInfo:
    unit_code: str
    frequency: str
    agg_time: str


@dataclass(frozen=True)
class RegistryIndex:
    """Registry lookups the rules need: codes and names -> ids."""

    districts_by_code: dict[str, int] = field(default_factory=dict)
    districts_by_name: dict[str, int] = field(default_factory=dict)
    parks_by_code: dict[str, int] = field(default_factory=dict)
    parks_by_name: dict[str, int] = field(default_factory=dict)
    enterprises_by_uscc: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Fact:
    indicator_code: str
    entity_kind: str
    entity_id: int
    year: int
    month: int
    value: float  # in the indicator's storage unit
    measure: Measure
    location: str  # cell (e.g. D7), or "derived"
    quality: int = QUALITY_PUBLISHED
    note: str = ""

    @property
    def key(self) -> tuple[str, str, int, int, int]:
        return (self.indicator_code, self.entity_kind, self.entity_id, self.year, self.month)

    def time(self, tz: str) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=ZoneInfo(tz))


@dataclass(frozen=True)
class Rejection:
    location: str
    row: int
    reason: str
    raw: str


@dataclass
class Plan:
    facts: list[Fact] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    not_published: int = 0
    ignored: dict[str, int] = field(default_factory=dict)  # reason -> cells
    warnings: list[str] = field(default_factory=list)

    @property
    def published(self) -> list[Fact]:
        return [f for f in self.facts if f.quality == QUALITY_PUBLISHED]

    @property
    def derived(self) -> list[Fact]:
        return [f for f in self.facts if f.quality == QUALITY_DERIVED]


def _clean(v: float) -> float:
    """12 significant digits: 520.3 亿千瓦时 is 52,030,000,000 kWh, not 52,029,999,999.99999."""
    return float(f"{v:.12g}")


class _Reject(Exception):
    pass


class _Ignore(Exception):
    pass


def _strip_item(text: str) -> str:
    t = normalise(text)
    for prefix in ("其中:", "其中：", "其中", "#", "△", "▲", "*"):
        if t.startswith(prefix) and len(t) > len(prefix):
            t = t[len(prefix):]
    return t


def _target(cell: Cell, ctx: Context, mapping: Mapping) -> tuple[Target, str, str | None, Measure | None]:
    """The mapping target, the file's name for the indicator, the unit in its label and
    the measure its label names."""
    candidates: list[str] = []
    label_text = cell.indicator or ctx.indicator or mapping.indicator or ""
    if not cell.indicator and not cell.indicator_code and not ctx.indicator and not mapping.indicator \
            and parse_period(cell.header) is None:
        label_text = cell.header  # a table of periods by indicator columns
    label = split_label(_strip_item(label_text)) if label_text else None
    if cell.indicator_code:
        candidates.append(normalise(cell.indicator_code))
    if label:
        candidates += [label.full, label.base]
    for c in candidates:
        if c and c in mapping.indicators:
            return mapping.indicators[c], c, label.unit if label else None, label.measure if label else None
    shown = cell.indicator_code or label_text or "(无)"
    if mapping.unmapped_indicators == "ignore":
        raise _Ignore(f"指标未映射 / indicator not in mapping: {shown}")
    raise _Reject(f"指标未映射 / indicator not in mapping: {shown}")


def _entity(cell: Cell, ctx: Context, mapping: Mapping, reg: RegistryIndex) -> tuple[str, int]:
    keys = [k for k in (cell.region_code, cell.region, ctx.region, mapping.region) if k]
    if not keys:
        raise _Reject("缺少地区，且映射未给出默认地区 / no region in the file and no `region` in the mapping")
    for k in keys:
        ref = mapping.regions.get(normalise(k))
        if ref is not None:
            return _resolve(ref, reg, k)
    if mapping.auto_regions:
        for k in keys:
            code = normalise(k) if normalise(k).isdigit() else province_code(k)
            if code is None and normalise(k) in reg.districts_by_name:
                return "district", reg.districts_by_name[normalise(k)]
            if code is None:
                continue
            code = code.ljust(6, "0")[:6] if len(code) in (2, 4) else code
            if code == mapping.city_code:
                return "city", CITY_ID
            if code in reg.districts_by_code:
                return "district", reg.districts_by_code[code]
            if len(code) == 6 and int(code) != CITY_ID:  # 全国 (000000) must not become Wuhai (id 0)
                return "city", int(code)
    shown = " / ".join(keys[:2])
    if mapping.unmapped_regions == "ignore":
        raise _Ignore(f"地区未映射 / region not in mapping: {shown}")
    raise _Reject(f"地区未映射 / region not in mapping: {shown}")


def _resolve(ref: EntityRef, reg: RegistryIndex, shown: str) -> tuple[str, int]:
    if ref.id is not None:
        return ref.kind, int(ref.id)
    table = {"district": (reg.districts_by_code, reg.districts_by_name),
             "park": (reg.parks_by_code, reg.parks_by_name),
             "enterprise": (reg.enterprises_by_uscc, {})}[ref.kind]
    if ref.code is not None and ref.code in table[0]:
        return ref.kind, table[0][ref.code]
    if ref.name is not None and normalise(ref.name) in table[1]:
        return ref.kind, table[1][normalise(ref.name)]
    raise _Reject(f"映射中的{ref.kind}不在名录中 / mapped {ref.kind} {ref.code or ref.name} for {shown} "
                  "is not in the registry")


def _period(cell: Cell, ctx: Context, mapping: Mapping) -> Period:
    year = ctx.year or (mapping.period.year if mapping.period else None)
    if cell.period:
        p = parse_period(cell.period, year)
        if p is None:
            raise _Reject(f"无法识别时间 / cannot read the period {cell.period!r}")
    else:
        p = parse_period(cell.header, year) if cell.header else None
        if p is None:
            p = mapping.period or (parse_period(ctx.period, year) if ctx.period else None)
    if p is None:
        raise _Reject("缺少时间 / no period in the row, the header, the title or the mapping")
    if p.year is None:
        raise _Reject(f"时间缺少年份 / period without a year: {p} (set `period` in the mapping)")
    return p


def _measure(cell: Cell, target: Target, label_measure: Measure | None, mapping: Mapping, period: Period) -> Measure:
    for text in (cell.measure, remove_periods(cell.header)):
        m = parse_measure(text) if text else None
        if m is not None:
            return m
    if cell.measure:
        raise _Reject(f"无法识别口径 / cannot read the measure {cell.measure!r} (当月/累计)")
    for m in (label_measure, target.measure, mapping.measure):
        if m is not None:
            return m
    if period.is_range:
        return Measure.YTD
    if target.month and not (target.ytd or target.growth_month or target.growth_ytd):
        return Measure.MONTH
    raise _Reject("无法判断当月值或累计值 / cannot tell month from year-to-date: name it in the file or set "
                  "`measure` in the mapping")


def _store_as(measure: Measure, period: Period) -> tuple[Measure, int, str]:
    """Which series and month a (measure, period) is stored as, and a note."""
    if not period.is_range:
        return measure, period.last, ""
    if period.first != 1:
        raise _Reject(f"不支持的时间段 / a period of several months must start in January: {period}")
    if measure is Measure.MONTH:
        if period.last != 2:
            raise _Reject(f"当月值的时间跨多个月 / a month value for {period}")
        return Measure.YTD, 2, "1-2月合计，存为2月累计值 / Jan-Feb published together: stored as February YTD"
    if measure is Measure.GROWTH_MONTH:
        return Measure.GROWTH_YTD, period.last, "1-2月增速，存为2月累计增速 / Jan-Feb growth stored as YTD growth"
    return measure, period.last, ""


def _unit(cell: Cell, label_unit: str | None, ctx: Context, target: Target, mapping: Mapping) -> str | None:
    header_label = split_label(cell.header)
    for u in (cell.unit, label_unit, header_label.unit, ctx.unit, target.unit, mapping.unit):
        if u:
            n = normalise_unit(u)
            if n:
                return n
    return None


def interpret_cell(cell: Cell, ctx: Context, mapping: Mapping, catalogue: dict[str, IndicatorInfo],
                   units: dict[str, tuple[str, float]], reg: RegistryIndex) -> Fact | None:
    """The fact one cell publishes, or None when it publishes nothing (blank, 0, "-").
    Raises _Reject / _Ignore with the reason."""
    try:
        value = parse_number(cell.value, zero_is_missing=mapping.zero_is_missing)
    except NumberError as exc:
        raise _Reject(str(exc)) from exc
    if value is None:
        return None
    target, _key, label_unit, label_measure = _target(cell, ctx, mapping)
    period = _period(cell, ctx, mapping)
    measure = _measure(cell, target, label_measure, mapping, period)
    if measure is Measure.OTHER:
        raise _Ignore(f"非当月/累计数据列 / not a month or YTD column: {cell.header or cell.measure}")
    stored_measure, month, note = _store_as(measure, period)
    code = target.code_for(stored_measure)
    if code is None and stored_measure is Measure.YTD and target.month and f"{target.month}.ytd" in catalogue:
        code = f"{target.month}.ytd"
    if code is None:
        if stored_measure in (Measure.GROWTH_MONTH, Measure.GROWTH_YTD):
            raise _Ignore(f"增速未映射 / growth rates not mapped ({stored_measure.value})")
        raise _Reject(f"映射未给出{stored_measure.value}指标 / the mapping has no {stored_measure.value} "
                      f"indicator for this row" + (f" ({note})" if note else ""))
    info = catalogue[code]
    unit = _unit(cell, label_unit, ctx, target, mapping)
    if unit is None:
        if stored_measure in (Measure.GROWTH_MONTH, Measure.GROWTH_YTD):
            unit = "%"
        else:
            raise _Reject("缺少单位 / no unit in the file: give it in the mapping (unit, or indicators.X.unit)")
    try:
        factor = conversion_factor(units, unit, info.unit_code)
    except UnitError as exc:
        raise _Reject(str(exc)) from exc
    kind, entity_id = _entity(cell, ctx, mapping, reg)
    assert period.year is not None
    return Fact(code, kind, entity_id, period.year, month, _clean(value * factor), stored_measure, cell.location,
                QUALITY_PUBLISHED, note)


def plan_import(table: Table, mapping: Mapping, catalogue: dict[str, IndicatorInfo],
                units: dict[str, tuple[str, float]], reg: RegistryIndex) -> Plan:
    """Interpret every cell; conflicting duplicates are rejected; then derive."""
    plan = Plan()
    seen: dict[tuple[str, str, int, int, int], Fact] = {}
    for cell in table.cells:
        try:
            fact = interpret_cell(cell, table.context, mapping, catalogue, units, reg)
        except _Ignore as exc:
            plan.ignored[str(exc)] = plan.ignored.get(str(exc), 0) + 1
            continue
        except _Reject as exc:
            plan.rejections.append(Rejection(cell.location, cell.row, str(exc), _raw(cell)))
            continue
        if fact is None:
            plan.not_published += 1
            continue
        first = seen.get(fact.key)
        if first is not None:
            if abs(first.value - fact.value) > 1e-9 * max(1.0, abs(first.value)):
                plan.rejections.append(Rejection(
                    cell.location, cell.row, f"与{first.location}同一指标同一时间但数值不同 / conflicts with "
                    f"{first.location}: same series and month, different value ({first.value:g} vs {fact.value:g})",
                    _raw(cell)))
            continue
        seen[fact.key] = fact
        plan.facts.append(fact)
    if mapping.derive:
        derived, warnings = derive(plan.facts, mapping, catalogue)
        plan.facts.extend(derived)
        plan.warnings.extend(warnings)
    return plan


def _raw(cell: Cell) -> str:
    return f"[{cell.header}] {cell.value.strip()} ← {cell.raw}"


def _pairs(mapping: Mapping, catalogue: dict[str, IndicatorInfo]) -> dict[str, str]:
    """month code -> YTD code, for additive indicators of the mapping."""
    out: dict[str, str] = {}
    for t in mapping.indicators.values():
        if not t.month:
            continue
        ytd = t.ytd or (f"{t.month}.ytd" if f"{t.month}.ytd" in catalogue else None)
        if ytd and catalogue.get(t.month) and catalogue[t.month].agg_time == "sum":
            out[t.month] = ytd
    return out


def derive(facts: list[Fact], mapping: Mapping, catalogue: dict[str, IndicatorInfo]) -> tuple[list[Fact], list[str]]:
    """Month values from year-to-date values and back, within the facts given (one
    year at a time; YTD restarts in January). Published values are never overwritten."""
    pairs = _pairs(mapping, catalogue)
    ytd_to_month = {y: m for m, y in pairs.items()}
    groups: dict[tuple[str, str, int, int], tuple[dict[int, float], dict[int, float]]] = defaultdict(
        lambda: ({}, {}))
    for f in facts:
        if f.indicator_code in pairs:
            groups[(f.indicator_code, f.entity_kind, f.entity_id, f.year)][0][f.month] = f.value
        elif f.indicator_code in ytd_to_month:
            groups[(ytd_to_month[f.indicator_code], f.entity_kind, f.entity_id, f.year)][1][f.month] = f.value
    out: list[Fact] = []
    warnings: list[str] = []
    for (code, kind, eid, year), (mon, ytd) in sorted(groups.items()):
        mon, ytd = dict(mon), dict(ytd)
        for m in range(1, 13):
            if m not in mon:
                v = None
                if m == 1 and 1 in ytd:
                    v = ytd[1]
                elif m in ytd and (m - 1) in ytd:
                    v = _clean(ytd[m] - ytd[m - 1])
                if v is not None:
                    if v < 0:
                        warnings.append(f"{code} {kind}:{eid} {year}-{m:02d}: 累计值下降，不推算当月值 / YTD falls, "
                                        f"month value not derived ({v:g})")
                    else:
                        mon[m] = v
                        out.append(Fact(code, kind, eid, year, m, v, Measure.MONTH, "derived", QUALITY_DERIVED,
                                        "由累计值推算 / derived from YTD"))
            if m not in ytd:
                v = None
                if m == 1 and 1 in mon:
                    v = mon[1]
                elif m in mon and (m - 1) in ytd:
                    v = _clean(ytd[m - 1] + mon[m])
                if v is not None:
                    ytd[m] = v
                    out.append(Fact(pairs[code], kind, eid, year, m, v, Measure.YTD, "derived", QUALITY_DERIVED,
                                    "由当月值推算 / derived from month values"))
    return out, warnings
