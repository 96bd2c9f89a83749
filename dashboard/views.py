"""Data shaping shared by the pages: reference options, the user's scope, API objects →
DataFrames for `dashboard.figures`. Everything here goes through `dashboard.context.api()`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from dashboard import context
from dashboard.client import Alert, ApiClient, District, Indicator, Industry, Park, SeriesOut
from dashboard.i18n import name
from dashboard.state import FAMILIES, ViewState

# The one indicator each family is shown by on the Overview and the trend pages.
HEADLINE = {"coal": "coal.raw_output", "power": "power.consumption", "oil": "oil.refined_sales",
            "gas": "gas.consumption", "transport": "rail.loading_cars"}
# Where a level has no series of the headline: parks hold no coal mines, so a park's coal is
# the coal its railway siding brings in (铁路煤炭到达量).
HEADLINE_AT = {"park": {"coal": "coal.rail_in"}}


@dataclass(frozen=True)
class Refs:
    districts: list[District]
    parks: list[Park]
    industries: list[Industry]
    indicators: list[Indicator]
    units: dict[str, str]  # unit code → Chinese name
    units_en: dict[str, str]

    def indicator(self, code: str) -> Indicator | None:
        return next((i for i in self.indicators if i.code == code), None)

    def district(self, code: str) -> District | None:
        return next((d for d in self.districts if d.code == code), None)

    def district_by_id(self, did: int | None) -> District | None:
        return next((d for d in self.districts if d.id == did), None)

    def park(self, code: str) -> Park | None:
        return next((p for p in self.parks if p.code == code), None)

    def unit(self, code: str, lang: str) -> str:
        return (self.units_en if lang == "en" else self.units).get(code, code)

    def headline(self, level: str | None = None) -> list[tuple[str, Indicator]]:
        """Each family's headline indicator, as shown for places of ``level``."""
        out = []
        for fam in FAMILIES:
            ind = self.indicator(HEADLINE_AT.get(level or "", {}).get(fam, HEADLINE[fam]))
            if ind is not None:
                out.append((fam, ind))
        return out


def _load_refs(c: ApiClient) -> Refs:
    from dashboard.client import gather

    res = gather({"d": c.districts, "p": c.parks, "i": c.industries, "c": c.indicators, "u": c.units})
    for v in res.values():
        if isinstance(v, Exception):
            raise v
    units = res["u"]
    return Refs(res["d"], res["p"], res["i"], res["c"], {u.code: u.name_zh for u in units},
                {u.code: u.name_en for u in units})


def refs() -> Refs:
    return context.refs("refs", _load_refs)


def warm(client: ApiClient) -> None:
    """Fill the reference cache and the user cache right after a login, so that the first page
    the user opens does not wait for them."""
    ctx = context.current()
    ctx.refs.get("refs", lambda: _load_refs(client))
    ctx.users.get("me:" + (client.token or ""), client.me)


def options(r: Refs, lang: str) -> dict[str, list[tuple[str, str]]]:
    return {
        "districts": [(d.code, name(d, lang)) for d in r.districts],
        "parks": [(p.code, name(p, lang)) for p in r.parks],
        "industries": [(i.code, name(i, lang)) for i in r.industries],
        "indicators": [(i.code, name(i, lang)) for i in r.indicators
                       if i.family in FAMILIES and i.frequency != "month"],
    }


def effective_district(state: ViewState, r: Refs) -> str:
    """The district the user's account is limited to overrides the selection."""
    user = context.me().user
    if user.district_id is not None:
        d = r.district_by_id(user.district_id)
        if d is not None:
            return d.code
    return state.district


def series_frame(s: SeriesOut | None) -> pd.DataFrame:
    """Points of an ungrouped series → `period` (bucket start, ISO), `label` (the API's label:
    2025-03, 2025-W09 ...), `start, value, yoy_pct, pop_pct, ytd, through` (`through`: the last
    day with data of a bucket not complete yet, else None)."""
    cols = ["period", "label", "start", "value", "yoy_pct", "pop_pct", "ytd", "through"]
    if s is None or not s.groups:
        return pd.DataFrame(columns=cols)
    return pd.DataFrame([{"period": str(p.start)[:10] if s.bucket != "hour" else str(p.start), "label": p.period,
                          "start": p.start, "value": p.value, "yoy_pct": p.yoy_pct, "pop_pct": p.pop_pct,
                          "ytd": p.ytd, "through": p.through if p.partial else None} for p in s.points],
                        columns=cols)


def through_suffix(through: Any, lang: str) -> str:
    """The label of a bucket not complete yet: “(截至27日)” / “ (to 27th)”; '' otherwise."""
    if not isinstance(through, date):
        return ""
    d = through.day
    if lang != "en":
        return f"(截至{d}日)"
    ordinal = "th" if 11 <= d % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
    return f" (to {d}{ordinal})"


def grouped_frame(s: SeriesOut | None, lang: str) -> pd.DataFrame:
    """Grouped series → `group, name, period, value, yoy_pct, share_pct, contribution_pp`."""
    cols = ["group", "name", "period", "value", "yoy_pct", "pop_pct", "share_pct", "contribution_pp"]
    if s is None:
        return pd.DataFrame(columns=cols)
    rows = []
    for g in s.groups:
        nm = (g.name_en if lang == "en" and g.name_en else g.name_zh) or g.key
        for p in g.points:
            rows.append({"group": g.key, "name": nm, "period": str(p.start)[:10] if s.bucket != "hour" else str(p.start),
                         "value": p.value, "yoy_pct": p.yoy_pct, "pop_pct": p.pop_pct, "share_pct": p.share_pct,
                         "contribution_pp": p.contribution_pp})
    return pd.DataFrame(rows, columns=cols)


def alert_dicts(alerts: list[Alert]) -> list[dict[str, Any]]:
    return [a.model_dump() for a in alerts]


def alerts_for_entity(alerts: list[Alert], kind: str, entity_id: int, indicator: str) -> list[Alert]:
    """The alerts whose flags belong on the chart of (kind, entity, indicator): exactly the
    ones raised on that series, so the flags on a chart match the alert list."""
    return [a for a in alerts if a.entity_kind == kind and a.entity_id == entity_id and a.indicator_code == indicator]


def last_valid(df: pd.DataFrame) -> dict[str, Any] | None:
    d = df.dropna(subset=["value"])
    if d.empty:
        return None
    return dict(d.iloc[-1])


def month_start(d: date, back: int = 0) -> date:
    m = d.year * 12 + d.month - 1 - back
    return date(m // 12, m % 12 + 1, 1)


def contributions_frame(s: Any, lang: str) -> pd.DataFrame:
    """Grouped-by-enterprise series (one bucket) → `id, name, value_now, last_year, change,
    yoy_pct, contribution_pp, share_pct`, biggest movers (|contribution|) first."""
    cols = ["id", "name", "value_now", "last_year", "change", "yoy_pct", "contribution_pp", "share_pct"]
    rows = []
    for g in s.groups:
        if not g.points:
            continue
        p = g.points[0]
        change = None if p.value is None or p.last_year_value is None else p.value - p.last_year_value
        rows.append({"id": int(g.key), "name": (g.name_en if lang == "en" and g.name_en else g.name_zh) or g.key,
                     "value_now": p.value, "last_year": p.last_year_value, "change": change, "yoy_pct": p.yoy_pct,
                     "contribution_pp": p.contribution_pp, "share_pct": p.share_pct})
    df = pd.DataFrame(rows, columns=cols)
    if df.empty:
        return df
    order = df["contribution_pp"].abs().fillna(-1).sort_values(ascending=False).index
    return df.loc[order].reset_index(drop=True)
