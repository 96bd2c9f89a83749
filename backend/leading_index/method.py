"""The leading-indicator index method (先行指标指数), pure: monthly values in, index out.

Documented in docs/leading-index.md. Steps, for one place (city or district):

1. **Seasonal adjustment** of each indicator's monthly values by ratio to a centred 12-month
   moving average (classical multiplicative decomposition): a factor per calendar month, the
   mean over the years of value / moving average, normalised to average 1; the adjusted value
   is value / factor. With fewer than 24 months there is nothing to estimate factors from and
   the values are used as they are (flagged `seasonally_adjusted = false`).
2. **Monthly change**, symmetric: c = 200 × (x_t − x_{t−1}) / (x_t + x_{t−1}) (in %, bounded,
   defined for zero).
3. **Direction**: an indicator whose good direction is `down` has its change negated; `none`
   indicators (e.g. coal stocks) are not used.
4. **Standardisation**: each indicator's changes are divided by their mean absolute value over
   the window, so a volatile indicator does not dominate.
5. **Composite index**: the weighted mean of the standardised changes, C_t, is chained into an
   index, I_t = I_{t−1} × (200 + C_t) / (200 − C_t), with I = 100 in the first month (base).
6. **Diffusion index**: the weighted share of indicators rising this month (a flat one counts
   half), × 100; above 50 more indicators are improving than worsening.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np

MIN_MONTHS_FOR_SA = 24


@dataclass(frozen=True)
class Component:
    code: str
    weight: float
    direction: int  # +1 up is good, -1 down is good
    values: Mapping[date, float]  # month (1st) -> value


@dataclass
class IndexPoint:
    month: date
    composite: float
    diffusion: float | None
    n_indicators: int
    changes: dict[str, float] = field(default_factory=dict)  # standardised, direction-adjusted


@dataclass
class IndexResult:
    points: list[IndexPoint]
    seasonally_adjusted: dict[str, bool]


def seasonal_adjust(months: list[date], values: np.ndarray) -> tuple[np.ndarray, bool]:
    """Ratio-to-moving-average seasonal adjustment of a monthly series without gaps."""
    n = len(values)
    if n < MIN_MONTHS_FOR_SA or np.any(values <= 0):
        return values.copy(), False
    # centred 2x12 moving average
    kernel = np.r_[0.5, np.ones(11), 0.5] / 12.0
    ma = np.full(n, np.nan)
    ma[6:n - 6] = np.convolve(values, kernel, mode="valid")
    ratios: dict[int, list[float]] = {m: [] for m in range(1, 13)}
    for i, d in enumerate(months):
        if not np.isnan(ma[i]) and ma[i] > 0:
            ratios[d.month].append(values[i] / ma[i])
    if any(not r for r in ratios.values()):
        return values.copy(), False
    factors = {m: float(np.mean(r)) for m, r in ratios.items()}
    mean_f = float(np.mean(list(factors.values())))
    factors = {m: f / mean_f for m, f in factors.items()}
    return np.array([values[i] / factors[d.month] for i, d in enumerate(months)]), True


def symmetric_change(x: np.ndarray) -> np.ndarray:
    """200 × (x_t − x_{t−1}) / (|x_t| + |x_{t−1}|); NaN for the first month; 0 when both are 0."""
    out = np.full(len(x), np.nan)
    prev, cur = x[:-1], x[1:]
    den = np.abs(cur) + np.abs(prev)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[1:] = np.where(den > 0, 200.0 * (cur - prev) / den, 0.0)
    return out


def _contiguous(values: Mapping[date, float]) -> tuple[list[date], np.ndarray] | None:
    """The longest run of consecutive months at the end of the series."""
    if not values:
        return None
    months = sorted(values)
    run = [months[-1]]
    for d in reversed(months[:-1]):
        prev = run[0]
        expected = date(prev.year - 1, 12, 1) if prev.month == 1 else date(prev.year, prev.month - 1, 1)
        if d != expected:
            break
        run.insert(0, d)
    return run, np.array([values[d] for d in run], dtype=float)


def composite(components: list[Component], months: list[date]) -> IndexResult:
    """The composite and diffusion indices over `months` (consecutive 1sts of months)."""
    changes: dict[str, dict[date, float]] = {}
    adjusted: dict[str, bool] = {}
    weights: dict[str, float] = {}
    for comp in components:
        if comp.weight <= 0 or comp.direction == 0:
            continue
        run = _contiguous({k: v for k, v in comp.values.items() if k <= months[-1]}) if months else None
        if run is None or len(run[0]) < 2:
            continue
        run_months, vals = run
        sa, ok = seasonal_adjust(run_months, vals)
        c = symmetric_change(sa) * comp.direction
        window = [i for i, d in enumerate(run_months) if d in set(months) and not np.isnan(c[i])]
        if not window:
            continue
        scale = float(np.mean(np.abs(c[window])))
        std = c / scale if scale > 0 else c * 0.0
        changes[comp.code] = {run_months[i]: float(std[i]) for i in window}
        adjusted[comp.code] = ok
        weights[comp.code] = comp.weight
    points: list[IndexPoint] = []
    level = 100.0
    for i, m in enumerate(months):
        present = {code: ch[m] for code, ch in changes.items() if m in ch}
        if i == 0:
            points.append(IndexPoint(m, 100.0, None, len(present), present))
            continue
        if not present:
            points.append(IndexPoint(m, level, None, 0, {}))
            continue
        wsum = sum(weights[c] for c in present)
        c_t = sum(weights[c] * v for c, v in present.items()) / wsum
        c_t = max(min(c_t, 199.0), -199.0)
        level = level * (200.0 + c_t) / (200.0 - c_t)
        rising = sum(weights[c] * (1.0 if v > 0 else 0.5 if v == 0 else 0.0) for c, v in present.items())
        points.append(IndexPoint(m, level, 100.0 * rising / wsum, len(present), present))
    return IndexResult(points, adjusted)


@dataclass(frozen=True)
class Evaluation:
    grade: str  # good | fair | weak | no_data
    grade_zh: str
    composite_change_3m_pct: float | None
    diffusion: float | None


GRADES_ZH = {"good": "好", "fair": "中", "weak": "差", "no_data": "暂无数据"}


def evaluate(points: list[IndexPoint]) -> Evaluation:
    """调度评价 for the latest month: `good` when the composite rose over three months and the
    diffusion index is at least 50; `weak` when the composite fell over three months and the
    diffusion index is below 50; `fair` otherwise."""
    usable = [p for p in points if p.n_indicators > 0 and p.diffusion is not None]
    if not usable or len(points) < 4:
        return Evaluation("no_data", GRADES_ZH["no_data"], None, usable[-1].diffusion if usable else None)
    last, before = points[-1], points[-4]
    change = (last.composite / before.composite - 1.0) * 100.0
    di = last.diffusion
    if di is None:
        grade = "no_data"
    elif change > 0 and di >= 50:
        grade = "good"
    elif change < 0 and di < 50:
        grade = "weak"
    else:
        grade = "fair"
    return Evaluation(grade, GRADES_ZH[grade], change, di)
