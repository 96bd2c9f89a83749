"""Pure rules of enterprise direct reporting (企业直报): deadlines, value validation, review
flags and completeness. No I/O: every function here has its own unit tests.

- A value is *rejected* when it cannot be right: not a number, a unit of another
  dimension, outside the plausible range for its indicator.
- A value is *flagged for review* (accepted, stored with quality 2 "suspect") when it may be
  right but needs a look: a jump against the enterprise's own previous month (环比), value
  added above gross output, or a mismatch with the electricity the enterprise used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from backend.catalogue.service import UnitError, conversion_factor
from backend.statistics.parsing import NumberError, normalise, normalise_unit, parse_number, parse_period

# The monthly indicators enterprises report, in the order of the reporting form.
REPORTED: tuple[str, ...] = ("econ.gross_output", "econ.revenue", "econ.value_added", "energy.consumption",
                             "econ.main_product_output")

# Plausible range per indicator, in its storage unit (万元, tce, t). Wuhai's largest
# enterprises report gross output in the low billions of yuan a month; these bounds are
# two orders of magnitude wider and exist to catch unit and typing mistakes.
RANGES: dict[str, tuple[float, float]] = {
    "econ.gross_output": (0.0, 1e7),  # 万元: up to 100 bn yuan a month
    "econ.revenue": (0.0, 1e7),
    "econ.value_added": (-1e6, 1e7),  # a loss-making month can have negative value added
    "energy.consumption": (0.0, 1e7),  # tce
    "econ.main_product_output": (0.0, 1e8),  # t
}

# Names on reporting forms -> indicator code.
NAMES: dict[str, str] = {
    "工业总产值": "econ.gross_output", "总产值": "econ.gross_output", "工业总产值(当年价格)": "econ.gross_output",
    "营业收入": "econ.revenue", "主营业务收入": "econ.revenue",
    "工业增加值": "econ.value_added", "增加值": "econ.value_added",
    "综合能源消费量": "energy.consumption", "综合能耗": "energy.consumption", "能源消费量": "energy.consumption",
    "主要产品产量": "econ.main_product_output", "产品产量": "econ.main_product_output",
}

# Electricity converted to standard coal at its calorific equivalent (当量值): 0.1229 kgce/kWh.
KGCE_PER_KWH = 0.1229

QUALITY_OK = 0
QUALITY_SUSPECT = 2


class Rule(StrEnum):
    MOM_JUMP = "mom_jump"  # 环比异常
    VALUE_ADDED_ABOVE_OUTPUT = "va_above_output"  # 增加值大于总产值
    ENERGY_BELOW_ELECTRICITY = "energy_below_power"  # 综合能耗低于用电折标量
    POWER_INTENSITY = "power_intensity"  # 单位产出用电量突变
    OUTPUT_WITHOUT_POWER = "output_without_power"  # 有产出但无用电


class Status(StrEnum):
    REPORTED = "reported"  # 已报: complete by the deadline
    LATE = "late"  # 迟报: complete after the deadline
    MISSING = "missing"  # 未报: deadline passed, not complete
    PENDING = "pending"  # 待报: before the deadline, not complete yet


STATUS_ZH = {Status.REPORTED: "已报", Status.LATE: "迟报", Status.MISSING: "未报", Status.PENDING: "待报"}


class ReportError(ValueError):
    """A value or row that cannot be stored; the message is the reason (Chinese / English)."""


def indicator_code(text: str) -> str | None:
    """The indicator a form label or code names ("工业总产值（万元）", "econ.revenue")."""
    t = normalise(text)
    if t in REPORTED:
        return t
    base = t.split("(")[0]
    return NAMES.get(t) or NAMES.get(base)


def month_of(text: str) -> date:
    """The reporting month written as 2026-10, 202610 or 2026年10月."""
    p = parse_period(text)
    if p is None or p.year is None or p.is_range:
        raise ReportError(f"无法识别报告期 / cannot read the reporting month {text!r} (write 2026-10)")
    return date(p.year, p.last, 1)


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def default_due_at(month: date, deadline_day: int, tz: str) -> datetime:
    """Reports for `month` are due by the end of day `deadline_day` of the next month, local time."""
    nm = next_month(month)
    return datetime.combine(date(nm.year, nm.month, deadline_day) + timedelta(days=1), time(), ZoneInfo(tz))


def check_month_closed(month: date, now: datetime, tz: str) -> None:
    """A month can be reported once it has ended (local time)."""
    if datetime.combine(next_month(month), time(), ZoneInfo(tz)) > now:
        raise ReportError(f"报告期尚未结束 / {month:%Y-%m} has not ended yet")


def validate_value(code: str, value: object, unit: str | None, storage_unit: str,
                   units: dict[str, tuple[str, float]]) -> float:
    """The value in the indicator's storage unit, or ReportError with the reason."""
    if code not in RANGES:
        raise ReportError(f"不是直报指标 / {code} is not reported directly (reported: {', '.join(REPORTED)})")
    if isinstance(value, bool):
        raise ReportError(f"不是数字 / not a number: {value!r}")
    if isinstance(value, int | float):
        v: float | None = float(value)
    else:
        try:
            v = parse_number(str(value), zero_is_missing=False)
        except NumberError as exc:
            raise ReportError(str(exc)) from exc
    if v is None:
        raise ReportError(f"数值为空 / no value given for {code}")
    if not math.isfinite(v):
        raise ReportError(f"不是有限数 / not a finite number: {value!r}")
    u = normalise_unit(unit) if unit else None
    try:
        factor = conversion_factor(units, u or storage_unit, storage_unit)
    except UnitError as exc:
        raise ReportError(str(exc)) from exc
    stored = float(f"{v * factor:.12g}")
    lo, hi = RANGES[code]
    if not lo <= stored <= hi:
        raise ReportError(f"超出合理范围 / {code} = {stored:g} {storage_unit} is outside [{lo:g}, {hi:g}]: "
                          "check the unit and the figure")
    return stored


@dataclass(frozen=True)
class Flag:
    indicator_code: str
    rule: Rule
    message: str  # Chinese / English
    detail: dict[str, float | None] = field(default_factory=dict)


def review_flags(current: dict[str, float], previous: dict[str, float], power_kwh: float | None,
                 previous_power_kwh: float | None, *, jump_ratio: float, power_ratio: float) -> list[Flag]:
    """Flags for one enterprise-month. `current` holds this month's values (all reported so
    far), `previous` last month's; power is the month's metered electricity (None when the
    enterprise has no metering)."""
    flags: list[Flag] = []
    for code, v in current.items():
        prev = previous.get(code)
        if prev is not None and prev > 0:
            change = v / prev - 1
            if abs(change) > jump_ratio:
                flags.append(Flag(code, Rule.MOM_JUMP,
                                  f"环比{change:+.0%}，超过±{jump_ratio:.0%} / month-on-month {change:+.0%}, beyond "
                                  f"±{jump_ratio:.0%}", {"value": v, "previous": prev, "change": change}))
    gross, va = current.get("econ.gross_output"), current.get("econ.value_added")
    if gross is not None and va is not None and va > gross:
        flags.append(Flag("econ.value_added", Rule.VALUE_ADDED_ABOVE_OUTPUT,
                          "工业增加值大于工业总产值 / value added exceeds gross output",
                          {"value": va, "gross_output": gross}))
    energy = current.get("energy.consumption")
    if energy is not None and power_kwh is not None and power_kwh > 0:
        power_tce = power_kwh * KGCE_PER_KWH / 1000
        if energy < power_tce:
            flags.append(Flag("energy.consumption", Rule.ENERGY_BELOW_ELECTRICITY,
                              f"综合能耗低于用电量折标煤（{power_tce:,.1f}吨标准煤） / energy consumption is below "
                              f"the electricity it metered ({power_tce:,.1f} tce)",
                              {"value": energy, "power_kwh": power_kwh, "power_tce": power_tce}))
    for code in ("econ.main_product_output", "econ.gross_output"):
        out = current.get(code)
        if out is None or power_kwh is None:
            continue
        v = out
        if v > 0 and power_kwh == 0:
            flags.append(Flag(code, Rule.OUTPUT_WITHOUT_POWER, "有产出但当月用电量为零 / output reported but no "
                              "electricity metered this month", {"value": v, "power_kwh": 0.0}))
            continue
        prev = previous.get(code)
        if v > 0 and prev and prev > 0 and previous_power_kwh and previous_power_kwh > 0 and power_kwh > 0:
            intensity, prev_intensity = power_kwh / v, previous_power_kwh / prev
            change = intensity / prev_intensity - 1
            if abs(change) > power_ratio:
                flags.append(Flag(code, Rule.POWER_INTENSITY,
                                  f"单位产出用电量环比{change:+.0%}，与用电不匹配 / electricity per unit of output "
                                  f"{change:+.0%} against last month: output and power use disagree",
                                  {"value": v, "power_kwh": power_kwh, "intensity": intensity,
                                   "previous_intensity": prev_intensity, "change": change}))
    return flags


def classify(completed_at: datetime | None, due_at: datetime, now: datetime) -> Status:
    """已报 / 迟报 / 未报 / 待报 for one enterprise and month. `completed_at` is when the last of
    the required indicators was first submitted (None: not all submitted yet)."""
    if completed_at is not None:
        return Status.REPORTED if completed_at < due_at else Status.LATE
    return Status.MISSING if now >= due_at else Status.PENDING


def completed_at(first_submitted: dict[str, datetime], required: tuple[str, ...] = REPORTED) -> datetime | None:
    """When the report became complete: the latest first-submission among the required
    indicators, or None if one is still missing."""
    if any(code not in first_submitted for code in required):
        return None
    return max(first_submitted[code] for code in required)
