"""Pure computations on bucketed values: January–February folding, year-to-date, 同比, 环比,
share of parent and contribution to the parent's growth. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from backend.aggregates.periods import Bucket, growth_pct, prev_bucket, same_period_last_year

Key = date | datetime


def fold_jan_feb(values: Mapping[Key, float], combined_years: set[int]) -> tuple[dict[Key, float], set[Key]]:
    """Month buckets: for each year in `combined_years` (some series reported 1–2月 together in
    February), drop January and make February the January–February total. Returns the new
    values and the February keys that now cover two months."""
    out = dict(values)
    covered: set[Key] = set()
    for year in combined_years:
        jan, feb = date(year, 1, 1), date(year, 2, 1)
        if jan in out or feb in out:
            out[feb] = out.pop(jan, 0.0) + out.get(feb, 0.0)
            covered.add(feb)
    return out, covered


def year_to_date(values: Mapping[Key, float], bucket: Bucket, prefix: Mapping[int, float] | None = None
                 ) -> dict[Key, float]:
    """累计: for each bucket, the total from 1 January of its year through the bucket's end.
    `prefix` gives, per year, what lies before the first bucket fetched (e.g. the months
    before a day range). Only meaningful for indicators summed over time."""
    out: dict[Key, float] = {}
    running: dict[int, float] = dict(prefix or {})
    for k in sorted(values):
        running[k.year] = running.get(k.year, 0.0) + values[k]
        out[k] = running[k.year]
    return out


def previous_key(key: Key, bucket: Bucket) -> Key:
    if isinstance(key, datetime):
        return key - timedelta(hours=1)
    return prev_bucket(key, bucket)


@dataclass
class PointMath:
    value: float | None
    yoy_pct: float | None = None
    pop_pct: float | None = None
    ytd: float | None = None
    ytd_yoy_pct: float | None = None
    share_pct: float | None = None
    contribution_pp: float | None = None
    ytd_contribution_pp: float | None = None
    last_year_value: float | None = None
    last_year_ytd: float | None = None


def point_math(key: Key, bucket: Bucket, values: Mapping[Key, float], last_year: Mapping[Key, float],
               ytd: Mapping[Key, float] | None, last_year_ytd: Mapping[Key, float] | None,
               no_pop: set[Key], no_yoy: set[Key]) -> PointMath:
    """The figures of one point. `last_year` and `last_year_ytd` are keyed by last year's
    bucket keys. `no_pop`/`no_yoy`: keys whose comparison is not meaningful (a combined
    January–February against a single month)."""
    v = values.get(key)
    base_key = same_period_last_year(key, bucket)
    ly = last_year.get(base_key) if base_key is not None and key not in no_yoy else None
    pm = PointMath(value=v, last_year_value=ly, yoy_pct=growth_pct(v, ly))
    if key not in no_pop:
        pm.pop_pct = growth_pct(v, values.get(previous_key(key, bucket)))
    if ytd is not None:
        pm.ytd = ytd.get(key)
        if last_year_ytd is not None and base_key is not None and key not in no_yoy:
            pm.last_year_ytd = last_year_ytd.get(base_key)
            pm.ytd_yoy_pct = growth_pct(pm.ytd, pm.last_year_ytd)
    return pm


def add_parent_math(child: PointMath, parent: PointMath) -> None:
    """Share of the parent (%), and the contribution to the parent's growth in percentage
    points: (child − child last year) / parent last year × 100, so that the children's
    contributions add up to the parent's growth when the children add up to the parent."""
    if child.value is not None and parent.value:
        child.share_pct = child.value / parent.value * 100.0
    if child.value is not None and child.last_year_value is not None and parent.last_year_value:
        child.contribution_pp = (child.value - child.last_year_value) / abs(parent.last_year_value) * 100.0
    if child.ytd is not None and child.last_year_ytd is not None and parent.last_year_ytd:
        child.ytd_contribution_pp = (child.ytd - child.last_year_ytd) / abs(parent.last_year_ytd) * 100.0


def _day(k: Key) -> date:
    return k.date() if isinstance(k, datetime) else k


def drop_incomplete_bases(pm: PointMath, key: Key, bucket: Bucket, first_day: date) -> None:
    """Leave out the comparisons whose base period starts before the data do (`first_day`,
    the indicator's first day with data): a base that is only partly there is not a base.
    同比 and the base value (so also the contribution), 环比, and 累计同比 with last year's 累计
    (which starts on 1 January last year)."""
    base = same_period_last_year(key, bucket)
    if base is None or _day(base) < first_day:
        pm.yoy_pct = None
        pm.last_year_value = None
    if _day(previous_key(key, bucket)) < first_day:
        pm.pop_pct = None
    if date(_day(key).year - 1, 1, 1) < first_day:
        pm.ytd_yoy_pct = None
        pm.last_year_ytd = None
