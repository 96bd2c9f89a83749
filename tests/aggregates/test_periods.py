"""Pure period arithmetic and point figures."""

from __future__ import annotations

from datetime import date, datetime

from backend.aggregates import compute
from backend.aggregates.periods import Bucket, label, same_period_last_year, widen


def test_ranges_widen_to_whole_local_buckets():
    assert widen(date(2024, 2, 10), date(2024, 3, 20), Bucket.month) == (date(2024, 2, 1), date(2024, 4, 1))
    assert widen(date(2024, 2, 10), date(2024, 2, 10), Bucket.week) == (date(2024, 2, 5), date(2024, 2, 12))
    assert widen(date(2024, 5, 5), date(2024, 5, 5), Bucket.quarter) == (date(2024, 4, 1), date(2024, 7, 1))
    assert widen(date(2024, 12, 31), date(2025, 1, 1), Bucket.year) == (date(2024, 1, 1), date(2026, 1, 1))


def test_29_february_has_no_same_day_last_year_and_weeks_compare_52_weeks_back():
    assert same_period_last_year(date(2024, 2, 29), Bucket.day) is None
    assert same_period_last_year(date(2025, 2, 28), Bucket.day) == date(2024, 2, 28)
    assert same_period_last_year(date(2025, 3, 3), Bucket.week) == date(2024, 3, 4)
    assert same_period_last_year(datetime(2025, 1, 1, 0), Bucket.hour) == datetime(2024, 1, 1, 0)
    assert label(date(2025, 3, 3), Bucket.week) == "2025-W10" and label(date(2025, 4, 1), Bucket.quarter) == "2025-Q2"


def test_a_combined_january_february_folds_into_february():
    values = {date(2025, 1, 1): 10.0, date(2025, 2, 1): 30.0, date(2025, 3, 1): 20.0}
    folded, covered = compute.fold_jan_feb(values, {2025})
    assert folded == {date(2025, 2, 1): 40.0, date(2025, 3, 1): 20.0} and covered == {date(2025, 2, 1)}


def test_year_to_date_restarts_each_january_and_adds_a_prefix():
    values = {date(2024, 11, 1): 1.0, date(2024, 12, 1): 2.0, date(2025, 1, 1): 5.0, date(2025, 2, 1): 1.0}
    assert compute.year_to_date(values, Bucket.month, {2024: 100.0}) == {
        date(2024, 11, 1): 101.0, date(2024, 12, 1): 103.0, date(2025, 1, 1): 5.0, date(2025, 2, 1): 6.0}


def test_contributions_of_children_add_up_to_the_parents_growth():
    children = [compute.PointMath(value=60.0, last_year_value=50.0), compute.PointMath(value=45.0,
                                                                                       last_year_value=50.0)]
    parent = compute.PointMath(value=105.0, last_year_value=100.0, yoy_pct=5.0)
    for c in children:
        compute.add_parent_math(c, parent)
    assert [c.contribution_pp for c in children] == [10.0, -5.0]
    assert sum(c.contribution_pp or 0 for c in children) == parent.yoy_pct
    assert [round(c.share_pct or 0, 6) for c in children] == [round(60 / 105 * 100, 6), round(45 / 105 * 100, 6)]


def test_partial_bucket_spans_run_through_the_same_day_last_year_and_in_the_previous_bucket():
    from backend.aggregates.periods import partial_span_last_year, partial_span_previous
    nov, t = date(2026, 11, 1), date(2026, 11, 27)
    assert partial_span_last_year(nov, t, Bucket.month) == (date(2025, 11, 1), date(2025, 11, 28))
    assert partial_span_previous(nov, t, Bucket.month) == (date(2026, 10, 1), date(2026, 10, 28))
    assert partial_span_previous(date(2026, 3, 1), date(2026, 3, 30), Bucket.month) == (date(2026, 2, 1),
                                                                                       date(2026, 3, 1))
    assert partial_span_previous(date(2026, 10, 1), t, Bucket.quarter) == (date(2026, 7, 1), date(2026, 8, 28))
    assert partial_span_last_year(date(2026, 1, 1), t, Bucket.year) == (date(2025, 1, 1), date(2025, 11, 28))
    assert partial_span_previous(date(2026, 1, 1), t, Bucket.year) == (date(2025, 1, 1), date(2025, 11, 28))
    assert partial_span_last_year(date(2028, 2, 1), date(2028, 2, 29), Bucket.month) == (date(2027, 2, 1),
                                                                                        date(2027, 3, 1))
    mon = date(2026, 11, 23)
    assert partial_span_last_year(mon, date(2026, 11, 25), Bucket.week) == (date(2025, 11, 24), date(2025, 11, 27))
    assert partial_span_previous(mon, date(2026, 11, 25), Bucket.week) == (date(2026, 11, 16), date(2026, 11, 19))
