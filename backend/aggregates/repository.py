"""SQL for aggregates: set-based queries over the rollups (or, for hour buckets, the raw
table) that attribute every enterprise value to the registry version valid on its day.

Month, quarter and year buckets read `rollup_monthly`; a (series, month) whose enterprise
changed version inside that month is read from `rollup_daily` instead, day by day, so an
enterprise that moved park on the 15th counts in the old park up to the 14th. Day and week
buckets read `rollup_daily`. Only hour buckets read the raw `observation` hypertable, and only
for ranges of at most 31 days.

Most enterprises keep their attribution over a whole range, so a first small query
(`moving_sql`) lists the series whose attribution moves within it; the others are read like
the plain rollup with their one attribution (or none, when the figure needs no attribute),
with no per-row registry lookup. See `build_sql`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.aggregates.periods import Bucket
from backend.catalogue.models import Indicator

GroupBy = Literal["none", "district", "park", "industry", "enterprise", "entity"]
Path = Literal["month", "day", "hour"]


@dataclass(frozen=True)
class Selection:
    """Which contributions make up a figure, and how they are filtered and grouped."""

    indicator: str
    agg_time: str  # sum | mean | last
    monthly_frequency: bool = False  # detect January–February combined reports
    city_direct: bool = False
    district_direct: tuple[int, ...] = ()  # districts represented by their own (direct) series
    park_direct: tuple[int, ...] = ()
    enterprises: bool = True
    exclude_districts: tuple[int, ...] = ()  # enterprise values here are covered by a direct series
    exclude_parks: tuple[int, ...] = ()
    district_ids: tuple[int, ...] | None = None
    park_ids: tuple[int, ...] | None = None
    industry_groups: tuple[str, ...] | None = None
    above_scale: bool | None = None
    key_enterprise: bool | None = None
    enterprise_ids: tuple[int, ...] | None = None
    group_by: GroupBy = "none"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Cell:
    group: str  # '' when not grouped
    key: date | datetime  # bucket start (local date, or local naive hour)
    value: float
    jan_feb_combined: bool  # some series reported January and February together (in this February)
    n_series: int
    last_at: datetime | None = None  # the latest observation time in the cell


_ATTRS = "district_id, park_id, industry_group, above_scale, key_enterprise"
_VCOLS = "v.district_id, v.park_id, v.industry_group, v.above_scale, v.key_enterprise"
_NO_VCOLS = ("NULL::int AS district_id, NULL::int AS park_id, NULL::text AS industry_group, "
             "NULL::boolean AS above_scale, NULL::boolean AS key_enterprise")
_VERSION_ON = "v.enterprise_id = {eid} AND v.valid_from <= {day} AND (v.valid_to IS NULL OR v.valid_to > {day})"
_WHOLE_MONTH = ("{v}.enterprise_id = em.eid AND {v}.valid_from <= em.month "
                "AND ({v}.valid_to IS NULL OR {v}.valid_to >= (em.month + interval '1 month')::date)")
_MOVING = " AND s.id = ANY(CAST(:mv AS int[]))"


def needs_attributes(sel: Selection) -> bool:
    """Whether the figure depends on where (district, park, industry, scale) an enterprise was,
    and not only on whether it was registered at all."""
    return (sel.district_ids is not None or sel.park_ids is not None or sel.industry_groups is not None
            or sel.above_scale is not None or sel.key_enterprise is not None or bool(sel.exclude_districts)
            or bool(sel.exclude_parks) or sel.group_by in ("district", "park", "industry"))


def _ent_filter(sel: Selection) -> str:
    return " AND s.entity_id = ANY(CAST(:eids AS int[]))" if sel.enterprise_ids is not None else ""


def moving_sql(sel: Selection) -> str:
    """The enterprise series whose attribution is *not* the same on every day of the local
    days [a, b), and so must be attributed month by month (or day by day).

    With attributes needed: those whose enterprise has no single version covering [a, b).
    Without (city totals, lists of enterprises): those whose enterprise is not registered on
    every day of [a, b); versions never overlap, so the days they cover add up to b - a
    exactly when there is no gap."""
    head = f"SELECT s.id FROM series s WHERE s.indicator_code = :ind AND s.entity_kind = 'enterprise'{_ent_filter(sel)}"
    if needs_attributes(sel):
        return (f"{head} AND NOT EXISTS (SELECT 1 FROM enterprise_version v WHERE v.enterprise_id = s.entity_id "
                "AND v.valid_from <= CAST(:a AS date) AND (v.valid_to IS NULL OR v.valid_to >= CAST(:b AS date)))")
    return f"""{head} AND s.entity_id NOT IN (
                SELECT v.enterprise_id FROM enterprise_version v
                WHERE v.valid_from < CAST(:b AS date) AND (v.valid_to IS NULL OR v.valid_to > CAST(:a AS date))
                GROUP BY 1
                HAVING sum(LEAST(coalesce(v.valid_to, CAST(:b AS date)), CAST(:b AS date))
                           - GREATEST(v.valid_from, CAST(:a AS date))) = CAST(:b AS date) - CAST(:a AS date))"""


def _fixed_series(sel: Selection) -> str:
    """The enterprise series not in :mv, with their one attribution over [a, b) (none when the
    figure needs no attributes)."""
    head = "SELECT s.id AS sid, s.entity_id AS eid"
    where = f"WHERE s.indicator_code = :ind AND s.entity_kind = 'enterprise'{_ent_filter(sel)}"
    if needs_attributes(sel):
        return f"""({head}, {_VCOLS}
            FROM series s JOIN enterprise_version v ON v.enterprise_id = s.entity_id
                 AND v.valid_from <= CAST(:a AS date) AND (v.valid_to IS NULL OR v.valid_to >= CAST(:b AS date))
            {where})"""
    return f"({head}, {_NO_VCOLS} FROM series s {where} AND s.id <> ALL(CAST(:mv AS int[])))"


def _jan_feb(month: str, sid: str) -> str:
    # CASE, not AND: the lookup is needed for February rows only (the planner may still
    # choose to hash the rollup table for it when the rows are many; only month views ask).
    return (f"(CASE WHEN extract(month FROM {month}) = 2 THEN NOT EXISTS (SELECT 1 FROM rollup_monthly j "
            f"WHERE j.series_id = {sid} AND j.month = ({month} - interval '1 month')::date) ELSE false END)")


def _fixed_part(path: Path, sel: Selection, month_buckets: bool) -> str:
    """Rows of the series whose attribution is fixed over the range, read like the plain rollup."""
    sv = _fixed_series(sel)
    cols = "sv.district_id, sv.park_id, sv.industry_group, sv.above_scale, sv.key_enterprise"
    if path == "month":
        jf = _jan_feb("m.month", "sv.sid") if sel.monthly_frequency and month_buckets else "false"
        return f"""
        SELECT sv.sid, 'enterprise'::text, sv.eid, m.month, m.sum, m.count, m.last, m.last_at, {jf}, {cols}
        FROM {sv} sv JOIN rollup_monthly m ON m.series_id = sv.sid WHERE m.month >= :a AND m.month < :b"""
    if path == "day":
        return f"""
        SELECT sv.sid, 'enterprise'::text, sv.eid, d.day, d.sum, d.count, d.last, d.last_at, false, {cols}
        FROM {sv} sv JOIN rollup_daily d ON d.series_id = sv.sid WHERE d.day >= :a AND d.day < :b"""
    return f"""
        SELECT sv.sid, 'enterprise'::text, sv.eid, date_trunc('hour', o.time AT TIME ZONE :tz), o.value, 1, o.value,
               o.time, false, {cols}
        FROM {sv} sv JOIN observation o ON o.series_id = sv.sid WHERE o.time >= :ta AND o.time < :tb"""


def _enterprise_part(path: Path, sel: Selection) -> str:
    """Rows of the series in :mv, each attributed to the version valid on its day."""
    if path == "month":
        return f"""
        SELECT em.sid, 'enterprise'::text AS kind, em.eid, em.month AS t, em.sum AS s, em.count AS n, em.last,
               em.last_at, em.jf, {_VCOLS}
        FROM em JOIN enterprise_version v ON {_WHOLE_MONTH.format(v='v')}
        UNION ALL
        SELECT em.sid, 'enterprise', em.eid, d.day, d.sum, d.count, d.last, d.last_at, em.jf, {_VCOLS}
        FROM em
        JOIN rollup_daily d ON d.series_id = em.sid AND d.day >= em.month
             AND d.day < (em.month + interval '1 month')::date
        JOIN enterprise_version v ON {_VERSION_ON.format(eid='em.eid', day='d.day')}
        WHERE NOT EXISTS (SELECT 1 FROM enterprise_version w WHERE {_WHOLE_MONTH.format(v='w')})"""
    if path == "day":
        return f"""
        SELECT s.id, 'enterprise', s.entity_id, d.day, d.sum, d.count, d.last, d.last_at, false, {_VCOLS}
        FROM series s JOIN rollup_daily d ON d.series_id = s.id
        JOIN enterprise_version v ON {_VERSION_ON.format(eid='s.entity_id', day='d.day')}
        WHERE s.indicator_code = :ind AND s.entity_kind = 'enterprise' AND d.day >= :a AND d.day < :b{_MOVING}"""
    return f"""
        SELECT s.id, 'enterprise', s.entity_id, date_trunc('hour', o.time AT TIME ZONE :tz), o.value, 1, o.value,
               o.time, false, {_VCOLS}
        FROM series s JOIN observation o ON o.series_id = s.id
        JOIN enterprise_version v ON {_VERSION_ON.format(eid='s.entity_id', day='(o.time AT TIME ZONE :tz)::date')}
        WHERE s.indicator_code = :ind AND s.entity_kind = 'enterprise' AND o.time >= :ta AND o.time < :tb{_MOVING}"""


def _direct_part(path: Path) -> str:
    who = ("((s.entity_kind = 'district' AND s.entity_id = ANY(CAST(:dd AS int[]))) OR (s.entity_kind = 'park' "
           "AND s.entity_id = ANY(CAST(:pd AS int[]))) OR (s.entity_kind = 'city' AND CAST(:city AS boolean)))")
    attrs = ("CASE s.entity_kind WHEN 'district' THEN s.entity_id WHEN 'park' THEN p.district_id END, "
             "CASE WHEN s.entity_kind = 'park' THEN s.entity_id END, NULL::text, NULL::boolean, NULL::boolean")
    park_join = "LEFT JOIN park p ON s.entity_kind = 'park' AND p.id = s.entity_id"
    if path == "month":
        return f"""
        SELECT s.id, s.entity_kind, s.entity_id, m.month, m.sum, m.count, m.last, m.last_at, false, {attrs}
        FROM series s JOIN rollup_monthly m ON m.series_id = s.id {park_join}
        WHERE s.indicator_code = :ind AND {who} AND m.month >= :a AND m.month < :b"""
    if path == "day":
        return f"""
        SELECT s.id, s.entity_kind, s.entity_id, d.day, d.sum, d.count, d.last, d.last_at, false, {attrs}
        FROM series s JOIN rollup_daily d ON d.series_id = s.id {park_join}
        WHERE s.indicator_code = :ind AND {who} AND d.day >= :a AND d.day < :b"""
    return f"""
        SELECT s.id, s.entity_kind, s.entity_id, date_trunc('hour', o.time AT TIME ZONE :tz), o.value, 1, o.value,
               o.time, false, {attrs}
        FROM series s JOIN observation o ON o.series_id = s.id {park_join}
        WHERE s.indicator_code = :ind AND {who} AND o.time >= :ta AND o.time < :tb"""


def _bucket_expr(bucket: Bucket | None, rows_are_buckets: bool = False, split: bool = False) -> str:
    if bucket is None and split:  # two buckets: [a, s1) keyed a and [s2, b) keyed s2
        return "CASE WHEN t >= CAST(:s2 AS date) THEN CAST(:s2 AS date) ELSE CAST(:a AS date) END"
    if bucket is None:  # one bucket for the whole range
        return "CAST(:a AS date)"
    if bucket in (Bucket.hour, Bucket.day) or rows_are_buckets:
        return "t"
    # t is a local date (or local hour): truncate it as a plain timestamp, with no time zone
    # arithmetic per row.
    return f"date_trunc('{bucket.value}', t::timestamp)::date"


def _group_expr(group_by: GroupBy) -> str:
    return {"none": "''", "district": "district_id::text", "park": "park_id::text", "industry": "industry_group",
            "enterprise": "eid::text", "entity": "kind || ':' || eid::text"}[group_by]


def _one_row_per_series_and_bucket(path: Path, bucket: Bucket | None) -> bool:
    return (path, bucket) in (("month", Bucket.month), ("day", Bucket.day))


def build_sql(sel: Selection, path: Path, bucket: Bucket | None, per_enterprise: bool = False,
              moving: bool = True, split: bool = False) -> str:
    """The query; with `per_enterprise` each group key is suffixed by `|<enterprise id>`; with
    `split` (and no bucket) two totals, of [a, s1) keyed a and of [s2, b) keyed s2, the days
    [s1, s2) left out: a period and the same period a year earlier in one pass.

    Rows come in two parts: `fixed` (directly reported series, and enterprise series whose
    attribution is the same on every day of the range, see `_fixed_series`: read like the
    plain rollup, one join to the series) and `moving` (the enterprise series in :mv, whose
    version changes within the range, see `moving_sql`: attributed month by month, or day by
    day where a version changes within a month; left out when `moving` is false, i.e. :mv is
    empty). For sums each part is added up on its own and the two are added together; a
    series is in exactly one part, so the series counts add up too."""
    has_direct = sel.city_direct or bool(sel.district_direct) or bool(sel.park_direct)
    if not sel.enterprises and not has_direct:
        return ""
    ctes: list[str] = []
    fixed: list[str] = []
    if sel.enterprises:
        fixed.append(_fixed_part(path, sel, bucket == Bucket.month))
    if sel.enterprises and moving:
        if path == "month":
            # January–February folding only exists for month buckets
            jf = _jan_feb("m.month", "s.id") if sel.monthly_frequency and bucket == Bucket.month else "false"
            ctes.append(f"""em AS MATERIALIZED (
            SELECT s.id AS sid, s.entity_id AS eid, m.month, m.sum, m.count, m.last, m.last_at, {jf} AS jf
            FROM series s JOIN rollup_monthly m ON m.series_id = s.id
            WHERE s.indicator_code = :ind AND s.entity_kind = 'enterprise' AND m.month >= :a AND m.month < :b
            {_MOVING})""")
        ctes.append(f"moving (sid, kind, eid, t, s, n, last, last_at, jf, {_ATTRS}) AS ("
                    f"{_enterprise_part(path, sel)})")
    if has_direct:
        fixed.append(_direct_part(path))
    ctes.append(f"fixed (sid, kind, eid, t, s, n, last, last_at, jf, {_ATTRS}) AS ({' UNION ALL '.join(fixed)})")
    conds = ["true"]
    if sel.district_ids is not None:
        conds.append("district_id = ANY(CAST(:f_d AS int[]))")
    if sel.park_ids is not None:
        conds.append("park_id = ANY(CAST(:f_p AS int[]))")
    if sel.industry_groups is not None:
        conds.append("industry_group = ANY(CAST(:f_i AS text[]))")
    if sel.above_scale is not None:
        conds.append("above_scale = CAST(:f_a AS boolean)")
    if sel.key_enterprise is not None:
        conds.append("key_enterprise = CAST(:f_k AS boolean)")
    if sel.enterprise_ids is not None:
        conds.append("kind = 'enterprise' AND eid = ANY(CAST(:eids AS int[]))")
    if sel.exclude_districts or sel.exclude_parks:
        conds.append("NOT (kind = 'enterprise' AND (district_id = ANY(CAST(:x_d AS int[])) OR coalesce(park_id = ANY(CAST(:x_p AS int[])), false)))")
    if sel.group_by == "park":
        conds.append("park_id IS NOT NULL")
    if sel.group_by == "industry":
        conds.append("industry_group IS NOT NULL")
    split_cond = "(t < CAST(:s1 AS date) OR t >= CAST(:s2 AS date))" if split else "true"
    where = " AND ".join(conds)
    group = _group_expr(sel.group_by) + (" || '|' || eid::text" if per_enterprise else "")
    b_expr = _bucket_expr(bucket, split=split)
    parts = ["fixed", "moving"] if sel.enterprises and moving else ["fixed"]
    if sel.agg_time == "sum":
        # Sums need no per-series step: add the rows straight into their groups.
        # In the fixed part of a month view (monthly rows) or a day view (daily rows) each row is
        # one series in one bucket already: no truncation, and a plain count of series.
        one_row = _one_row_per_series_and_bucket(path, bucket)
        # A group that is one entity holds one series of the indicator (series are unique per
        # indicator and entity, and each is in exactly one part): its count is 1, with no
        # count(DISTINCT) forcing a sort.
        one_series = per_enterprise or sel.group_by in ("enterprise", "entity")
        sums = []
        for part in parts:
            rows_are_buckets = one_row and part == "fixed"
            n = "1" if one_series else "count(*)" if rows_are_buckets else "count(DISTINCT sid)"
            sums.append(f"SELECT {group} AS g, {_bucket_expr(bucket, rows_are_buckets, split)} AS b, sum(s) AS value, "
                        f"bool_or(jf) AS jf, {n} AS n, max(last_at) AS last_at FROM {part} "
                        f"WHERE {where} AND {split_cond} GROUP BY 1, 2")
        return (f"WITH {', '.join(ctes)} SELECT g, b, sum(value) AS value, bool_or(jf) AS jf, sum(n) AS n, "
                f"max(last_at) AS last_at FROM ({' UNION ALL '.join(sums)}) x GROUP BY 1, 2 ORDER BY 1, 2")
    rows = " UNION ALL ".join(f"SELECT * FROM {part}" for part in parts)
    ctes.append(f"""ps AS (
        SELECT sid, kind, eid, {b_expr} AS b, {_ATTRS}, sum(s) AS s, sum(n) AS n,
               (array_agg(last ORDER BY last_at DESC))[1] AS last, max(last_at) AS last_at, bool_or(jf) AS jf
        FROM ({rows}) src WHERE {split_cond} GROUP BY sid, kind, eid, 4, {_ATTRS})""")
    source = "ps"
    if sel.agg_time == "last":
        # A stock counts where the series was at the end of the bucket, once.
        ctes.append("pl AS (SELECT DISTINCT ON (sid, b) * FROM ps ORDER BY sid, b, last_at DESC)")
        source = "pl"
    value = {"mean": "s / NULLIF(n, 0)", "last": "last"}[sel.agg_time]
    return (f"WITH {', '.join(ctes)} "
            f"SELECT {group} AS g, b, sum({value}) AS value, bool_or(jf) AS jf, count(*) AS n, "
            f"max(last_at) AS last_at FROM {source} WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2")


def _query(session: Session, sel: Selection, path: Path, bucket: Bucket | None, a: date, b: date,
           ta: datetime | None, tb: datetime | None, tz: str, per_enterprise: bool,
           split_at: tuple[date, date] | None) -> tuple[str, dict[str, Any]]:
    """The cells query (see `build_sql`) and its parameters ('' when nothing can match)."""
    params: dict[str, Any] = {
        "ind": sel.indicator, "a": a, "b": b, "ta": ta, "tb": tb, "tz": tz,
        "dd": list(sel.district_direct), "pd": list(sel.park_direct), "city": sel.city_direct,
        "f_d": list(sel.district_ids or ()), "f_p": list(sel.park_ids or ()), "f_i": list(sel.industry_groups or ()),
        "f_a": sel.above_scale, "f_k": sel.key_enterprise, "eids": list(sel.enterprise_ids or ()),
        "x_d": list(sel.exclude_districts), "x_p": list(sel.exclude_parks), "mv": [],
        "s1": split_at[0] if split_at else None, "s2": split_at[1] if split_at else None}
    if sel.enterprises:
        # A first, small query finds the few series whose attribution moves within the range,
        # so that the main query's planner knows how many there are (as an array parameter)
        # and reads everything else like the plain rollup.
        params["mv"] = list(session.scalars(text(moving_sql(sel)), params))
    return build_sql(sel, path, bucket, per_enterprise, moving=bool(params["mv"]), split=split_at is not None), params


def cells(session: Session, sel: Selection, path: Path, bucket: Bucket | None, a: date, b: date,
          ta: datetime | None = None, tb: datetime | None = None, tz: str = "Asia/Shanghai",
          per_enterprise: bool = False, split_at: tuple[date, date] | None = None) -> list[Cell]:
    """Values per (group, bucket) for local days [a, b) (hour path: instants [ta, tb)); with
    `split_at` (s1, s2) and no bucket, the totals of [a, s1) and [s2, b) (see `build_sql`)."""
    sql, params = _query(session, sel, path, bucket, a, b, ta, tb, tz, per_enterprise, split_at)
    if not sql:
        return []
    rows = session.execute(text(sql), params).all()
    return [Cell(g or "", k, float(v), bool(jf), int(n), la) for g, k, v, jf, n, la in rows if v is not None]


@dataclass(frozen=True)
class RankedTotal:
    """One enterprise's total over a period and over the same period a year earlier."""

    enterprise_id: int
    value: float
    last_year_value: float | None
    name_zh: str
    name_en: str | None
    uscc: str


RANK_KEYS = {"value": "cur", "change": "cur - prev",
             # the same arithmetic, in the same order, as periods.growth_pct
             "change_pct": "(cur - prev) / abs(NULLIF(prev, 0)) * 100.0"}


def ranked_split_totals(session: Session, sel: Selection, path: Path, a1: date, b1: date, a2: date, b2: date,
                        tz: str, by: str, n: int, ascending: bool) -> list[RankedTotal]:
    """The `n` enterprises (`sel` grouped by enterprise) with the largest (or, `ascending`,
    smallest) total over [a2, b2), or change of that total against [a1, b1) (b1 <= a2), ranked
    in the database with their names: one query returns `n` rows instead of every
    enterprise's two totals. Ties go to the lower enterprise id when largest first, to the
    higher when smallest first (the order `service.top_enterprises` ranks in). Enterprises
    without a key (no value, or no base for a change) are left out."""
    if sel.group_by != "enterprise":
        raise ValueError("ranked_split_totals needs a selection grouped by enterprise")
    sql, params = _query(session, sel, path, None, a1, b2, None, None, tz, False, (b1, a2))
    if not sql:
        return []
    key = RANK_KEYS[by]
    order = "k ASC, eid DESC" if ascending else "k DESC, eid ASC"
    # Each (group, bucket) is one row of the cells query: pivot the two periods side by side
    # (max of one value is that value), rank, and read the names of the n kept only.
    rows = session.execute(text(f"""
        WITH t AS ({sql}),
        x AS (SELECT g::int AS eid, max(value) FILTER (WHERE b = CAST(:s2 AS date)) AS cur,
                     max(value) FILTER (WHERE b = CAST(:a AS date)) AS prev
              FROM t GROUP BY g),
        r AS (SELECT eid, cur, prev, k FROM (SELECT eid, cur, prev, {key} AS k
                                            FROM x WHERE cur IS NOT NULL) y
              WHERE k IS NOT NULL ORDER BY {order} LIMIT :n)
        SELECT r.eid, r.cur, r.prev, e.name_zh, e.name_en, e.uscc
        FROM r JOIN enterprise e ON e.id = r.eid ORDER BY {order.replace("k ", "r.k ").replace("eid ", "r.eid ")}"""),
        {**params, "n": n}).all()
    return [RankedTotal(int(eid), float(v), None if ly is None else float(ly), zh, en, uscc)
            for eid, v, ly, zh, en, uscc in rows]


@dataclass(frozen=True)
class Context:
    """What a figure needs besides its data: the indicator, which places report it directly
    ({'city': {0}, 'district': {...}, 'park': {...}}), each park's district, and the first local
    day with data of any of the indicator's series (None: no data)."""

    indicator: Indicator
    direct: dict[str, set[int]]
    park_district: dict[int, int]
    first_day: date | None = None

    @property
    def first_month(self) -> date | None:
        return None if self.first_day is None else self.first_day.replace(day=1)


def context(session: Session, indicator: str) -> Context | None:
    """The indicator and the lookups around it in one round trip (None: no such indicator).

    The first day with data is one primary-key read of `indicator_first_day`, which triggers
    keep exact whatever writes the rollups (migration 0007).

    It also sets `plan_cache_mode = force_custom_plan` for the rest of the transaction: the
    aggregate queries run often enough for psycopg to prepare them, and a generic plan (made
    without the dates) misjudges how many rollup rows a range holds by 100× and picks nested
    loops that take 10–30× longer than the custom plan. Planning a custom plan costs ~1 ms."""
    row = session.execute(text("""
        SELECT i.code, i.name_zh, i.name_en, i.family, i.unit_code, i.frequency, i.agg_entities, i.agg_time,
               i.weight_indicator, i.is_leading, i.good_direction, i.sort_order,
               set_config('plan_cache_mode', 'force_custom_plan', true),
               (SELECT coalesce(json_agg(json_build_array(s.entity_kind, s.entity_id)), '[]') FROM series s
                WHERE s.indicator_code = i.code AND s.entity_kind <> 'enterprise'),
               (SELECT coalesce(json_object_agg(p.id, p.district_id), '{}') FROM park p),
               (SELECT f.first_day FROM indicator_first_day f WHERE f.indicator_code = i.code)
        FROM indicator i WHERE i.code = :code"""), {"code": indicator}).first()
    if row is None:
        return None
    out: dict[str, set[int]] = {"city": set(), "district": set(), "park": set()}
    for kind, eid in row[13]:
        out[kind].add(int(eid))
    # A plain (transient) Indicator: the rules read its attributes only.
    ind = Indicator(code=row[0], name_zh=row[1], name_en=row[2], family=row[3], unit_code=row[4], frequency=row[5],
                    agg_entities=row[6], agg_time=row[7], weight_indicator=row[8], is_leading=row[9],
                    good_direction=row[10], sort_order=row[11])
    return Context(ind, out, {int(k): int(v) for k, v in row[14].items()}, row[15])


def enterprise_names(session: Session, ids: list[int]) -> dict[int, tuple[str, str | None, str]]:
    rows = session.execute(text("SELECT id, name_zh, name_en, uscc FROM enterprise WHERE id = ANY(CAST(:ids AS int[]))"),
                           {"ids": ids})
    return {i: (zh, en, uscc) for i, zh, en, uscc in rows}


def answer_versions(session: Session, indicator: str) -> tuple[int | None, int | None, int | None]:
    """The data versions (`data_version`, migration 0006) an answer about `indicator` depends
    on: the registry and catalogue (`*`), the indicator, and its weighting indicator (for
    weighted means); None where nothing was ever written. One round trip, primary-key reads."""
    row = session.execute(text("""
        SELECT (SELECT version FROM data_version WHERE scope = '*'),
               (SELECT version FROM data_version WHERE scope = :ind),
               (SELECT v.version FROM indicator i JOIN data_version v ON v.scope = i.weight_indicator
                WHERE i.code = :ind)"""), {"ind": indicator}).one()
    return row[0], row[1], row[2]
