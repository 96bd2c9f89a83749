"""The view state every page shares, kept in the query string so a URL can be shared.

`ViewState.from_query(kwargs)` reads what Dash Pages passes to `layout(**kwargs)`;
`to_query()` writes it back (only non-default values, in a stable order). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

RANGES = ("7d", "30d", "90d", "1y", "ytd", "custom")
GRANULARITIES = ("hour", "day", "week", "month", "quarter", "year")
FAMILIES = ("coal", "power", "oil", "gas", "transport")


@dataclass(frozen=True)
class ViewState:
    lang: str = "zh"
    range: str = "90d"
    start: str = ""  # ISO dates, used when range == "custom"
    end: str = ""
    gran: str = "day"
    district: str = ""  # district code
    park: str = ""  # park code
    industry: str = ""  # industry group code
    indicator: str = ""  # indicator code
    compare: str = ""  # comma-separated district or park codes shown side by side
    screen: str = ""  # "big" for the wall screen
    period: str = ""  # a bucket's start (ISO), for the drill-down
    alevel: str = ""  # alert desk: warning level filter
    astate: str = ""  # alert desk: state filter ("" = still active: open, acknowledged, escalated)
    rstatus: str = ""  # reporting: completeness status filter ("" = every status)
    pg: str = "1"  # the page of a long list (reporting), from 1

    @classmethod
    def from_query(cls, params: dict[str, Any]) -> ViewState:
        """Tolerant: unknown keys are ignored, invalid values fall back to the defaults."""
        known = {f.name for f in fields(cls)}
        vals = {k: str(v) for k, v in params.items() if k in known and v is not None}
        s = cls(**vals)
        if s.lang not in ("zh", "en"):
            s = replace(s, lang="zh")
        if s.range not in RANGES:
            s = replace(s, range="90d")
        if s.gran not in GRANULARITIES:
            s = replace(s, gran="day")
        if s.range == "custom" and not (_is_date(s.start) and _is_date(s.end) and s.start <= s.end):
            s = replace(s, range="90d", start="", end="")
        return s

    @classmethod
    def from_search(cls, search: str | None) -> ViewState:
        return cls.from_query(dict(parse_qsl((search or "").lstrip("?"))))

    def to_query(self, **changes: str) -> str:
        """`?lang=en&range=30d…` with only the non-default values ('' when all are defaults)."""
        s = replace(self, **changes) if changes else self
        default = ViewState()
        pairs = [(f.name, getattr(s, f.name)) for f in fields(s)
                 if getattr(s, f.name) != getattr(default, f.name)]
        return "?" + urlencode(pairs) if pairs else ""

    def with_(self, **changes: str) -> ViewState:
        return replace(self, **changes)

    @property
    def big(self) -> bool:
        return self.screen == "big"

    def span(self, today: date) -> tuple[date, date]:
        """The inclusive [start, end] local dates the state asks for."""
        if self.range == "custom":
            return date.fromisoformat(self.start), date.fromisoformat(self.end)
        if self.range == "ytd":
            return date(today.year, 1, 1), today
        days = {"7d": 7, "30d": 30, "90d": 90, "1y": 365}[self.range]
        return today - timedelta(days=days - 1), today

    @property
    def compare_codes(self) -> list[str]:
        return [c for c in self.compare.split(",") if c]


@dataclass(frozen=True)
class PageSlice:
    page: int  # 1-based, clamped to [1, pages]
    pages: int  # at least 1
    start: int  # item offset of the page
    stop: int
    total: int


def paginate(total: int, page: str | int, size: int) -> PageSlice:
    """The slice of `total` items that page `page` of `size` shows (pure; a page out of range
    or not a number shows the nearest existing page)."""
    pages = max(1, -(-total // size))
    try:
        n = int(page)
    except (TypeError, ValueError):
        n = 1
    n = min(max(n, 1), pages)
    start = (n - 1) * size
    return PageSlice(n, pages, start, min(start + size, total), total)


def _is_date(v: str) -> bool:
    try:
        date.fromisoformat(v)
    except ValueError:
        return False
    return True


def safe_next(nxt: str) -> str:
    """Only same-site paths: never redirect to another host after a login."""
    parts = urlsplit(nxt)
    if parts.scheme or parts.netloc or not nxt.startswith("/") or nxt.startswith("//"):
        return "/"
    return nxt
