"""The bucket not complete yet is compared with the same span (同期) a year earlier and of the
previous bucket, and flagged; comparisons whose base starts before the data do are not given.
Checked against pandas over the raw rows."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.aggregates import service
from backend.aggregates.periods import Bucket
from tests.aggregates import world as w
from tests.aggregates.world import approx as _approx
from tests.aggregates.world import growth as _growth
from tests.api.support import ADMIN, auth

FIRST, THROUGH = date(2023, 11, 1), date(2025, 11, 27)  # daily data: a Thursday, 27 days into November
TODAY = date(2025, 11, 28)  # in Asia/Shanghai: today's values are not in yet
LATE_FIRST = date(2024, 10, 10)  # a second dataset that starts mid-month


def _total(df: pd.DataFrame, a: date, b_inclusive: date) -> float:
    return float(df[(df["day"] >= a) & (df["day"] <= b_inclusive)]["value"].sum())


@pytest.fixture()
def world(db_session: Session) -> w.World:
    wd = w.build(db_session, seed=5)
    w.write_daily(db_session, wd, "coal.raw_output", FIRST, THROUGH)
    w.write_daily(db_session, wd, "coal.washed_output", LATE_FIRST, THROUGH, seed=9)
    return wd


def _points(res: service.SeriesResult, group: str = "") -> dict[Any, service.Point]:
    gs = next((g for g in res.groups if g.group == group), None)
    return {p.key: p for p in gs.points} if gs else {}


def _run(session: Session, indicator: str, bucket: Bucket, start: date, end: date, today: date = TODAY,
         **kw: Any) -> service.SeriesResult:
    return service.series(session, _q(indicator, bucket, start, end, **kw), today=today)


def _q(indicator: str, bucket: Bucket, start: date, end: date, **kw: Any) -> service.SeriesQuery:
    return service.SeriesQuery(indicator=indicator, bucket=bucket, start=start, end=end, **kw)


def test_the_current_month_is_compared_with_the_same_days_last_year_and_last_month(db_session: Session,
                                                                                   world: w.World):
    res = _run(db_session, "coal.raw_output", Bucket.month, date(2025, 1, 1), date(2025, 11, 30))
    df = w.raw_frame(db_session, "coal.raw_output")
    nov = _points(res)[date(2025, 11, 1)]
    assert nov.through == THROUGH
    value = _total(df, date(2025, 11, 1), THROUGH)
    same_days_last_year = _total(df, date(2024, 11, 1), date(2024, 11, 27))
    same_days_october = _total(df, date(2025, 10, 1), date(2025, 10, 27))
    ytd, ly_ytd = _total(df, date(2025, 1, 1), THROUGH), _total(df, date(2024, 1, 1), date(2024, 11, 27))
    assert nov.math.value == _approx(value)
    assert nov.math.last_year_value == _approx(same_days_last_year)
    assert nov.math.yoy_pct == _approx(_growth(value, same_days_last_year))
    assert nov.math.pop_pct == _approx(_growth(value, same_days_october))
    assert nov.math.ytd == _approx(ytd)
    assert nov.math.last_year_ytd == _approx(ly_ytd)
    assert nov.math.ytd_yoy_pct == _approx(_growth(ytd, ly_ytd))
    # not the whole November of last year: that comparison is a false fall of about 10 %
    whole = _total(df, date(2024, 11, 1), date(2024, 11, 30))
    assert nov.math.yoy_pct != _approx(_growth(value, whole))
    assert any("not complete" in n for n in res.notes)


def test_complete_months_keep_whole_month_comparisons_and_no_flag(db_session: Session, world: w.World):
    res = _run(db_session, "coal.raw_output", Bucket.month, date(2025, 1, 1), date(2025, 11, 30))
    df = w.raw_frame(db_session, "coal.raw_output")
    pts = _points(res)
    for m in [date(2025, k, 1) for k in range(1, 11)]:
        p = pts[m]
        end = (m.replace(month=m.month + 1) if m.month < 12 else date(m.year + 1, 1, 1)) - timedelta(days=1)
        ly_m = m.replace(year=m.year - 1)
        ly_end = (ly_m.replace(month=m.month + 1) if m.month < 12 else date(m.year, 1, 1)) - timedelta(days=1)
        prev = date(m.year - (m.month == 1), (m.month - 2) % 12 + 1, 1)
        assert p.through is None
        assert p.math.value == _approx(_total(df, m, end))
        assert p.math.yoy_pct == _approx(_growth(_total(df, m, end), _total(df, ly_m, ly_end)))
        assert p.math.pop_pct == _approx(_growth(_total(df, m, end), _total(df, prev, m - timedelta(days=1))))
        assert p.math.ytd_yoy_pct == _approx(_growth(_total(df, date(2025, 1, 1), end),
                                                     _total(df, date(2024, 1, 1), ly_end)))


def test_the_current_year_is_compared_with_last_year_through_the_same_day(db_session: Session, world: w.World):
    res = _run(db_session, "coal.raw_output", Bucket.year, date(2024, 1, 1), date(2025, 12, 31))
    df = w.raw_frame(db_session, "coal.raw_output")
    pts = _points(res)
    y = pts[date(2025, 1, 1)]
    value, base = _total(df, date(2025, 1, 1), THROUGH), _total(df, date(2024, 1, 1), date(2024, 11, 27))
    assert y.through == THROUGH
    assert y.math.value == _approx(value)
    assert y.math.yoy_pct == _approx(_growth(value, base))
    assert y.math.pop_pct == _approx(_growth(value, base))
    assert y.math.ytd_yoy_pct == _approx(_growth(value, base))
    # 2024 is complete, but its base (2023) starts before the data (1 November 2023): no 同比
    full = pts[date(2024, 1, 1)]
    assert full.through is None
    assert full.math.value == _approx(_total(df, date(2024, 1, 1), date(2024, 12, 31)))
    assert full.math.yoy_pct is None and full.math.last_year_value is None and full.math.ytd_yoy_pct is None


@pytest.mark.parametrize("bucket, start, ly_span, prev_span", [
    (Bucket.quarter, date(2025, 10, 1), (date(2024, 10, 1), date(2024, 11, 27)), (date(2025, 7, 1), date(2025, 8, 27))),
    (Bucket.week, date(2025, 11, 24), (date(2024, 11, 25), date(2024, 11, 28)),
     (date(2025, 11, 17), date(2025, 11, 20))),
])
def test_a_partial_quarter_and_week_compare_the_same_span(db_session: Session, world: w.World, bucket: Bucket,
                                                          start: date, ly_span: tuple[date, date],
                                                          prev_span: tuple[date, date]):
    res = _run(db_session, "coal.raw_output", bucket, start, THROUGH)
    df = w.raw_frame(db_session, "coal.raw_output")
    p = _points(res)[start]
    value = _total(df, start, THROUGH)
    assert p.through == THROUGH
    assert p.math.value == _approx(value)
    assert p.math.yoy_pct == _approx(_growth(value, _total(df, *ly_span)))
    assert p.math.pop_pct == _approx(_growth(value, _total(df, *prev_span)))


def test_district_contributions_to_a_partial_month_add_up_to_its_same_span_growth(db_session: Session,
                                                                                  world: w.World):
    res = _run(db_session, "coal.raw_output", Bucket.month, date(2025, 11, 1), date(2025, 11, 30),
                                        group_by="district")
    df = w.raw_frame(db_session, "coal.raw_output")
    assert res.parent is not None
    parent = _points(service.SeriesResult(res.indicator, res.bucket, res.start, res.end, "", [res.parent]))
    nov = date(2025, 11, 1)
    assert parent[nov].through == THROUGH
    cur, base = _total(df, nov, THROUGH), _total(df, date(2024, 11, 1), date(2024, 11, 27))
    assert parent[nov].math.yoy_pct == _approx(_growth(cur, base))
    assert sum(p.math.contribution_pp or 0.0 for g in res.groups for p in g.points if p.key == nov) == \
        pytest.approx(parent[nov].math.yoy_pct, rel=1e-9)
    for g in res.groups:
        d = df[df["district_id"] == int(g.group)]
        p = _points(res, g.group)[nov]
        assert p.through == THROUGH
        assert p.math.yoy_pct == _approx(_growth(_total(d, nov, THROUGH), _total(d, date(2024, 11, 1),
                                                                                 date(2024, 11, 27))))


def test_a_base_that_starts_before_the_data_gives_no_comparison(db_session: Session, world: w.World):
    df = w.raw_frame(db_session, "coal.washed_output")
    assert df["day"].min() == LATE_FIRST
    res = _run(db_session, "coal.washed_output", Bucket.month, date(2024, 10, 1), date(2025, 11, 30))
    pts = _points(res)
    # October 2024 holds 22 days: October 2025 is not compared with it, nor November 2024 with it
    assert pts[date(2025, 10, 1)].math.yoy_pct is None
    assert pts[date(2025, 10, 1)].math.last_year_value is None
    assert pts[date(2024, 11, 1)].math.pop_pct is None
    assert pts[date(2024, 12, 1)].math.pop_pct == _approx(_growth(
        _total(df, date(2024, 12, 1), date(2024, 12, 31)), _total(df, date(2024, 11, 1), date(2024, 11, 30))))
    # last year's 累计 starts on 1 January 2024, before the data: no 累计同比
    assert all(p.math.ytd_yoy_pct is None for p in pts.values())
    assert all(p.math.ytd is not None for p in pts.values())
    # the partial November 2025 compares 1–27 November 2024, which the data cover in full
    nov = pts[date(2025, 11, 1)]
    assert nov.through == THROUGH
    assert nov.math.yoy_pct == _approx(_growth(_total(df, date(2025, 11, 1), THROUGH),
                                               _total(df, date(2024, 11, 1), date(2024, 11, 27))))
    assert any("Data start after 2024-10-01 (within 2024-10)" in n for n in res.notes)
    # day view: the first day with a whole base is the dataset's first day a year later
    days_res = _run(db_session, "coal.washed_output", Bucket.day, date(2025, 10, 8), date(2025, 10, 12))
    days = _points(days_res)
    assert any("Data start on 2024-10-10" in n for n in days_res.notes)
    by_day = df.groupby("day")["value"].sum()
    assert days[date(2025, 10, 9)].math.yoy_pct is None
    for d in (date(2025, 10, 10), date(2025, 10, 11)):
        assert days[d].math.yoy_pct == _approx(_growth(by_day[d], by_day[d.replace(year=2024)]))
        assert days[d].math.ytd_yoy_pct is None


def test_an_enterprise_that_starts_later_keeps_its_comparisons_where_the_dataset_covers_the_base(
        db_session: Session, world: w.World):
    # the dataset's own start decides; a series of its own that begins later only lacks a base
    late = world.enterprise_ids[4]
    w.write_daily(db_session, w.World([late], world.district_ids, world.park_ids), "coke.output",
                  date(2024, 6, 1), THROUGH, seed=4)
    w.write_daily(db_session, w.World([e for e in world.enterprise_ids if e != late], world.district_ids,
                                      world.park_ids), "coke.output", date(2025, 3, 1), THROUGH, seed=6)
    df = w.raw_frame(db_session, "coke.output")
    res = _run(db_session, "coke.output", Bucket.month, date(2025, 6, 1), date(2025, 6, 30))
    june = _points(res)[date(2025, 6, 1)]
    assert june.math.yoy_pct == _approx(_growth(_total(df, date(2025, 6, 1), date(2025, 6, 30)),
                                                _total(df, date(2024, 6, 1), date(2024, 6, 30))))


def test_a_monthly_indicator_runs_through_its_last_month_and_the_year_compares_the_same_months(
        db_session: Session, world: w.World):
    w.write_monthly(db_session, world, "econ.value_added", date(2023, 1, 1), date(2025, 10, 1), set())
    df = w.raw_frame(db_session, "econ.value_added")
    res = _run(db_session, "econ.value_added", Bucket.year, date(2024, 1, 1), date(2025, 12, 31))
    y = _points(res)[date(2025, 1, 1)]
    assert y.through == date(2025, 10, 31)
    value, base = _total(df, date(2025, 1, 1), date(2025, 10, 31)), _total(df, date(2024, 1, 1), date(2024, 10, 31))
    assert y.math.yoy_pct == _approx(_growth(value, base))
    months = _run(db_session, "econ.value_added", Bucket.month, date(2025, 9, 1), date(2025, 11, 30))
    assert all(p.through is None for p in _points(months).values())  # October is a whole month


def test_a_past_bucket_with_fewer_days_of_data_is_not_partial(db_session: Session, world: w.World):
    # only the bucket that contains today can be incomplete: a month ago November was whole
    res = _run(db_session, "coal.raw_output", Bucket.month, date(2025, 11, 1), date(2025, 12, 31),
               today=date(2025, 12, 20))
    df = w.raw_frame(db_session, "coal.raw_output")
    nov = _points(res)[date(2025, 11, 1)]
    assert nov.through is None
    assert nov.math.yoy_pct == _approx(_growth(_total(df, date(2025, 11, 1), THROUGH),
                                               _total(df, date(2024, 11, 1), date(2024, 11, 30))))


def test_the_api_flags_the_current_month_and_names_the_one_district(client: TestClient, db_session: Session,
                                                                     world: w.World):
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    w.write_daily(db_session, world, "coal.rail_in", today - timedelta(days=40), today, seed=8)
    h = auth(client, ADMIN)
    month = today.replace(day=1)
    q = f"/api/v1/series?indicator=coal.rail_in&bucket=month&start={month}&end={today}"
    city = client.get(q, headers=h).json()
    (point,) = city["groups"][0]["points"]
    whole = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1) == today  # the month's last day
    assert (point["partial"], point["through"]) == ((False, None) if whole else (True, today.isoformat()))
    assert (city["groups"][0]["key"], city["groups"][0]["name_zh"]) == ("", None)
    r = client.get(q + "&district=150304", headers=h)
    assert r.status_code == 200, r.text
    g = r.json()["groups"][0]
    assert (g["key"], g["kind"], g["name_zh"]) == ("150304", "district", "乌达区")


def test_top_by_change_gives_no_ranking_when_last_year_starts_before_the_data(db_session: Session, world: w.World):
    # coal.washed_output starts on 2024-10-10: 2025-10-01..2025-10-31 against 2024-10-01..31 has a
    # base that starts before the data; November against November 2024 does not.
    oct_q = service.SeriesQuery(indicator="coal.washed_output", bucket=Bucket.day, start=date(2025, 10, 1),
                                end=date(2025, 10, 31))
    _, _, _, rows, notes = service.top_enterprises(db_session, oct_q, "change", 5, False)
    assert rows == [] and "2024-10-10" in notes[0]
    _, _, _, by_value, notes_v = service.top_enterprises(db_session, oct_q, "value", 5, False)
    assert len(by_value) == 5 and notes_v == []
    nov_q = service.SeriesQuery(indicator="coal.washed_output", bucket=Bucket.day, start=date(2025, 11, 1),
                                end=date(2025, 11, 27))
    _, _, _, nov, nov_notes = service.top_enterprises(db_session, nov_q, "change", 5, False)
    assert len(nov) == 5 and nov_notes == [] and all(r.change is not None for r in nov)
    # the indicator with data since 2023 ranks October by change as before
    full = service.SeriesQuery(indicator="coal.raw_output", bucket=Bucket.day, start=date(2025, 10, 1),
                               end=date(2025, 10, 31))
    assert len(service.top_enterprises(db_session, full, "change", 5, False)[3]) == 5


def test_todays_day_point_is_partial_and_compared_with_nothing_yesterday_keeps_its_figures(db_session: Session,
                                                                                         world: w.World):
    w.write_daily(db_session, world, "coal.raw_output", TODAY, TODAY, seed=11)  # today's running figure
    res = _run(db_session, "coal.raw_output", Bucket.day, TODAY - timedelta(days=6), TODAY)
    df = w.raw_frame(db_session, "coal.raw_output")
    pts = _points(res)
    today, yesterday = pts[TODAY], pts[THROUGH]
    assert today.through == TODAY and today.math.value == _approx(_total(df, TODAY, TODAY))
    assert (today.math.yoy_pct, today.math.pop_pct, today.math.ytd_yoy_pct, today.math.last_year_value) == (
        None, None, None, None)
    assert today.math.ytd == _approx(_total(df, date(2025, 1, 1), TODAY))
    assert yesterday.through is None
    assert yesterday.math.pop_pct == _approx(_growth(_total(df, THROUGH, THROUGH),
                                                     _total(df, THROUGH - timedelta(days=1), THROUGH - timedelta(days=1))))
    assert yesterday.math.yoy_pct is not None
    assert any("today" in n and "not complete" in n for n in res.notes)
    # a day view that ends before today has no such point and no note
    past = _run(db_session, "coal.raw_output", Bucket.day, TODAY - timedelta(days=6), THROUGH)
    assert all(p.through is None for p in _points(past).values())
    assert not any("today" in n for n in past.notes)
