"""How numbers, growth rates and times are written for Chinese (and English) readers.

- Large values in 万 (10^4) and 亿 (10^8) in Chinese; k / M / B in English.
- Growth as a signed percentage with one decimal: +3.2% / -0.4%.
- Times in Asia/Shanghai.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
DASH = "—"


def _finite(v: float | None) -> bool:
    return v is not None and not (isinstance(v, float) and (math.isnan(v) or math.isinf(v)))


def number(value: float | None, lang: str = "zh", unit: str = "") -> str:
    """`123456789` → `1.23亿` (zh) / `123.5M` (en); small values with at most two decimals. A unit
    follows directly in Chinese (`5,180万千瓦时`) and after a space in English (`19.02M kWh`)."""
    if not _finite(value):
        return DASH
    assert value is not None
    a = abs(value)
    steps: tuple[tuple[float, str], ...]
    if lang == "en":
        steps = ((1e9, "B"), (1e6, "M"), (1e3, "k"))
    else:
        steps = ((1e8, "亿"), (1e4, "万"))
    if unit and lang == "en":
        unit = " " + unit
    for size, suffix in steps:
        if a >= size:
            scaled = value / size
            digits = 2 if abs(scaled) < 100 else 1 if abs(scaled) < 1000 else 0
            text = f"{scaled:,.{digits}f}"
            return f"{text}{suffix}{unit}"
    if a >= 100 or value == int(value):
        return f"{value:,.0f}{unit}"
    return f"{value:,.2f}{unit}"


def growth(pct: float | None) -> str:
    """A growth rate in percent, signed, one decimal: `+3.2%`, `-0.4%`, `0.0%`."""
    if not _finite(pct):
        return DASH
    assert pct is not None
    rounded = round(pct, 1)
    if rounded == 0:
        return "0.0%"
    return f"{rounded:+.1f}%"


def growth_class(pct: float | None, good_direction: str = "up") -> str:
    """CSS class for a growth rate: `good`, `bad` or `flat` (direction-aware)."""
    if not _finite(pct) or good_direction == "none":
        return "flat"
    assert pct is not None
    if round(pct, 1) == 0:
        return "flat"
    up = pct > 0
    return "good" if up == (good_direction == "up") else "bad"


def local_time(at: datetime | None, with_seconds: bool = False) -> str:
    """A timestamp as local (Asia/Shanghai) wall time, `2024-05-03 14:05`."""
    if at is None:
        return DASH
    if at.tzinfo is None:
        raise ValueError("naive datetime: the dashboard only formats aware times")
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def local_day(d: date | datetime | None) -> str:
    if d is None:
        return DASH
    if isinstance(d, datetime):
        return d.astimezone(SHANGHAI).date().isoformat()
    return d.isoformat()


def duration(seconds: float | None, lang: str = "zh") -> str:
    """A lag or delay: `3分钟` / `2小时` / `1.5天` (zh); `3 min` / `2 h` / `1.5 d` (en)."""
    if not _finite(seconds):
        return DASH
    assert seconds is not None
    s = max(0.0, seconds)
    if s < 60:
        return f"{s:.0f}秒" if lang != "en" else f"{s:.0f} s"
    if s < 3600:
        return f"{s / 60:.0f}分钟" if lang != "en" else f"{s / 60:.0f} min"
    if s < 86400:
        h = s / 3600
        return (f"{h:.1f}小时" if lang != "en" else f"{h:.1f} h").replace(".0", "")
    d = s / 86400
    return (f"{d:.1f}天" if lang != "en" else f"{d:.1f} d").replace(".0", "")


def now_local() -> datetime:
    return datetime.now(SHANGHAI)
