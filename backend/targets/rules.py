"""Pure rules for target progress."""

from __future__ import annotations

BEHIND_MARGIN_PP = 2.0

STATUS_ZH = {"on_track": "达到目标进度", "behind": "略低于目标", "far_behind": "明显低于目标", "no_data": "暂无数据"}


def status(actual_pct: float | None, target_pct: float) -> str:
    """on_track when the growth so far meets the target, behind within 2 points, else far_behind."""
    if actual_pct is None:
        return "no_data"
    if actual_pct >= target_pct:
        return "on_track"
    if actual_pct >= target_pct - BEHIND_MARGIN_PP:
        return "behind"
    return "far_behind"


def required_total(last_year_total: float | None, target_pct: float) -> float | None:
    if last_year_total is None:
        return None
    return last_year_total * (1 + target_pct / 100.0)
