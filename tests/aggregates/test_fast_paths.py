"""The shortcuts of the aggregate queries give the exact answer (checked against pandas over
the raw rows): series whose registry attribution is fixed over the range are read like the plain
rollup, the others day by day; figures that need no attributes (city totals, enterprise lists)
only ask whether an enterprise was registered on the day; this year and last year are read in
one query when their ranges touch."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.aggregates import repository as repo
from backend.aggregates import service
from backend.aggregates.periods import Bucket
from tests.aggregates import world as w
from tests.aggregates.world import approx as _approx
from tests.aggregates.world import growth as _growth

LATE_START = date(2024, 3, 15)  # registered mid-month: its values before are not counted
CLOSED, REOPENED = date(2024, 6, 10), date(2024, 8, 1)  # a gap in the registry


@pytest.fixture()
def world(db_session: Session) -> w.World:
    wd = w.build(db_session, seed=11)
    late, gap = wd.enterprise_ids[2], wd.enterprise_ids[3]
    db_session.execute(text("UPDATE enterprise_version SET valid_from = :d WHERE enterprise_id = :e "
                            "AND valid_from = (SELECT min(valid_from) FROM enterprise_version WHERE enterprise_id = :e)"),
                       {"d": LATE_START, "e": late})
    db_session.execute(text("DELETE FROM enterprise_version WHERE enterprise_id = :e AND valid_from > :c"),
                       {"e": gap, "c": CLOSED})
    db_session.execute(text("UPDATE enterprise_version SET valid_to = :c WHERE enterprise_id = :e "
                            "AND valid_from <= :c AND (valid_to IS NULL OR valid_to > :c)"),
                       {"e": gap, "c": CLOSED})
    db_session.execute(text("""
        INSERT INTO enterprise_version (enterprise_id, valid_from, valid_to, district_id, park_id, industry_code,
                                        industry_group, above_scale, key_enterprise)
        SELECT enterprise_id, :r, NULL, district_id, park_id, industry_code, industry_group, above_scale,
               key_enterprise
        FROM enterprise_version WHERE enterprise_id = :e AND valid_to = :c"""),
                       {"e": gap, "c": CLOSED, "r": REOPENED})
    w.write_daily(db_session, wd, "coal.raw_output", date(2022, 12, 1), date(2025, 3, 31))
    return wd


def _points(res: service.SeriesResult, group: str = "") -> dict[Any, service.Point]:
    gs = next((g for g in res.groups if g.group == group), None)
    return {p.key: p for p in gs.points} if gs else {}


def test_the_registry_gap_is_real_and_the_city_query_finds_the_two_enterprises_to_read_day_by_day(
        db_session: Session, world: w.World):
    sel = repo.Selection(indicator="coal.raw_output", agg_time="sum")
    moving = set(db_session.scalars(text(repo.moving_sql(sel)), {"ind": "coal.raw_output", "a": date(2024, 1, 1),
                                                                 "b": date(2025, 1, 1), "eids": []}))
    ids: dict[int, int] = {e: i for e, i in db_session.execute(text(
        "SELECT entity_id, id FROM series WHERE indicator_code = 'coal.raw_output' AND entity_kind = 'enterprise'"))}
    assert moving == {ids[world.enterprise_ids[2]], ids[world.enterprise_ids[3]]}
    # mid-period moves between parks do not matter for a city total; they do for a district
    by_district = repo.Selection(indicator="coal.raw_output", agg_time="sum", group_by="district")
    moving_d = set(db_session.scalars(text(repo.moving_sql(by_district)), {
        "ind": "coal.raw_output", "a": date(2024, 1, 1), "b": date(2025, 1, 1), "eids": []}))
    assert moving < moving_d


@pytest.mark.parametrize("bucket", [Bucket.day, Bucket.week, Bucket.month, Bucket.quarter, Bucket.year])
def test_city_totals_count_only_registered_days_in_every_bucket(db_session: Session, world: w.World,
                                                                 bucket: Bucket):
    start, end = ((date(2024, 3, 1), date(2024, 8, 10)) if bucket in (Bucket.day, Bucket.week)
                  else (date(2024, 1, 1), date(2024, 12, 31)))
    res = service.series(db_session, service.SeriesQuery(
        indicator="coal.raw_output", bucket=bucket, start=start, end=end, figures=frozenset()))
    df = w.raw_frame(db_session, "coal.raw_output")
    ts = pd.to_datetime(df["day"])
    df["k"] = {Bucket.day: ts.dt.date, Bucket.week: (ts - pd.to_timedelta(ts.dt.dayofweek, unit="D")).dt.date,
               Bucket.month: ts.dt.to_period("M").dt.start_time.dt.date,
               Bucket.quarter: ts.dt.to_period("Q").dt.start_time.dt.date,
               Bucket.year: ts.dt.to_period("Y").dt.start_time.dt.date}[bucket]
    sub = df[(df["k"] >= res.start) & (df["k"] < res.end)]
    values: dict[Any, float] = sub.groupby("k")["value"].sum().to_dict()
    counts: dict[Any, int] = sub.groupby("k")["eid"].nunique().to_dict()
    pts = _points(res)
    assert {k: p.math.value for k, p in pts.items()} == {k: _approx(v) for k, v in values.items()}
    assert {k: p.n_series for k, p in pts.items()} == counts


def test_enterprise_lists_leave_out_the_unregistered_days(db_session: Session, world: w.World):
    late, gap = world.enterprise_ids[2], world.enterprise_ids[3]
    res = service.series(db_session, service.SeriesQuery(
        indicator="coal.raw_output", bucket=Bucket.month, start=date(2024, 1, 1), end=date(2024, 12, 31),
        enterprise_ids=(late, gap, world.enterprise_ids[4]), group_by="enterprise", figures=frozenset()))
    df = w.raw_frame(db_session, "coal.raw_output")
    sub = df[df["eid"].isin([late, gap, world.enterprise_ids[4]]) & (df["year"] == 2024)]
    expected: dict[Any, float] = sub.groupby(["eid", "month"])["value"].sum().to_dict()
    got = {(int(g.group), p.key): p.math.value for g in res.groups for p in g.points}
    assert got == {k: _approx(v) for k, v in expected.items()}
    assert (late, date(2024, 1, 1)) not in got and (gap, date(2024, 7, 1)) not in got


def test_day_view_over_more_than_a_year_has_year_to_date_and_yoy_from_one_read(db_session: Session, world: w.World):
    """Ranges of a year or more read this year and last year in one query; the year-to-date
    prefix before the range must not be counted twice."""
    wuda = world.district_ids["150304"]
    res = service.series(db_session, service.SeriesQuery(
        indicator="coal.raw_output", bucket=Bucket.day, start=date(2024, 3, 10), end=date(2025, 3, 20),
        district_ids=(wuda,)))
    df = w.raw_frame(db_session, "coal.raw_output")
    daily = df[df["district_id"] == wuda].groupby("day")["value"].sum()
    pts = _points(res)
    assert len(pts) > 300
    for d in (date(2024, 3, 10), date(2024, 12, 31), date(2025, 1, 1), date(2025, 3, 20)):
        p = pts[d]
        ytd = daily[(daily.index >= date(d.year, 1, 1)) & (daily.index <= d)].sum()
        ly = date(d.year - 1, d.month, d.day)
        ly_ytd = daily[(daily.index >= date(ly.year, 1, 1)) & (daily.index <= ly)].sum()
        assert p.math.value == _approx(daily[d])
        assert p.math.yoy_pct == _approx(_growth(daily[d], daily.get(ly)))
        assert p.math.ytd == _approx(ytd)
        assert p.math.ytd_yoy_pct == _approx(_growth(ytd, ly_ytd))


def test_a_month_view_reads_one_query_for_this_and_last_year_and_splits_it_exactly(db_session: Session,
                                                                                  world: w.World):
    q = service.SeriesQuery(indicator="coal.raw_output", bucket=Bucket.month, start=date(2024, 1, 1),
                            end=date(2024, 12, 31), group_by="district")
    ctx = service.context_or_404(db_session, q.indicator)
    sel, _ = service.make_selection(ctx, q, "district")
    cur, prev = service.fetch_with_last_year(db_session, ctx.indicator, sel, Bucket.month, date(2023, 12, 1),
                                             date(2025, 1, 1), "Asia/Shanghai", True)
    alone_cur = service.fetch(db_session, ctx.indicator, sel, Bucket.month, date(2023, 12, 1), date(2025, 1, 1),
                              "Asia/Shanghai")
    alone_prev = service.fetch(db_session, ctx.indicator, sel, Bucket.month, date(2022, 12, 1), date(2024, 1, 1),
                               "Asia/Shanghai")
    assert {g: {k: _approx(v) for k, v in vals.items()} for g, vals in cur.values.items()} == alone_cur.values
    assert {g: {k: _approx(v) for k, v in vals.items()} for g, vals in prev.values.items()} == alone_prev.values
    assert dict(cur.n) == dict(alone_cur.n) and dict(prev.n) == dict(alone_prev.n)


@pytest.mark.parametrize("start,end", [(date(2024, 6, 1), date(2024, 9, 30)), (date(2024, 6, 5), date(2024, 8, 20))])
def test_top_enterprises_by_change_read_in_one_pass_match_pandas(db_session: Session, world: w.World,
                                                                  start: date, end: date):
    df = w.raw_frame(db_session, "coal.raw_output")
    cur = df[(df["day"] >= start) & (df["day"] <= end)].groupby("eid")["value"].sum()
    ly_start, ly_end = date(start.year - 1, start.month, start.day), date(end.year - 1, end.month, end.day)
    prev = df[(df["day"] >= ly_start) & (df["day"] <= ly_end)].groupby("eid")["value"].sum()
    q = service.SeriesQuery(indicator="coal.raw_output", bucket=Bucket.day, start=start, end=end)
    _, _, _, rows, _ = service.top_enterprises(db_session, q, "change", 50, False)
    # the late registrant has no values last year, so no change to rank by
    assert world.enterprise_ids[2] not in prev.index
    assert {r.enterprise_id for r in rows} == set((cur - prev).dropna().index)
    for r in rows:
        assert r.value == _approx(cur[r.enterprise_id])
        assert r.last_year_value == _approx(prev.get(r.enterprise_id))
    changes = [r.change or 0.0 for r in rows]
    assert all(r.change is not None for r in rows) and changes == sorted(changes, reverse=True)
    # with a district filter last year's values are those of this year's members wherever they were
    wuda = world.district_ids["150304"]
    members = set(df[(df["day"] >= start) & (df["day"] <= end) & (df["district_id"] == wuda)]["eid"])
    _, _, _, in_wuda, _ = service.top_enterprises(db_session, service.SeriesQuery(
        indicator="coal.raw_output", bucket=Bucket.day, start=start, end=end, district_ids=(wuda,)), "change", 50, False)
    assert {r.enterprise_id for r in in_wuda} == members & set(prev.index)
    for r in in_wuda:
        assert r.last_year_value == _approx(prev.get(r.enterprise_id))


@pytest.mark.parametrize("by", ["change", "change_pct"])
@pytest.mark.parametrize("ascending", [False, True])
@pytest.mark.parametrize("n", [3, 50])
def test_top_enterprises_ranked_in_the_database_match_a_pandas_ranking(db_session: Session, world: w.World,
                                                                       by: str, ascending: bool, n: int):
    """The one-pass top-N ranks in SQL and returns n rows: the same enterprises in the same
    order (largest first, ties to the lower id; smallest first, ties to the higher id) and
    the same figures as ranking every enterprise's totals in pandas."""
    start, end = date(2024, 6, 5), date(2024, 8, 20)
    df = w.raw_frame(db_session, "coal.raw_output")
    cur = df[(df["day"] >= start) & (df["day"] <= end)].groupby("eid")["value"].sum()
    prev = df[(df["day"] >= date(2023, 6, 5)) & (df["day"] <= date(2023, 8, 20))].groupby("eid")["value"].sum()
    keyed = []
    for eid, v in cur.items():
        ly = prev.get(eid)
        key = (v - ly) if by == "change" and ly is not None else _growth(v, ly) if by == "change_pct" else None
        if key is not None:
            keyed.append((key, int(eid)))
    keyed.sort(key=lambda t: (t[0], -t[1]) if ascending else (-t[0], t[1]))
    q = service.SeriesQuery(indicator="coal.raw_output", bucket=Bucket.day, start=start, end=end)
    _, _, _, rows, _ = service.top_enterprises(db_session, q, by, n, ascending)
    assert len(keyed) > 3
    assert [r.enterprise_id for r in rows] == [eid for _, eid in keyed[:n]]
    for r in rows:
        assert r.value == _approx(cur[r.enterprise_id])
        assert r.last_year_value == _approx(prev[r.enterprise_id])
        assert r.change == _approx(cur[r.enterprise_id] - prev[r.enterprise_id])
        assert r.change_pct == _approx(_growth(cur[r.enterprise_id], prev[r.enterprise_id]))
        assert r.name_zh and r.uscc


def test_day_view_shorter_than_a_year_has_year_to_date_per_district(db_session: Session, world: w.World):
    """The days of the month before the range feed 累计 and are not shown as points."""
    start, end = date(2024, 3, 10), date(2024, 5, 20)
    res = service.series(db_session, service.SeriesQuery(
        indicator="coal.raw_output", bucket=Bucket.day, start=start, end=end, group_by="district"))
    df = w.raw_frame(db_session, "coal.raw_output")
    daily = df.groupby(["district_id", "day"])["value"].sum()
    assert res.groups
    for g in res.groups:
        pts = _points(res, g.group)
        assert min(pts) == start and max(pts) == end
        series_d = daily[int(g.group)]
        for d in (start, date(2024, 4, 1), end):
            ytd = series_d[(series_d.index >= date(2024, 1, 1)) & (series_d.index <= d)].sum()
            ly = date(d.year - 1, d.month, d.day)
            ly_ytd = series_d[(series_d.index >= date(2023, 1, 1)) & (series_d.index <= ly)].sum()
            assert pts[d].math.value == _approx(series_d[d])
            assert pts[d].math.ytd == _approx(ytd)
            assert pts[d].math.ytd_yoy_pct == _approx(_growth(ytd, ly_ytd))


def test_a_weighted_mean_over_enterprises_uses_each_enterprise_weight_in_the_same_month(db_session: Session,
                                                                                        world: w.World):
    w.write_monthly(db_session, world, "energy.unit_consumption", date(2024, 1, 1), date(2024, 6, 1), set(), seed=8)
    w.write_monthly(db_session, world, "econ.main_product_output", date(2024, 1, 1), date(2024, 6, 1), set(), seed=9)
    res = service.series(db_session, service.SeriesQuery(
        indicator="energy.unit_consumption", bucket=Bucket.month, start=date(2024, 1, 1), end=date(2024, 6, 30),
        group_by="district", figures=frozenset()))
    v = w.raw_frame(db_session, "energy.unit_consumption")
    wt = w.raw_frame(db_session, "econ.main_product_output")[["eid", "month", "value"]].rename(columns={"value": "w"})
    df = v.merge(wt, on=["eid", "month"])
    df["vw"] = df["value"] * df["w"]
    by = df.groupby(["district_id", "month"])[["vw", "w"]].sum()
    expected: dict[Any, float] = (by["vw"] / by["w"]).to_dict()
    got = {(int(g.group), p.key): p.math.value for g in res.groups for p in g.points}
    assert got == {(int(k[0]), k[1]): _approx(x) for k, x in expected.items()}
