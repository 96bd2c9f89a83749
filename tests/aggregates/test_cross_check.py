"""Aggregates checked against pandas over the raw rows (independent of rollups and SQL)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from backend.aggregates import service
from backend.aggregates.periods import Bucket
from tests.aggregates import world as w
from tests.aggregates.world import approx as _approx
from tests.aggregates.world import growth as _growth

REL = 1e-9


@pytest.fixture()
def world(db_session: Session) -> w.World:
    wd = w.build(db_session)
    w.write_daily(db_session, wd, "coal.raw_output", date(2022, 12, 1), date(2025, 3, 31))
    return wd


def _points(res: service.SeriesResult, group: str = "") -> dict[Any, service.Point]:
    gs = next((g for g in res.groups if g.group == group), None)
    return {p.key: p for p in gs.points} if gs else {}


def test_city_months_with_yoy_and_ytd_match_pandas_over_raw_rows(db_session: Session, world: w.World):
    res = service.series(db_session, service.SeriesQuery(
        indicator="coal.raw_output", bucket=Bucket.month, start=date(2024, 1, 1), end=date(2025, 3, 31)))
    df = w.raw_frame(db_session, "coal.raw_output")
    monthly = df.groupby("month")["value"].sum()
    pts = _points(res)
    assert sorted(pts) == [m for m in monthly.index if date(2024, 1, 1) <= m <= date(2025, 3, 1)]
    for m, p in pts.items():
        assert isinstance(m, date)
        ly = date(m.year - 1, m.month, 1)
        ytd = monthly[(monthly.index >= date(m.year, 1, 1)) & (monthly.index <= m)].sum()
        ly_ytd = monthly[(monthly.index >= date(m.year - 1, 1, 1)) & (monthly.index <= ly)].sum()
        prev = date(m.year - (m.month == 1), (m.month - 2) % 12 + 1, 1)
        assert p.math.value == _approx(monthly[m])
        assert p.math.yoy_pct == _approx(_growth(monthly[m], monthly.get(ly)))
        assert p.math.pop_pct == _approx(_growth(monthly[m], monthly.get(prev)))
        assert p.math.ytd == _approx(ytd)
        assert p.math.ytd_yoy_pct == _approx(_growth(ytd, ly_ytd))


def test_districts_side_by_side_shares_and_contributions_add_up(db_session: Session, world: w.World):
    res = service.series(db_session, service.SeriesQuery(
        indicator="coal.raw_output", bucket=Bucket.month, start=date(2024, 1, 1), end=date(2024, 12, 31),
        group_by="district"))
    df = w.raw_frame(db_session, "coal.raw_output")
    by = df.groupby(["district_id", "month"])["value"].sum()
    city = df.groupby("month")["value"].sum()
    assert res.parent is not None
    parent = {p.key: p for p in res.parent.points}
    for g in res.groups:
        for p in g.points:
            assert p.math.value == _approx(by[(int(g.group), p.key)])
            assert p.math.share_pct == _approx(by[(int(g.group), p.key)] / city[p.key] * 100)
    for m, pp in parent.items():
        assert isinstance(m, date)
        total = sum(p.math.contribution_pp or 0.0 for g in res.groups for p in g.points if p.key == m)
        assert total == pytest.approx(pp.math.yoy_pct, rel=1e-9)
        assert sum(p.math.share_pct or 0 for g in res.groups for p in g.points if p.key == m) == pytest.approx(100)


def test_a_move_on_the_15th_counts_in_the_old_park_until_the_14th(db_session: Session, world: w.World):
    parks = (world.park_ids["WD"], world.park_ids["HN"])
    res = service.series(db_session, service.SeriesQuery(
        indicator="coal.raw_output", bucket=Bucket.month, start=date(2024, 1, 1), end=date(2024, 3, 31),
        park_ids=parks, group_by="park", figures=frozenset()))
    df = w.raw_frame(db_session, "coal.raw_output")
    in_range = (df["month"] >= date(2024, 1, 1)) & (df["month"] <= date(2024, 3, 1))
    by = df[df["park_id"].isin(parks) & in_range].groupby(["park_id", "month"])["value"].sum()
    got = {(int(g.group), p.key): p.math.value for g in res.groups for p in g.points}
    expected: dict[Any, float] = by.to_dict()
    assert got == {(int(k[0]), k[1]): pytest.approx(v, rel=REL) for k, v in expected.items()}
    # the mover's February is split between WD (1–14) and HN (15–29)
    mover = df[(df["eid"] == world.enterprise_ids[0]) & (df["month"] == date(2024, 2, 1))]
    assert set(mover["park_id"]) == set(parks)


@pytest.mark.parametrize("bucket", [Bucket.day, Bucket.week, Bucket.quarter, Bucket.year])
def test_filtered_combinations_in_every_bucket_match_pandas(db_session: Session, world: w.World, bucket: Bucket):
    wuda = world.district_ids["150304"]
    start, end = (date(2024, 2, 10), date(2024, 3, 20)) if bucket in (Bucket.day, Bucket.week) else \
        (date(2024, 1, 1), date(2024, 12, 31))
    res = service.series(db_session, service.SeriesQuery(
        indicator="coal.raw_output", bucket=bucket, start=start, end=end, district_ids=(wuda,),
        industry_groups=("coking",), figures=frozenset({"yoy"})))
    df = w.raw_frame(db_session, "coal.raw_output")
    sub = df[(df["district_id"] == wuda) & (df["industry_group"] == "coking")].copy()
    ts = pd.to_datetime(sub["day"])
    key = {Bucket.day: ts.dt.date, Bucket.week: (ts - pd.to_timedelta(ts.dt.weekday, unit="D")).dt.date,
           Bucket.quarter: ts.dt.to_period("Q").dt.start_time.dt.date,
           Bucket.year: ts.dt.to_period("Y").dt.start_time.dt.date}[bucket]
    sub["k"] = key
    expected = sub.groupby("k")["value"].sum()
    pts = _points(res)
    exp_d: dict[Any, float] = expected.to_dict()
    wanted = {k: v for k, v in exp_d.items() if res.start <= k < res.end}
    assert {k: p.math.value for k, p in pts.items()} == {k: pytest.approx(v, rel=REL) for k, v in wanted.items()}
    if bucket == Bucket.day:
        assert date(2024, 2, 29) in pts
        assert pts[date(2024, 2, 29)].math.yoy_pct is None  # no 29 February in 2023
        mar1 = expected.get(date(2024, 3, 1))
        if mar1 is not None and date(2023, 3, 1) in expected.index:
            assert pts[date(2024, 3, 1)].math.yoy_pct == _approx(_growth(mar1, expected[date(2023, 3, 1)]))


def test_same_basis_growth_counts_the_current_set_in_both_years(db_session: Session, world: w.World):
    res = service.series(db_session, service.SeriesQuery(
        indicator="coal.raw_output", bucket=Bucket.month, start=date(2025, 1, 1), end=date(2025, 3, 31),
        above_scale=True, basis="same", figures=frozenset({"yoy"})))
    df = w.raw_frame(db_session, "coal.raw_output")
    for m, p in _points(res).items():
        assert isinstance(m, date)
        now = df[(df["month"] == m) & (df["above_scale"])]
        members = set(now["eid"])
        ly = df[(df["month"] == date(m.year - 1, m.month, 1)) & (df["eid"].isin(members))]["value"].sum()
        assert p.math.value == _approx(now["value"].sum())
        assert p.math.last_year_value == _approx(ly)
        assert p.math.yoy_pct == _approx(_growth(now["value"].sum(), ly))
    # enterprise 1 entered the above-scale set on 2025-01-01: same basis includes its 2024 values
    plain = service.series(db_session, service.SeriesQuery(
        indicator="coal.raw_output", bucket=Bucket.month, start=date(2025, 1, 1), end=date(2025, 1, 31),
        above_scale=True, figures=frozenset({"yoy"})))
    jan_same = _points(res)[date(2025, 1, 1)].math.last_year_value
    jan_plain = _points(plain)[date(2025, 1, 1)].math.last_year_value
    assert jan_same is not None and jan_plain is not None and jan_same != pytest.approx(jan_plain)


def test_a_january_february_combined_report_is_one_point_compared_with_last_years_two_months(
        db_session: Session, world: w.World):
    combiners = w.write_monthly(db_session, world, "econ.value_added", date(2023, 1, 1), date(2025, 3, 1),
                                combined_years={2024, 2025})
    assert combiners
    res = service.series(db_session, service.SeriesQuery(
        indicator="econ.value_added", bucket=Bucket.month, start=date(2024, 1, 1), end=date(2025, 3, 31)))
    df = w.raw_frame(db_session, "econ.value_added")
    monthly = df.groupby("month")["value"].sum()
    pts = _points(res)
    assert date(2024, 1, 1) not in pts and date(2025, 1, 1) not in pts
    feb24, feb25 = pts[date(2024, 2, 1)], pts[date(2025, 2, 1)]
    assert feb24.combined_months and feb25.combined_months
    jf = {y: monthly[date(y, 1, 1)] + monthly[date(y, 2, 1)] for y in (2023, 2024, 2025)}
    assert feb24.math.value == _approx(jf[2024])
    assert feb24.math.yoy_pct == _approx(_growth(jf[2024], jf[2023]))
    assert feb25.math.yoy_pct == _approx(_growth(jf[2025], jf[2024]))
    assert feb25.math.pop_pct is None and pts[date(2025, 3, 1)].math.pop_pct is None
    ytd_mar25 = jf[2025] + monthly[date(2025, 3, 1)]
    assert pts[date(2025, 3, 1)].math.ytd == _approx(ytd_mar25)
    assert pts[date(2025, 3, 1)].math.ytd_yoy_pct == _approx(_growth(ytd_mar25, jf[2024] + monthly[date(2024, 3, 1)]))
    assert pts[date(2024, 12, 1)].math.ytd == _approx(monthly[(monthly.index >= date(2024, 1, 1))
                                                              & (monthly.index <= date(2024, 12, 1))].sum())


def test_15_minute_data_buckets_by_local_day_and_hour_across_the_new_year(db_session: Session, world: w.World):
    w.write_15min(db_session, world, "power.consumption", date(2024, 12, 30), date(2025, 1, 2))
    df = w.raw_frame(db_session, "power.consumption", table="observation")
    for bucket, col in ((Bucket.day, "day"), (Bucket.month, "month"), (Bucket.year, "year")):
        res = service.series(db_session, service.SeriesQuery(
            indicator="power.consumption", bucket=bucket, start=date(2024, 12, 30), end=date(2025, 1, 2),
            figures=frozenset()))
        expected = df.groupby(col)["value"].sum()
        got = {p.key: p.math.value for p in res.groups[0].points}
        exp_d: dict[Any, float] = expected.to_dict()
        exp = {(date(k, 1, 1) if col == "year" else k): v for k, v in exp_d.items()}
        assert got == {k: pytest.approx(v, rel=REL) for k, v in exp.items()}
    res = service.series(db_session, service.SeriesQuery(
        indicator="power.consumption", bucket=Bucket.hour, start=date(2024, 12, 31), end=date(2025, 1, 1),
        district_ids=(world.district_ids["150304"],), figures=frozenset({"pop"})))
    sub = df[(df["district_id"] == world.district_ids["150304"])
             & (df["day"] >= date(2024, 12, 31)) & (df["day"] <= date(2025, 1, 1))].copy()
    sub["hour"] = sub["local"].dt.floor("h").dt.tz_localize(None).dt.to_pydatetime()
    expected_h = sub.groupby("hour")["value"].sum()
    got_h = {p.key: p.math.value for p in res.groups[0].points}
    assert len(got_h) == 48
    assert got_h == {k.to_pydatetime() if hasattr(k, "to_pydatetime") else k: pytest.approx(v, rel=REL)
                     for k, v in expected_h.items()}
    midnight = datetime(2025, 1, 1, 0, 0)
    assert res.groups[0].points[24].key == midnight


def test_a_stock_counts_once_at_the_end_of_the_month_where_the_enterprise_then_was(db_session: Session,
                                                                                     world: w.World):
    w.write_daily(db_session, world, "coal.plant_stock", date(2024, 1, 1), date(2024, 3, 31), seed=5)
    res = service.series(db_session, service.SeriesQuery(
        indicator="coal.plant_stock", bucket=Bucket.month, start=date(2024, 1, 1), end=date(2024, 3, 31),
        group_by="district", figures=frozenset()))
    df = w.raw_frame(db_session, "coal.plant_stock")
    last = df.sort_values("day").groupby(["eid", "month"]).tail(1)
    expected = last.groupby(["district_id", "month"])["value"].sum()
    got = {(int(g.group), p.key): p.math.value for g in res.groups for p in g.points}
    assert got == {k: pytest.approx(v, rel=REL) for k, v in expected.items()}


def test_a_directly_reported_district_uses_its_own_series_and_the_others_sum_their_enterprises(
        db_session: Session, world: w.World):
    from backend.observations import repository as obs_repo

    wuda = world.district_ids["150304"]
    sid = obs_repo.ensure_series(db_session, [("coal.raw_output", "district", wuda)])[("coal.raw_output", "district",
                                                                                       wuda)]
    obs_repo.write_observations(db_session, [obs_repo.ObservationRow(
        sid, datetime(2024, 5, d, tzinfo=w.TZ), 1.0e6, "test") for d in range(1, 32)], "period_observation",
        "Asia/Shanghai")
    res = service.series(db_session, service.SeriesQuery(
        indicator="coal.raw_output", bucket=Bucket.month, start=date(2024, 5, 1), end=date(2024, 5, 31),
        group_by="district", figures=frozenset()))
    df = w.raw_frame(db_session, "coal.raw_output")
    may = df[df["month"] == date(2024, 5, 1)]
    got = {int(g.group): g.points[0].math.value for g in res.groups}
    assert got[wuda] == pytest.approx(31.0e6)
    others: dict[Any, float] = may[may["district_id"] != wuda].groupby("district_id")["value"].sum().to_dict()
    for d, v in others.items():
        assert got[int(d)] == pytest.approx(v, rel=REL)
    city = service.series(db_session, service.SeriesQuery(
        indicator="coal.raw_output", bucket=Bucket.month, start=date(2024, 5, 1), end=date(2024, 5, 31),
        figures=frozenset()))
    assert city.groups[0].points[0].math.value == pytest.approx(sum(v or 0.0 for v in got.values()), rel=REL)
