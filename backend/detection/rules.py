"""Pure rule checks configured per indicator/entity, and the missing-data check.

Each check takes the current observation (and whatever reference it needs)
and returns a ``Result`` when it fires, or None.  No I/O, no clock: the caller
passes ``now``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

_BEIJING = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Result:
    """One fired check: its name, when, and a sentence for the duty officer in both languages."""

    check: str
    timestamp: dt.datetime
    message_zh: str
    message_en: str


def fmt(x: float) -> str:
    """Number with thousands separators and at most 4 significant decimals (1,234 / 0.0123)."""
    if x != x:  # NaN
        return "—"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:,.2f}".rstrip("0").rstrip(".")
    return f"{x:.4g}"


@dataclass(frozen=True)
class ThresholdRule:
    """Absolute limits: fires when value < lower or value > upper (either may be None)."""

    lower: float | None = None
    upper: float | None = None

    def check(self, timestamp: dt.datetime, value: float) -> Result | None:
        """Result named ``threshold`` when the value is outside [lower, upper]."""
        if self.lower is not None and value < self.lower:
            return Result(
                "threshold",
                timestamp,
                f"低于下限 {fmt(self.lower)}（实际 {fmt(value)}）",
                f"below the lower limit {fmt(self.lower)} (actual {fmt(value)})",
            )
        if self.upper is not None and value > self.upper:
            return Result(
                "threshold",
                timestamp,
                f"高于上限 {fmt(self.upper)}（实际 {fmt(value)}）",
                f"above the upper limit {fmt(self.upper)} (actual {fmt(value)})",
            )
        return None


@dataclass(frozen=True)
class YoYRule:
    """同比 limits in percent: fires when growth over the same period last year is below
    ``min_pct`` or above ``max_pct``."""

    min_pct: float | None = None
    max_pct: float | None = None

    def check(self, timestamp: dt.datetime, value: float, last_year: float | None) -> Result | None:
        """Result named ``yoy``; None when last year's value is unknown or zero."""
        if last_year is None or last_year == 0 or last_year != last_year:
            return None
        growth = (value - last_year) / abs(last_year) * 100.0
        if self.min_pct is not None and growth < self.min_pct:
            return Result(
                "yoy",
                timestamp,
                f"同比 {growth:+.1f}%，低于 {self.min_pct:+.1f}%（去年同期 {fmt(last_year)}）",
                f"year-on-year {growth:+.1f}%, below {self.min_pct:+.1f}% (same period last year {fmt(last_year)})",
            )
        if self.max_pct is not None and growth > self.max_pct:
            return Result(
                "yoy",
                timestamp,
                f"同比 {growth:+.1f}%，高于 {self.max_pct:+.1f}%（去年同期 {fmt(last_year)}）",
                f"year-on-year {growth:+.1f}%, above {self.max_pct:+.1f}% (same period last year {fmt(last_year)})",
            )
        return None


@dataclass(frozen=True)
class TargetRule:
    """Distance from a target: fires when the value falls short of (or, with
    ``two_sided``, also exceeds) ``target`` by more than ``tolerance_pct`` percent."""

    target: float
    tolerance_pct: float
    two_sided: bool = False

    def check(self, timestamp: dt.datetime, value: float) -> Result | None:
        """Result named ``target`` when the gap to the target exceeds the tolerance."""
        if self.target == 0:
            return None
        gap = (value - self.target) / abs(self.target) * 100.0
        if gap < -self.tolerance_pct or (self.two_sided and gap > self.tolerance_pct):
            return Result(
                "target",
                timestamp,
                f"偏离目标 {fmt(self.target)} {gap:+.1f}%（容差 ±{self.tolerance_pct:g}%）",
                f"{gap:+.1f}% from the target {fmt(self.target)} (tolerance ±{self.tolerance_pct:g}%)",
            )
        return None


def missing_data(
    last_seen_at: dt.datetime | None, expected_interval: dt.timedelta, now: dt.datetime, grace: dt.timedelta
) -> Result | None:
    """Result named ``missing`` when no report arrived by its deadline.

    The deadline is last_seen_at + expected_interval + grace; a series never seen
    is not judged here (it has no deadline yet).  ``now`` and ``last_seen_at``
    must both be aware or both naive.
    """
    if last_seen_at is None:
        return None
    deadline = last_seen_at + expected_interval + grace
    if now <= deadline:
        return None
    late = now - deadline
    hours = late.total_seconds() / 3600.0
    if deadline.tzinfo is not None:  # read in Beijing time, as everything else a duty officer reads
        deadline, last_seen_at = deadline.astimezone(_BEIJING), last_seen_at.astimezone(_BEIJING)
    since = deadline.strftime("%Y-%m-%d %H:%M")
    return Result(
        "missing",
        now,
        f"未按时报送：应于 {since} 前报送，已逾期 {hours:.1f} 小时（最近一次 {last_seen_at:%Y-%m-%d %H:%M}）",
        f"no report by {since}: {hours:.1f} h overdue (last seen {last_seen_at:%Y-%m-%d %H:%M})",
    )
