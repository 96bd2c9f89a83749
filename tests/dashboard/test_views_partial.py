"""The Overview's "this month" label says when the month is not complete yet."""

from __future__ import annotations

from datetime import date

from dashboard import views
from dashboard.client import SeriesOut


def _series(partial: bool) -> SeriesOut:
    point = {"period": "2026-11", "start": "2026-11-01", "value": 5.0, "yoy_pct": -1.0,
             "partial": partial, "through": "2026-11-27" if partial else None}
    return SeriesOut.model_validate({
        "indicator": {"code": "coal.raw_output", "name_zh": "原煤产量", "name_en": "Raw coal", "unit": "t"},
        "bucket": "month", "start": "2026-10-01", "end": "2026-11-30",
        "groups": [{"key": "", "kind": "city", "points": [
            {"period": "2026-10", "start": "2026-10-01", "value": 4.0}, point]}]})


def test_a_partial_month_is_labelled_to_its_last_day_in_both_languages() -> None:
    last = views.last_valid(views.series_frame(_series(True)))
    assert last is not None and last["through"] == date(2026, 11, 27)
    assert views.through_suffix(last["through"], "zh") == "(截至27日)"
    assert views.through_suffix(last["through"], "en") == " (to 27th)"
    assert [views.through_suffix(date(2026, 11, d), "en") for d in (1, 2, 3, 11, 12, 13, 21, 22, 23)] == [
        " (to 1st)", " (to 2nd)", " (to 3rd)", " (to 11th)", " (to 12th)", " (to 13th)", " (to 21st)",
        " (to 22nd)", " (to 23rd)"]


def test_a_complete_month_has_no_label_suffix() -> None:
    last = views.last_valid(views.series_frame(_series(False)))
    assert last is not None
    assert views.through_suffix(last["through"], "zh") == ""
