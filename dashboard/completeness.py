"""Pure helpers of the reporting page (报送情况): the order and filter of the completeness list."""

from __future__ import annotations

from dashboard.client import Completeness, CompletenessRow

STATUS_ORDER = {"missing": 0, "late": 1, "pending": 2, "reported": 3}


def ordered(c: Completeness, rstatus: str = "") -> list[CompletenessRow]:
    """Enterprises not yet complete first (未报, then 迟报, 待报), then 已报, by name; only those
    with status `rstatus` when given."""
    rows = [e for e in c.enterprises if not rstatus or e.status == rstatus]
    return sorted(rows, key=lambda e: (STATUS_ORDER.get(e.status, 9), e.name_zh))
