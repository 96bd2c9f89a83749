"""SQL for aggregates: one set-based query over the rollups (or, for hour buckets, the raw
table) that attributes every enterprise value to the registry version valid on its day.

Month, quarter and year buckets read `rollup_monthly`; a (series, month) whose enterprise
changed version inside that month is read from `rollup_daily` instead, day by day, so an
enterprise that moved park on the 15th counts in the old park up to the 14th. Day and week
buckets read `rollup_daily`. Only hour buckets read the raw `observation` hypertable, and only
for ranges of at most 31 days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.aggregates.periods import Bucket

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


_ATTRS = "district_id, park_id, industry_group, above_scale, key_enterprise"
_VERSION_ON = "v.enterprise_id = {eid} AND v.valid_from <= {day} AND (v.valid_to IS NULL OR v.valid_to > {day})"
_WHOLE_MONTH = ("{v}.enterprise_id = em.eid AND {v}.valid_from <= em.month "
                "AND ({v}.valid_to IS NULL OR {v}.valid_to >= (em.month + interval '1 month')::date)")


def _enterprise_part(path: Path, sel: Selection, jf: str) -> str:
    ent_filter = " AND s.entity_id = ANY(CAST(:eids AS int[]))" if sel.enterprise_ids is not None else ""
    vcols = "v.district_id, v.park_id, v.industry_group, v.above_scale, v.key_enterprise"
    if path == "month":
        return f"""
        SELECT em.sid, 'enterprise'::text AS kind, em.eid, em.month AS t, em.sum AS s, em.count AS n, em.last,
               em.last_at, em.jf, {vcols}
        FROM em JOIN enterprise_version v ON {_WHOLE_MONTH.format(v='v')}
        UNION ALL
        SELECT em.sid, 'enterprise', em.eid, d.day, d.sum, d.count, d.last, d.last_at, em.jf, {vcols}
        FROM em
        JOIN rollup_daily d ON d.series_id = em.sid AND d.day >= em.month
             AND d.day < (em.month + interval '1 month')::date
        JOIN enterprise_version v ON {_VERSION_ON.format(eid='em.eid', day='d.day')}
        WHERE NOT EXISTS (SELECT 1 FROM enterprise_version w WHERE {_WHOLE_MONTH.format(v='w')})"""
    if path == "day":
        return f"""
        SELECT s.id, 'enterprise', s.entity_id, d.day, d.sum, d.count, d.last, d.last_at, false, {vcols}
        FROM series s JOIN rollup_daily d ON d.series_id = s.id
        JOIN enterprise_version v ON {_VERSION_ON.format(eid='s.entity_id', day='d.day')}
        WHERE s.indicator_code = :ind AND s.entity_kind = 'enterprise' AND d.day >= :a AND d.day < :b{ent_filter}"""
    return f"""
        SELECT s.id, 'enterprise', s.entity_id, date_trunc('hour', o.time AT TIME ZONE :tz), o.value, 1, o.value,
               o.time, false, {vcols}
        FROM series s JOIN observation o ON o.series_id = s.id
        JOIN enterprise_version v ON {_VERSION_ON.format(eid='s.entity_id', day='(o.time AT TIME ZONE :tz)::date')}
        WHERE s.indicator_code = :ind AND s.entity_kind = 'enterprise' AND o.time >= :ta AND o.time < :tb{ent_filter}"""


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


def _bucket_expr(bucket: Bucket | None) -> str:
    if bucket is None:  # one bucket for the whole range
        return "CAST(:a AS date)"
    if bucket == Bucket.hour:
        return "t"
    if bucket == Bucket.day:
        return "t"
    return f"date_trunc('{bucket.value}', t)::date"


def _group_expr(group_by: GroupBy) -> str:
    return {"none": "''", "district": "district_id::text", "park": "park_id::text", "industry": "industry_group",
            "enterprise": "eid::text", "entity": "kind || ':' || eid::text"}[group_by]


def build_sql(sel: Selection, path: Path, bucket: Bucket | None, per_enterprise: bool = False) -> str:
    """The query; with `per_enterprise` each group key is suffixed by `|<enterprise id>`."""
    parts = []
    if sel.enterprises:
        parts.append(_enterprise_part(path, sel, "false"))
    if sel.city_direct or sel.district_direct or sel.park_direct:
        parts.append(_direct_part(path))
    if not parts:
        return ""
    ctes = []
    if path == "month" and sel.enterprises:
        # CASE, not AND: the lookup runs (by primary key) for February rows only, never as a
        # hash over the whole rollup table.
        jf = ("(CASE WHEN extract(month FROM m.month) = 2 THEN NOT EXISTS (SELECT 1 FROM rollup_monthly j "
              "WHERE j.series_id = s.id AND j.month = (m.month - interval '1 month')::date) ELSE false END)"
              if sel.monthly_frequency else "false")
        ent_filter = " AND s.entity_id = ANY(CAST(:eids AS int[]))" if sel.enterprise_ids is not None else ""
        ctes.append(f"""em AS MATERIALIZED (
            SELECT s.id AS sid, s.entity_id AS eid, m.month, m.sum, m.count, m.last, m.last_at, {jf} AS jf
            FROM series s JOIN rollup_monthly m ON m.series_id = s.id
            WHERE s.indicator_code = :ind AND s.entity_kind = 'enterprise' AND m.month >= :a AND m.month < :b
            {ent_filter})""")
    src = " UNION ALL ".join(parts)
    ctes.append(f"""src (sid, kind, eid, t, s, n, last, last_at, jf, {_ATTRS}) AS ({src})""")
    ctes.append(f"""ps AS (
        SELECT sid, kind, eid, {_bucket_expr(bucket)} AS b, {_ATTRS}, sum(s) AS s, sum(n) AS n,
               (array_agg(last ORDER BY last_at DESC))[1] AS last, max(last_at) AS last_at, bool_or(jf) AS jf
        FROM src GROUP BY sid, kind, eid, 4, {_ATTRS})""")
    source = "ps"
    if sel.agg_time == "last":
        # A stock counts where the series was at the end of the bucket, once.
        ctes.append("pl AS (SELECT DISTINCT ON (sid, b) * FROM ps ORDER BY sid, b, last_at DESC)")
        source = "pl"
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
    group = _group_expr(sel.group_by) + (" || '|' || eid::text" if per_enterprise else "")
    if sel.agg_time == "sum":
        # Sums need no per-series step: add the rows straight into their groups.
        ctes.pop()
        return (f"WITH {', '.join(ctes)} "
                f"SELECT {group} AS g, {_bucket_expr(bucket)} AS b, sum(s) AS value, bool_or(jf) AS jf, "
                f"count(DISTINCT sid) AS n FROM src WHERE {' AND '.join(conds)} GROUP BY 1, 2 ORDER BY 1, 2")
    value = {"mean": "s / NULLIF(n, 0)", "last": "last"}[sel.agg_time]
    return (f"WITH {', '.join(ctes)} "
            f"SELECT {group} AS g, b, sum({value}) AS value, bool_or(jf) AS jf, count(*) AS n "
            f"FROM {source} WHERE {' AND '.join(conds)} GROUP BY 1, 2 ORDER BY 1, 2")


def cells(session: Session, sel: Selection, path: Path, bucket: Bucket | None, a: date, b: date,
          ta: datetime | None = None, tb: datetime | None = None, tz: str = "Asia/Shanghai",
          per_enterprise: bool = False) -> list[Cell]:
    """Values per (group, bucket) for local days [a, b) (hour path: instants [ta, tb))."""
    sql = build_sql(sel, path, bucket, per_enterprise)
    if not sql:
        return []
    params: dict[str, Any] = {
        "ind": sel.indicator, "a": a, "b": b, "ta": ta, "tb": tb, "tz": tz,
        "dd": list(sel.district_direct), "pd": list(sel.park_direct), "city": sel.city_direct,
        "f_d": list(sel.district_ids or ()), "f_p": list(sel.park_ids or ()), "f_i": list(sel.industry_groups or ()),
        "f_a": sel.above_scale, "f_k": sel.key_enterprise, "eids": list(sel.enterprise_ids or ()),
        "x_d": list(sel.exclude_districts), "x_p": list(sel.exclude_parks)}
    rows = session.execute(text(sql), params)
    return [Cell(g or "", k, float(v), bool(jf), int(n)) for g, k, v, jf, n in rows if v is not None]


def direct_series(session: Session, indicator: str) -> dict[str, set[int]]:
    """Which places report `indicator` directly: {'city': {0}, 'district': {...}, 'park': {...}}."""
    out: dict[str, set[int]] = {"city": set(), "district": set(), "park": set()}
    for kind, eid in session.execute(text(
            "SELECT entity_kind, entity_id FROM series WHERE indicator_code = :i AND entity_kind <> 'enterprise'"),
            {"i": indicator}):
        out[kind].add(eid)
    return out


def enterprise_names(session: Session, ids: list[int]) -> dict[int, tuple[str, str | None, str]]:
    rows = session.execute(text("SELECT id, name_zh, name_en, uscc FROM enterprise WHERE id = ANY(CAST(:ids AS int[]))"),
                           {"ids": ids})
    return {i: (zh, en, uscc) for i, zh, en, uscc in rows}
