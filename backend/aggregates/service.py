"""Series and aggregates: which series make up a figure, and the figures of each point.

The rules (documented in docs/api.md):

* **Direct series first.** A place (city, district, park) whose value is reported directly
  (a series of that entity kind, e.g. grid load per district, gas per park) is represented
  by that series; otherwise it is the sum of its children: city = districts, district = its
  parks and its enterprises outside any park, park = its enterprises. Enterprise values
  count in the place of the registry version valid on their (local) day.
* **Enterprise attributes** (industry, above-scale, key enterprise, a list of enterprises)
  only exist for enterprises: any such filter, or grouping by industry or enterprise, uses
  enterprise series only.
* `agg_entities = none` (e.g. a growth rate): only directly reported series, never summed.
  `wmean`: Σ(value × weight) / Σ weight over enterprises, the weight being the indicator's
  `weight_indicator` in the same bucket.
* **January–February.** When a monthly series has no January value but a February value,
  February is taken as the January–February total (1–2月); the month view then shows no
  January and a February point covering both months, and its 同比 compares with last year's
  January + February. 环比 across a combined point is not given.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from backend.aggregates import compute
from backend.aggregates import repository as repo
from backend.aggregates.compute import Key, PointMath
from backend.aggregates.periods import (
    MAX_SPAN_DAYS,
    MONTH_BUCKETS,
    Bucket,
    add_months,
    bucket_start,
    growth_pct,
    partial_span_last_year,
    partial_span_previous,
    period_end,
    same_period_last_year,
    shift_year,
    widen,
)
from backend.aggregates.repository import GroupBy, Selection
from backend.api.problems import InvalidRequest, NotFound
from backend.catalogue import repository as catalogue_repo
from backend.catalogue.models import Indicator

ALL_FIGURES = frozenset({"yoy", "pop", "ytd", "share", "contribution"})


@dataclass(frozen=True)
class SeriesQuery:
    indicator: str
    bucket: Bucket
    start: date
    end: date  # inclusive
    district_ids: tuple[int, ...] | None = None
    park_ids: tuple[int, ...] | None = None
    industry_groups: tuple[str, ...] | None = None
    above_scale: bool | None = None
    key_enterprise: bool | None = None
    enterprise_ids: tuple[int, ...] | None = None
    group_by: GroupBy = "none"
    figures: frozenset[str] = ALL_FIGURES
    basis: str = "current"  # current | same (同口径)


@dataclass
class Point:
    key: Key
    combined_months: bool
    n_series: int
    math: PointMath
    through: date | None = None  # a bucket not complete yet: its data run through this day


@dataclass(frozen=True)
class PartialBase:
    """The bases of the one bucket that is not complete yet (`key`, data through `through`):
    the same span last year (同期) and of the previous bucket, per group (None: not fetched)."""

    key: date
    through: date
    last_year: dict[str, float] | None
    previous: dict[str, float] | None


@dataclass
class GroupSeries:
    group: str
    points: list[Point]


@dataclass
class SeriesResult:
    indicator: Indicator
    bucket: Bucket
    start: date
    end: date  # exclusive, widened to whole buckets
    source: str
    groups: list[GroupSeries]
    parent: GroupSeries | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Fetched:
    values: dict[str, dict[Key, float]] = field(default_factory=lambda: defaultdict(dict))
    combined_years: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    n: dict[str, dict[Key, int]] = field(default_factory=lambda: defaultdict(dict))
    combined_keys: dict[str, set[Key]] = field(default_factory=lambda: defaultdict(set))  # buckets behind the years
    last_at: dict[Key, datetime] = field(default_factory=dict)  # latest observation per bucket, over the groups


def indicator_or_404(session: Session, code: str) -> Indicator:
    ind = catalogue_repo.get_indicator(session, code)
    if ind is None:
        raise NotFound(f"indicator {code!r} does not exist; see GET /api/v1/indicators")
    return ind


def context_or_404(session: Session, code: str) -> repo.Context:
    """The indicator and the lookups every figure needs, in one round trip."""
    ctx = repo.context(session, code)
    if ctx is None:
        raise NotFound(f"indicator {code!r} does not exist; see GET /api/v1/indicators")
    return ctx


def enterprise_only(q: SeriesQuery) -> bool:
    return (q.industry_groups is not None or q.above_scale is not None or q.key_enterprise is not None
            or q.enterprise_ids is not None or q.group_by in ("industry", "enterprise"))


def make_selection(ctx: repo.Context, q: SeriesQuery, group_by: GroupBy) -> tuple[Selection, str]:
    """The contributions for `q` grouped by `group_by`, and a sentence saying which they are."""
    ind = ctx.indicator
    sel = Selection(indicator=ind.code, agg_time=ind.agg_time, monthly_frequency=ind.frequency == "month",
                    district_ids=q.district_ids, park_ids=q.park_ids, industry_groups=q.industry_groups,
                    above_scale=q.above_scale, key_enterprise=q.key_enterprise, enterprise_ids=q.enterprise_ids,
                    group_by=group_by)
    level = ("enterprise" if enterprise_only(replace(q, group_by=group_by)) else
             "park" if group_by == "park" or q.park_ids is not None else
             "district" if group_by == "district" or q.district_ids is not None else "city")
    if ind.agg_entities == "wmean" or level == "enterprise":
        if ind.agg_entities == "none":
            return replace(sel, enterprises=True), "enterprise series (not aggregated: agg_entities = none)"
        return sel, "sum of enterprise series, each in the registry version valid on its day"
    direct = ctx.direct
    if ind.agg_entities == "none":
        if level == "city":
            return replace(sel, enterprises=False, city_direct=True), "the city series as reported"
        if level == "district":
            return (replace(sel, enterprises=False, district_direct=tuple(sorted(direct["district"]))),
                    "district series as reported")
        return replace(sel, enterprises=False, park_direct=tuple(sorted(direct["park"]))), "park series as reported"
    if level == "city" and direct["city"]:
        return replace(sel, enterprises=False, city_direct=True), "the city series reported directly"
    parks = tuple(sorted(direct["park"]))
    if level == "park":
        return (replace(sel, park_direct=parks, exclude_parks=parks),
                "parks reported directly where they are, else the sum of their enterprises")
    park_district = ctx.park_district
    districts = tuple(sorted(direct["district"]))
    parks = tuple(p for p in parks if park_district.get(p) not in direct["district"])
    return (replace(sel, district_direct=districts, park_direct=parks, exclude_districts=districts,
                    exclude_parks=parks),
            "districts and parks reported directly where they are, else the sum of their enterprises")


def _path(bucket: Bucket | None, a: date, b: date) -> repo.Path:
    if bucket == Bucket.hour:
        return "hour"
    if bucket in MONTH_BUCKETS or (bucket is None and a.day == 1 and b.day == 1):
        return "month"
    return "day"


def fetch(session: Session, ind: Indicator, sel: Selection, bucket: Bucket | None, a: date, b: date, tz: str,
          per_enterprise: bool = False) -> Fetched:
    """Values per group and bucket over local days [a, b); `bucket` None: one bucket (key a)."""
    out = Fetched()
    if a >= b:
        return out
    path = _path(bucket, a, b)
    zone = ZoneInfo(tz)
    ta = datetime.combine(a, time(), zone) if path == "hour" else None
    tb = datetime.combine(b, time(), zone) if path == "hour" else None
    if ind.agg_entities == "wmean" and ind.weight_indicator:
        weight = indicator_or_404(session, ind.weight_indicator)
        vs = repo.cells(session, sel, path, bucket, a, b, ta, tb, tz, per_enterprise=True)
        ws = repo.cells(session, replace(sel, indicator=weight.code, agg_time=weight.agg_time), path, bucket,
                        a, b, ta, tb, tz, per_enterprise=True)
        wmap = {(c.group, c.key): c.value for c in ws}
        num: dict[tuple[str, Key], float] = defaultdict(float)
        den: dict[tuple[str, Key], float] = defaultdict(float)
        for c in vs:
            _note_last(out, c)
            w = wmap.get((c.group, c.key))
            if w:
                g = c.group if per_enterprise else c.group.rsplit("|", 1)[0]
                num[(g, c.key)] += c.value * w
                den[(g, c.key)] += w
                out.n[g][c.key] = out.n[g].get(c.key, 0) + 1
        for (g, k), d in den.items():
            out.values[g][k] = num[(g, k)] / d
        return out
    for c in repo.cells(session, sel, path, bucket, a, b, ta, tb, tz, per_enterprise=per_enterprise):
        out.values[c.group][c.key] = c.value
        out.n[c.group][c.key] = c.n_series
        _note_last(out, c)
        if c.jan_feb_combined and isinstance(c.key, date):
            out.combined_years[c.group].add(c.key.year)
            out.combined_keys[c.group].add(c.key)
    return out


def _note_last(out: Fetched, c: repo.Cell) -> None:
    if c.last_at is not None and (c.key not in out.last_at or c.last_at > out.last_at[c.key]):
        out.last_at[c.key] = c.last_at


def _local_day(k: Key) -> date:
    return k.date() if isinstance(k, datetime) else k


def _within(f: Fetched, a: date, b: date) -> Fetched:
    """The buckets of `f` that start in [a, b) (ranges are whole buckets, so their values are
    what a fetch of [a, b) alone gives). A year counts as January–February combined when its
    combined bucket is kept."""
    out = Fetched()
    for g, vals in f.values.items():
        kept = {k: v for k, v in vals.items() if a <= _local_day(k) < b}
        if kept:
            out.values[g] = kept
            out.n[g] = {k: n for k, n in f.n.get(g, {}).items() if k in kept}
    for g, keys in f.combined_keys.items():
        keep = {k for k in keys if a <= _local_day(k) < b}
        if keep:
            out.combined_keys[g] = keep
            out.combined_years[g] = {k.year for k in keep}
    out.last_at = {k: t for k, t in f.last_at.items() if a <= _local_day(k) < b}
    return out


def two_totals(session: Session, sel: Selection, a1: date, b1: date, a2: date, b2: date, tz: str
               ) -> dict[str, dict[date, float]]:
    """Totals per group of the local days [a1, b1) (keyed a1) and [a2, b2) (keyed a2), for
    b1 <= a2, in one pass (sums over time only)."""
    out: dict[str, dict[date, float]] = defaultdict(dict)
    if b1 <= a1 and b2 <= a2:
        return out
    for c in repo.cells(session, sel, _path(None, a1, b2), None, a1, b2, tz=tz, split_at=(b1, a2)):
        out[c.group][c.key] = c.value
    return out


def fetch_with_last_year(session: Session, ind: Indicator, sel: Selection, bucket: Bucket, a: date, b: date, tz: str,
                         last_year: bool) -> tuple[Fetched, Fetched]:
    """The buckets of [a, b) and, if asked, of the same range a year earlier. When the two
    ranges touch or overlap (a range of a year or more) they are read in one query and split."""
    if not last_year:
        return fetch(session, ind, sel, bucket, a, b, tz), Fetched()
    pa, pb = _year_back(a, bucket), _year_back(b, bucket)
    if pb < a or bucket == Bucket.hour:
        return fetch(session, ind, sel, bucket, a, b, tz), fetch(session, ind, sel, bucket, pa, pb, tz)
    both = fetch(session, ind, sel, bucket, pa, b, tz)
    return _within(both, a, b), _within(both, pa, pb)


def _check(ind: Indicator, q: SeriesQuery) -> None:
    if q.end < q.start:
        raise InvalidRequest("end is before start")
    if (q.end - q.start).days > MAX_SPAN_DAYS[q.bucket]:
        raise InvalidRequest(f"a {q.bucket.value} view covers at most {MAX_SPAN_DAYS[q.bucket]} days; "
                             "use a coarser bucket")
    if q.bucket == Bucket.hour and ind.frequency not in ("15min", "hour"):
        raise InvalidRequest(f"{ind.code} is reported per {ind.frequency}: hour buckets need 15-minute or "
                             "hourly data")
    if q.basis == "same":
        if q.above_scale is None and q.industry_groups is None and q.key_enterprise is None:
            raise InvalidRequest("basis=same compares an enterprise set: give above_scale (usually true), "
                                 "industry or key_enterprise")
        if ind.agg_time != "sum" or ind.agg_entities != "sum":
            raise InvalidRequest("basis=same needs an indicator summed over time and enterprises")


def _year_back(d: date, bucket: Bucket) -> date:
    if bucket == Bucket.week:
        return d - timedelta(days=364)
    return shift_year(d, -1) or d - timedelta(days=365)


def partial_bucket(ind: Indicator, cur: Fetched, bucket: Bucket, a: date, b: date, today: date, tz: str
                   ) -> tuple[date, date] | None:
    """The bucket not complete yet and the last day its data cover: the week, month, quarter
    or year that contains today (Asia/Shanghai), when its data run through a day before its
    end. The data run through the local day of its latest observation (a monthly value: the
    end of its month), so that the bucket's value and its bases cover the same days. Today's
    day bucket is handled apart (`_today_is_partial`); hour buckets are never partial."""
    if bucket in (Bucket.hour, Bucket.day):
        return None
    k = bucket_start(today, bucket)
    last = cur.last_at.get(k)
    if not a <= k < b or last is None:
        return None
    through = last.astimezone(ZoneInfo(tz)).date()
    if ind.frequency == "month":
        through = period_end(through.replace(day=1), Bucket.month)
    return (k, through) if through < period_end(k, bucket) else None


def base_starts_in(bucket: Bucket, a: date, b: date, lo: date, hi: date, ytd: bool) -> bool:
    """Whether a comparison of the buckets of [a, b) has a base that starts in [lo, hi): last
    year's bucket, the previous bucket, or (year-to-date) 1 January last year."""
    ranges = [(_year_back(a, bucket), _year_back(b, bucket)),
              (bucket_start(a - timedelta(days=1), bucket) if bucket != Bucket.hour else a - timedelta(days=1), b)]
    for ra, rb in ranges:
        s, e = max(ra, lo), min(rb, hi)
        if s < e and bucket_start(e - timedelta(days=1), bucket if bucket != Bucket.hour else Bucket.day) >= s:
            return True
    return ytd and any(lo <= date(y, 1, 1) < hi for y in range(a.year - 1, (b - timedelta(days=1)).year))


def first_day(ctx: repo.Context, bucket: Bucket, a: date, b: date, ytd: bool) -> tuple[date, str] | None:
    """The indicator's first day with data as precisely as the comparisons of [a, b) need it
    (a base starts before the data exactly when it starts before this day), and how to say
    when the data start: by the month unless a base starts in that month."""
    day = ctx.first_day
    if day is None:
        return None
    fm = day.replace(day=1)
    nm = add_months(fm, 1)
    if not base_starts_in(bucket, a, b, fm, nm, ytd):
        return fm, f"in {fm:%Y-%m}"
    if bucket in MONTH_BUCKETS:
        # Bases start on a 1st: all that matters is whether the data start on the 1st; if not,
        # the first base after them starts on the next 1st.
        if day == fm:
            return fm, f"on {fm}"
        return nm, f"after {fm} (within {fm:%Y-%m})"
    return day, f"on {day}"


def _partial_bases(session: Session, ind: Indicator, sel: Selection, bucket: Bucket, key: date, through: date,
                   tz: str, yoy: bool, pop: bool, cur: Fetched, prev: Fetched, data_start: date | None
                   ) -> PartialBase:
    """Totals (or means, last values) per group over the same span last year and of the
    previous bucket: one or two reads of a month or less of daily rollups (a whole year's
    span for a year bucket, whose two bases are the same span). A span is not read when its
    whole bucket (in `prev` or `cur`) has no data or when it starts before the data do."""
    ly_span = partial_span_last_year(key, through, bucket)
    prev_span = partial_span_previous(key, through, bucket)
    ly_key = same_period_last_year(key, bucket)
    prev_key = compute.previous_key(key, bucket)

    def needed(span: tuple[date, date], whole: Fetched, k: Key | None) -> bool:
        return ((data_start is None or span[0] >= data_start)
                and any(k in vals for vals in whole.values.values()))

    spans = {sp for sp, want in ((ly_span, yoy and needed(ly_span, prev, ly_key)),
                                 (prev_span, pop and needed(prev_span, cur, prev_key))) if want}
    got: dict[tuple[date, date], dict[str, float]] = {}
    for sa, sb in spans:
        f = fetch(session, ind, sel, None, sa, sb, tz)
        got[(sa, sb)] = {g: v for g, vals in f.values.items() for v in vals.values()}
    return PartialBase(key, through, got.get(ly_span, {}) if yoy else None,
                       got.get(prev_span, {}) if pop else None)


def series(session: Session, q: SeriesQuery, tz: str = "Asia/Shanghai", today: date | None = None) -> SeriesResult:
    """Bucketed values of an indicator for a place (or places side by side), with 同比, 环比,
    累计, 累计同比, share of the parent and contribution to the parent's growth.

    The bucket not complete yet (see `partial_bucket`; `today` defaults to the current local
    day) is compared with the same span (同期) last year and of the previous bucket. A comparison whose base starts before the
    indicator's first day with data is not given (its base is incomplete)."""
    ctx = context_or_404(session, q.indicator)
    ind = ctx.indicator
    _check(ind, q)
    bucket = q.bucket
    a, b = widen(q.start, q.end, bucket)
    today = today or datetime.now(ZoneInfo(tz)).date()
    sums = ind.agg_time == "sum" and ind.agg_entities in ("sum",)
    want_ytd = "ytd" in q.figures and sums and bucket not in (Bucket.hour, Bucket.week)
    want_yoy = "yoy" in q.figures or "contribution" in q.figures
    # What to fetch: one bucket before (环比), January when the range starts in February
    # (1–2月 folding), and 1 January for year-to-date in month-type buckets.
    fa = a
    if "pop" in q.figures:
        fa = bucket_start(a - timedelta(days=1), bucket) if bucket != Bucket.hour else a - timedelta(days=1)
    if bucket == Bucket.month and a.month == 2:
        fa = min(fa, date(a.year, 1, 1))
    if want_ytd and bucket in MONTH_BUCKETS:
        fa = min(fa, date(a.year, 1, 1))
    sel, source = make_selection(ctx, q, q.group_by)
    grouped = q.group_by != "none"
    # 累计 of a day view needs what lies between 1 January and the first day fetched: the whole
    # months from the monthly rollup (this year and last in one pass), the days of the month
    # before the range by starting the day fetch on the 1st of that month.
    day_ytd = want_ytd and bucket == Bucket.day
    start = fa.replace(day=1) if day_ytd else fa
    cur, prev = fetch_with_last_year(session, ind, sel, bucket, start, b, tz, want_yoy or want_ytd)
    prefix_cur: dict[str, dict[int, float]] = defaultdict(dict)
    prefix_prev: dict[str, dict[int, float]] = defaultdict(dict)
    if day_ytd:
        pstart, pfa = _year_back(start, bucket), _year_back(fa, bucket)
        months = two_totals(session, sel, date(pstart.year, 1, 1), pstart, date(start.year, 1, 1), start, tz)
        for target, got, first, day0 in ((prefix_cur, cur, start, fa), (prefix_prev, prev, pstart, pfa)):
            for g, vals in months.items():
                if date(first.year, 1, 1) in vals:
                    target[g][first.year] = vals[date(first.year, 1, 1)]
            for g, vals in list(got.values.items()):
                for k in [k for k in vals if _local_day(k) < day0]:
                    target[g][first.year] = target[g].get(first.year, 0.0) + vals.pop(k)
                    got.n.get(g, {}).pop(k, None)
                if not vals:  # a group with values only before the range is not in the answer
                    del got.values[g]
    same_base: dict[str, dict[Key, float]] | None = None
    same_base_ytd: dict[str, dict[Key, float]] | None = None
    if q.basis == "same":
        same_base, same_base_ytd = _same_basis(session, ind, sel, bucket, fa, b, tz,
                                               want_ytd and bucket in MONTH_BUCKETS, cur.combined_years)

    start_known = first_day(ctx, bucket, a, b, want_ytd)
    data_start = start_known[0] if start_known else None
    partial: PartialBase | None = None
    found = partial_bucket(ind, cur, bucket, a, b, today, tz)
    pkey, through = found if found is not None else (None, None)
    if pkey is not None and through is not None:
        partial = _partial_bases(session, ind, sel, bucket, pkey, through, tz, want_yoy and q.basis != "same",
                                 "pop" in q.figures, cur, prev, data_start)

    parent_series: GroupSeries | None = None
    parent_points: dict[Key, PointMath] = {}
    if grouped and ({"share", "contribution"} & q.figures):
        psel, _ = make_selection(ctx, replace(q, group_by="none"), "none")
        pq = replace(q, group_by="none", figures=frozenset({"yoy", "ytd"}))
        pcur, pprev = fetch_with_last_year(session, ind, psel, bucket, fa, b, tz, True)
        ppartial = (_partial_bases(session, ind, psel, bucket, pkey, through, tz, q.basis != "same", False,
                                   pcur, pprev, data_start)
                    if pkey is not None and through is not None else None)
        parent_series = _group_points("", pcur, pprev, prefix_cur={}, prefix_prev={}, bucket=bucket, a=a, b=b,
                                      want_ytd=want_ytd and bucket in MONTH_BUCKETS, sums=sums, q=pq,
                                      partial=ppartial, first_day=data_start)
        parent_points = {p.key: p.math for p in parent_series.points}

    groups = sorted(set(cur.values) | (set(prev.values) if grouped else set()))
    if not grouped:
        groups = [""]
    out: list[GroupSeries] = []
    for g in groups:
        gs = _group_points(g, cur, prev, prefix_cur.get(g, {}), prefix_prev.get(g, {}), bucket, a, b, want_ytd,
                           sums, q, same_base.get(g, {}) if same_base is not None else None,
                           same_base_ytd.get(g, {}) if same_base_ytd is not None else None,
                           partial=partial, first_day=data_start)
        for p in gs.points:
            if p.key in parent_points:
                compute.add_parent_math(p.math, parent_points[p.key])
        out.append(gs)
    notes = []
    if bucket == Bucket.day and _today_is_partial([*out, *([parent_series] if parent_series else [])], today):
        notes.append(f"The day {today} (today, Asia/Shanghai) is not complete: its point is marked partial and its "
                     "同比, 环比 and 累计同比 are not given (a day under way against whole days would read as a fall).")
    if any(p.combined_months for gs in out for p in gs.points):
        notes.append("February points marked combined_months cover January–February (1–2月): January was not "
                     "reported separately.")
    if partial is not None and any(p.through is not None for gs in out for p in gs.points):
        notes.append(f"The {bucket.value} starting {pkey} is not complete (data through {through}): its 同比 and "
                     "环比 compare the same span (同期)" + (" (同比 not given with basis=same)." if q.basis == "same"
                                                          else "."))
    if start_known is not None and data_start is not None and data_start > date(a.year - 1, 1, 1):
        notes.append(f"Data start {start_known[1]}: 同比, 环比 and 累计同比 whose base period starts earlier are not "
                     "given (their base is incomplete).")
    return SeriesResult(indicator=ind, bucket=bucket, start=a, end=b, source=source, groups=out,
                        parent=parent_series, notes=notes)


def _today_is_partial(groups: list[GroupSeries], today: date) -> bool:
    """Mark today's point of a day view partial, without comparisons: until the day is over
    its data cannot be complete (15-minute meters report as it goes, daily sources send a
    running figure). Its value, 累计 and share (of a parent just as incomplete) stay."""
    found = False
    for gs in groups:
        for p in gs.points:
            if p.key == today and not isinstance(p.key, datetime):
                m = p.math
                m.yoy_pct = m.pop_pct = m.ytd_yoy_pct = m.contribution_pp = m.ytd_contribution_pp = None
                m.last_year_value = m.last_year_ytd = None
                p.through = today
                found = True
    return found


def _group_points(g: str, cur: Fetched, prev: Fetched, prefix_cur: dict[int, float], prefix_prev: dict[int, float],
                  bucket: Bucket, a: date, b: date, want_ytd: bool, sums: bool, q: SeriesQuery,
                  same_base: dict[Key, float] | None = None, same_base_ytd: dict[Key, float] | None = None,
                  partial: PartialBase | None = None, first_day: date | None = None) -> GroupSeries:
    values: dict[Key, float] = dict(cur.values.get(g, {}))
    last_year: dict[Key, float] = dict(prev.values.get(g, {}))
    covered: set[Key] = set()
    no_pop: set[Key] = set()
    no_yoy: set[Key] = set()
    if bucket == Bucket.month and sums:
        cur_years = cur.combined_years.get(g, set())
        prev_years = prev.combined_years.get(g, set())
        values, covered = compute.fold_jan_feb(values, cur_years)
        # Compare a combined 1–2月 with last year's January + February.
        last_year, _ = compute.fold_jan_feb(last_year, {y - 1 for y in cur_years} | prev_years)
        for y in prev_years - {y - 1 for y in cur_years}:
            no_yoy |= {date(y + 1, 1, 1), date(y + 1, 2, 1)}  # last year combined, this year not
        for k in covered:
            no_pop |= {k, add_months(k, 1)}
    ytd = compute.year_to_date(values, bucket, prefix_cur) if want_ytd else None
    ly_ytd = compute.year_to_date(last_year, bucket, prefix_prev) if want_ytd else None
    if same_base is not None:
        last_year = same_base
        ly_ytd = same_base_ytd
    points = []
    for k in sorted(values):
        kd = k.date() if isinstance(k, datetime) else k
        if kd < a or kd >= b:
            continue
        want_ly = "yoy" in q.figures or "contribution" in q.figures
        through = None
        if partial is not None and k == partial.key:
            through = partial.through
            pm = _partial_math(g, k, bucket, values, last_year, ytd, ly_ytd, partial, q.basis == "same",
                               no_pop if "pop" in q.figures else set(values), no_yoy)
        else:
            pm = compute.point_math(k, bucket, values, last_year if want_ly else {}, ytd, ly_ytd,
                                    no_pop if "pop" in q.figures else set(values), no_yoy)
        if first_day is not None:
            compute.drop_incomplete_bases(pm, k, bucket, first_day)
        if "pop" not in q.figures:
            pm.pop_pct = None
        if "yoy" not in q.figures:
            pm.yoy_pct = None
            pm.ytd_yoy_pct = None
        points.append(Point(k, k in covered, cur.n.get(g, {}).get(k, 0), pm, through))
    return GroupSeries(g, points)


def _partial_math(g: str, k: Key, bucket: Bucket, values: dict[Key, float], last_year: dict[Key, float],
                  ytd: dict[Key, float] | None, ly_ytd: dict[Key, float] | None, partial: PartialBase,
                  same_basis: bool, no_pop: set[Key], no_yoy: set[Key]) -> PointMath:
    """The figures of the bucket not complete yet, against the same spans (同期): last year's
    value and 累计 through the same day, the previous bucket through the same day. With
    basis=same (a re-based base per enterprise) its 同比 is not given."""
    assert isinstance(k, date)
    here: dict[Key, float] = {k: values[k]}
    if partial.previous is not None and g in partial.previous:
        here[compute.previous_key(k, bucket)] = partial.previous[g]
    base_key = same_period_last_year(k, bucket)
    ly_here: dict[Key, float] = {}
    ly_ytd_here: dict[Key, float] | None = None
    if base_key is not None and not same_basis and partial.last_year is not None:
        span = partial.last_year.get(g)
        if span is not None:
            ly_here[base_key] = span
        if ytd is not None and ly_ytd is not None:
            # last year's 累计 through the same day: its buckets before base_key (whole), plus the span
            before = [v for x, v in last_year.items()
                      if isinstance(x, date) and x.year == base_key.year and x < base_key]
            parts = before + ([span] if span is not None else [])
            ly_ytd_here = {base_key: sum(parts)} if parts else {}
    return compute.point_math(k, bucket, here, ly_here, ytd, ly_ytd_here, no_pop, no_yoy)


def _same_basis(session: Session, ind: Indicator, sel: Selection, bucket: Bucket, fa: date, b: date, tz: str,
                want_ytd: bool, combined: dict[str, set[int]]
                ) -> tuple[dict[str, dict[Key, float]], dict[str, dict[Key, float]] | None]:
    """同口径 base: for each group and bucket, last year's values of the enterprises that are in
    the group *now*, whatever their attributes were last year (本年口径). Keyed by last year's
    bucket keys, like ordinary last-year values."""
    members_raw = fetch(session, ind, sel, bucket, fa, b, tz, per_enterprise=True)
    members: dict[str, dict[Key, set[int]]] = defaultdict(lambda: defaultdict(set))
    ids: set[int] = set()
    for gk in members_raw.values:
        g, eid = gk.rsplit("|", 1)
        for k in members_raw.values[gk]:
            members[g][k].add(int(eid))
            ids.add(int(eid))
    if not ids:
        return {}, ({} if want_ytd else None)
    plain = Selection(indicator=ind.code, agg_time=ind.agg_time, monthly_frequency=ind.frequency == "month",
                      enterprise_ids=tuple(sorted(ids)), group_by="enterprise")
    ly = fetch(session, ind, plain, bucket, _year_back(fa, bucket), _year_back(b, bucket), tz)
    per_e = {int(e): v for e, v in ly.values.items()}
    per_e_ytd = {e: compute.year_to_date(v, bucket) for e, v in per_e.items()} if want_ytd else {}
    base: dict[str, dict[Key, float]] = defaultdict(dict)
    base_ytd: dict[str, dict[Key, float]] = defaultdict(dict)
    for g, by_key in members.items():
        for k, eids in by_key.items():
            kp = same_period_last_year(k, bucket)
            if kp is None:
                continue
            keys: list[Key] = [kp]
            if (bucket == Bucket.month and isinstance(k, date) and k.month == 2
                    and k.year in combined.get(g, set())):
                # a combined 1–2月 this year: January's members too, against January + February
                eids = eids | by_key.get(date(k.year, 1, 1), set())
                keys = [date(kp.year, 1, 1), kp]
            base[g][kp] = sum(per_e.get(e, {}).get(x, 0.0) for e in eids for x in keys)
            if want_ytd:
                base_ytd[g][kp] = sum(_ytd_at(per_e_ytd.get(e, {}), kp) for e in eids)
    return base, (base_ytd if want_ytd else None)


def _ytd_at(ytd: dict[Key, float], k: Key) -> float:
    """An enterprise's year-to-date total at bucket `k` (its last total before k if it
    reported nothing in k)."""
    before = [x for x in ytd if x <= k and x.year == k.year]
    return ytd[max(before)] if before else 0.0


@dataclass
class TopRow:
    enterprise_id: int
    name_zh: str
    name_en: str | None
    uscc: str
    value: float | None
    last_year_value: float | None
    change: float | None
    change_pct: float | None


def _change(value: float | None, last_year: float | None) -> tuple[float | None, float | None]:
    """The change against last year and its percentage (None where there is no base)."""
    return (value - last_year if value is not None and last_year is not None else None,
            growth_pct(value, last_year))


def top_enterprises(session: Session, q: SeriesQuery, by: str, n: int, ascending: bool,
                    tz: str = "Asia/Shanghai") -> tuple[Indicator, date, date, list[TopRow], list[str]]:
    """Top-N enterprises over [start, end] (one total per enterprise) by value, by change
    against the same period last year, or by percentage change; and notes. When the same
    days last year start before the indicator's data, there is no change to rank by (it
    would show the start of data collection as growth): the list is empty, and a note says why."""
    ctx = context_or_404(session, q.indicator)
    ind = ctx.indicator
    if ind.agg_entities == "none":
        raise InvalidRequest(f"{ind.code} is not additive over enterprises")
    if q.end < q.start or (q.end - q.start).days > 3 * 366:
        raise InvalidRequest("give a range of at most three years with end >= start")
    a, b = q.start, q.end + timedelta(days=1)
    sel, _ = make_selection(ctx, q, "enterprise")
    pa, pb = shift_year(a, -1) or a - timedelta(days=365), shift_year(b, -1) or b - timedelta(days=365)
    prev_vals: dict[int, float] = {}
    notes: list[str] = []
    if by != "value":
        # The first day with data, as precisely as this base needs it (as for /series).
        known = first_day(ctx, Bucket.day, a, b, ytd=False)
        data_start = known[0] if known is not None and known[0] > pa else None
        if data_start is not None:
            notes.append(f"The same days last year ({pa} to {pb - timedelta(days=1)}) start before this indicator's "
                         f"data (first on or after {data_start}): there is no change against last year to rank by.")
            return ind, a, b, [], notes
    if by != "value" and pb <= a and ind.agg_entities == "sum" and not repo.needs_attributes(sel):
        # No filter on where enterprises are: last year's totals of this year's enterprises are
        # those of the same selection, so both periods come from one pass, ranked in the database.
        ranked = repo.ranked_split_totals(session, sel, _path(None, pa, b), pa, pb, a, b, tz, by, n, ascending)
        return ind, a, b, [TopRow(r.enterprise_id, r.name_zh, r.name_en, r.uscc, r.value, r.last_year_value,
                                  *_change(r.value, r.last_year_value)) for r in ranked], notes
    cur = fetch(session, ind, sel, None, a, b, tz)
    ids = tuple(sorted(int(g) for g in cur.values))
    if ids and by != "value":
        plain = Selection(indicator=ind.code, agg_time=ind.agg_time, enterprise_ids=ids, group_by="enterprise")
        prev = fetch(session, ind, plain, None, pa, pb, tz)
        prev_vals = {int(g): next(iter(v.values())) for g, v in prev.values.items() if v}
    rows = []
    for g, vals in cur.values.items():
        eid = int(g)
        v = next(iter(vals.values()), None)
        ly = prev_vals.get(eid)
        rows.append((eid, v, ly, *_change(v, ly)))
    key_index = {"value": 1, "change": 3, "change_pct": 4}[by]
    rows = [r for r in rows if r[key_index] is not None]
    rows.sort(key=lambda r: (float(r[key_index] or 0.0), -r[0]) if ascending
              else (-float(r[key_index] or 0.0), r[0]))
    rows = rows[:n]
    names = repo.enterprise_names(session, [r[0] for r in rows])
    out = [TopRow(eid, names[eid][0], names[eid][1], names[eid][2], v, ly, ch, pct)
           for eid, v, ly, ch, pct in rows]
    return ind, a, b, out, notes
