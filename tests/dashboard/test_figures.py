"""The figure builders: DataFrame in, Figure out (no I/O)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pandas as pd

from dashboard import figures
from dashboard.theme import WARNING_COLOURS, WARNING_SYMBOLS


def _series(n: int = 10, base: float = 100.0) -> pd.DataFrame:
    return pd.DataFrame({"period": [f"2025-03-{d:02d}" for d in range(1, n + 1)],
                         "value": [base + d for d in range(n)]})


def _flags(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame([{"period": p, "level": lvl, "expected": 104.0, "band_low": 101.0, "band_high": 107.0,
                          "explanation": "用电量低于预期区间", "alert_id": i} for i, (p, lvl) in enumerate(rows)])


def test_trend_draws_each_flag_in_its_warning_colour_and_symbol_on_the_line() -> None:
    fig = figures.trend_with_flags(_series(), _flags([("2025-03-03", "red"), ("2025-03-07", "yellow")]),
                                   title="电", unit="千瓦时")
    by_name = {tr.name: tr for tr in fig.data}
    red, yellow = by_name["红色"], by_name["黄色"]
    assert red.marker.color == WARNING_COLOURS["red"] and red.marker.symbol == WARNING_SYMBOLS["red"]
    assert yellow.marker.color == WARNING_COLOURS["yellow"]
    # on the line: the flag's y is the series' value in that bucket
    assert list(red.y) == [102.0] and list(yellow.y) == [106.0]
    assert "预期" in red.hovertemplate and "customdata[4]" in red.hovertemplate
    assert red.customdata[0][4] == "用电量低于预期区间"


def test_trend_without_flags_has_one_trace_and_drillable_periods() -> None:
    fig = figures.trend_with_flags(_series(), figures.flags_frame([], "day"), title="电", unit="千瓦时")
    assert len(fig.data) == 1
    assert list(fig.data[0].customdata)[:2] == ["2025-03-01", "2025-03-02"]


def test_trend_draws_the_expected_band_only_when_asked() -> None:
    flags = _flags([("2025-03-03", "orange")])
    with_band = figures.trend_with_flags(_series(), flags, title="x", unit="t", draw_band=True)
    without = figures.trend_with_flags(_series(), flags, title="x", unit="t", draw_band=False)
    assert len(with_band.data) == len(without.data) + 1
    band = [tr for tr in with_band.data if tr.error_y and tr.error_y.array is not None][0]
    assert list(band.error_y.array) == [3.0] and list(band.error_y.arrayminus) == [3.0]


def test_large_values_are_labelled_in_wan_for_chinese_readers() -> None:
    big = _series(base=2_000_000.0)
    zh = figures.trend_with_flags(big, figures.flags_frame([], "day"), title="电", unit="千瓦时", lang="zh")
    en = figures.trend_with_flags(big, figures.flags_frame([], "day"), title="Power", unit="kWh", lang="en")
    assert zh.layout.yaxis.title.text == "万千瓦时" and zh.data[0].y[0] == 200.0
    assert en.layout.yaxis.title.text == "kWh" and en.data[0].y[0] == 2_000_000.0
    assert figures.axis_scale(pd.Series([3e9]), "zh") == (1e8, "亿")
    assert figures.axis_scale(pd.Series([9e4]), "zh") == (1.0, "")


def test_flags_frame_puts_each_alert_in_the_local_bucket_its_episode_started_in() -> None:
    alerts = [{"id": 7, "level": "orange", "episode_started_at": datetime(2025, 3, 31, 17, 0, tzinfo=UTC),
               "opened_at": datetime(2025, 4, 2, tzinfo=UTC), "expected": 5.0, "lower": 4.0, "upper": 6.0,
               "explanation_zh": "中文说明", "explanation_en": "English"}]
    day = figures.flags_frame(alerts, "day")
    # 17:00 UTC on 31 March is 01:00 on 1 April in Shanghai
    assert day.iloc[0]["period"] == "2025-04-01"
    assert figures.flags_frame(alerts, "month").iloc[0]["period"] == "2025-04-01"
    assert figures.flags_frame(alerts, "week").iloc[0]["period"] == "2025-03-31"
    assert figures.flags_frame(alerts, "day", "en").iloc[0]["explanation"] == "English"
    assert day.iloc[0]["band_low"] == 4.0 and day.iloc[0]["alert_id"] == 7


def test_district_board_takes_each_districts_worst_open_level() -> None:
    board = figures.district_board([("150302", "海勃湾区"), ("150304", "乌达区"), ("150303", "海南区")],
                                   {"150304": ["blue", "red", "yellow"], "150302": ["yellow"]})
    levels = dict(zip(board["code"], board["level"], strict=True))
    assert levels == {"150302": "yellow", "150304": "red", "150303": "none"}
    assert board.set_index("code").loc["150304", "count"] == 3


def test_contributions_colour_negative_and_positive_apart_and_carry_enterprise_ids() -> None:
    df = pd.DataFrame({"name": ["甲", "乙", "丙"], "value": [-3.5, 0.4, 1.2], "id": [1, 2, 3]})
    fig = figures.contributions(df, title="t")
    bar = fig.data[0]
    assert list(bar.y) == ["乙", "丙", "甲"]  # largest |contribution| at the top (last)
    colours = dict(zip(bar.y, bar.marker.color, strict=True))
    assert colours["甲"] != colours["丙"]
    assert list(bar.customdata) == [2, 3, 1]


def test_empty_frames_give_a_figure_that_says_no_data() -> None:
    fig = figures.trend_with_flags(_series(0), _flags([]), title="x", unit="t")
    assert fig.layout.annotations[0].text == "暂无数据"
    assert figures.ranking(pd.DataFrame(columns=["name", "value"]), title="r", value_label="t",
                           lang="en").layout.annotations[0].text == "No data"


def test_side_by_side_draws_one_line_per_place() -> None:
    df = pd.DataFrame({"group": ["a", "a", "b", "b"], "name": ["海南区", "海南区", "乌达区", "乌达区"],
                       "period": ["2025-01-01", "2025-01-02"] * 2, "value": [1.0, 2.0, 3.0, 4.0]})
    fig = figures.side_by_side(df, title="t", unit="t")
    assert [tr.name for tr in fig.data] == ["海南区", "乌达区"]


def test_leading_index_marks_the_base_100_line() -> None:
    df = pd.DataFrame({"period": ["2025-01", "2025-02"], "composite": [100.0, 101.2], "diffusion": [50.0, 62.5]})
    fig = figures.leading_index(df, title="先行指标指数")
    assert any(s.y0 == 100 for s in fig.layout.shapes)
    assert fig.data[1].type == "bar"


def test_alert_episode_marks_points_outside_the_band() -> None:
    pts = pd.DataFrame({"time": pd.date_range("2025-03-01", periods=4, freq="h", tz="UTC"),
                        "value": [10.0, 10.5, 3.0, 10.2], "expected": [10.0] * 4, "lower": [9.0] * 4,
                        "upper": [11.0] * 4})
    fig = figures.alert_episode(pts, title="电", unit="kWh", level="red")
    outside = [tr for tr in fig.data if tr.name == "红色"][0]
    assert list(outside.y) == [3.0]


def test_alert_episode_marks_only_the_episodes_own_points_and_shades_the_episode() -> None:
    # A point before the episode that left the band (history the detector judged ordinary)
    # is drawn but not flagged in the alert's colour; the episode is shaded from its start.
    times = pd.date_range("2025-03-01", periods=6, freq="h", tz="UTC")
    pts = pd.DataFrame({"time": times, "value": [10.0, 12.5, 10.2, 3.0, 2.5, 10.1], "expected": [10.0] * 6,
                        "lower": [9.0] * 6, "upper": [11.0] * 6})
    start = times[3].to_pydatetime()
    fig = figures.alert_episode(pts, title="电", unit="kWh", level="red", episode_start=start)
    outside = [tr for tr in fig.data if tr.name == "红色"][0]
    assert list(outside.y) == [3.0, 2.5]
    rect, line = fig.layout.shapes
    assert pd.Timestamp(rect.x0) == pd.Timestamp(start) and rect.fillcolor == WARNING_COLOURS["red"]
    assert pd.Timestamp(line.x0) == pd.Timestamp(start)
    # without the episode's start every point outside the band is marked, as before
    plain = figures.alert_episode(pts, title="电", unit="kWh", level="red")
    assert list([tr for tr in plain.data if tr.name == "红色"][0].y) == [12.5, 3.0, 2.5]
    assert not plain.layout.shapes


def test_alert_episode_of_a_silent_meter_shades_the_silence_to_its_end() -> None:
    times = pd.date_range("2025-03-01", periods=8, freq="15min", tz="UTC")
    pts = pd.DataFrame({"time": times, "value": [10.0] * 8, "expected": [None] * 8, "lower": [None] * 8,
                        "upper": [None] * 8})
    since, until = times[-1].to_pydatetime(), datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    fig = figures.alert_episode(pts, title="电", unit="kWh", level="orange", gap=(since, until))
    (rect,) = fig.layout.shapes
    assert (rect.x0, rect.x1, rect.fillcolor) == (since, until, WARNING_COLOURS["orange"])
    assert fig.layout.annotations[0].text == "未报送" and fig.layout.xaxis.range[1] == until
    assert not [tr for tr in fig.data if tr.name == "预期区间"]  # no band where none was computed
    assert not figures.alert_episode(pts, title="电", unit="kWh", level="orange").layout.shapes


def test_alert_episode_reads_in_wan_with_numeric_dates_for_chinese_readers() -> None:
    pts = pd.DataFrame({"time": pd.date_range("2025-03-01", periods=3, freq="D", tz="UTC"),
                        "value": [420_000.0, 415_000.0, 170_000.0], "expected": [420_000.0] * 3,
                        "lower": [380_000.0] * 3, "upper": [460_000.0] * 3})
    zh = figures.alert_episode(pts, title="电", unit="千瓦时", level="red")
    assert zh.layout.yaxis.title.text == "万千瓦时" and zh.layout.xaxis.tickformat == "%m-%d"
    assert list([tr for tr in zh.data if tr.name == "红色"][0].y) == [17.0]
    en = figures.alert_episode(pts, title="Power", unit="kWh", level="red", lang="en")
    assert en.layout.yaxis.title.text == "kWh" and list([tr for tr in en.data if tr.name == "Red"][0].y) == [170_000.0]


def test_sparkline_places_points_at_their_dates_and_breaks_where_days_are_missing() -> None:
    from datetime import date
    from urllib.parse import unquote

    # 1st-2nd, a missing value on the 3rd, 4th-5th, the 6th absent altogether, a lone 8th.
    df = pd.DataFrame({"period": ["2025-01-01", "2025-01-02", "2025-01-03", "2025-01-04", "2025-01-05",
                                  "2025-01-08"], "value": [1.0, 3.0, None, 2.0, 4.0, 2.5]})
    uri = figures.sparkline(df, colour="#0072B2", width=100, height=20, start=date(2025, 1, 1),
                            end=date(2025, 1, 11))
    assert uri.startswith("data:image/svg+xml;utf8,")
    svg = unquote(uri.split(",", 1)[1])
    lines = [seg.split('"')[0].split() for seg in svg.split('points="')[1:]]
    assert [len(pts) for pts in lines] == [2, 2]  # the lone 8th is a point of no line
    xs = [float(p.split(",")[0]) for pts in lines for p in pts]
    assert xs == [4.0, 13.2, 31.6, 40.8]  # 92 px for 10 days: 9.2 px a day
    ys = [float(p.split(",")[1]) for pts in lines for p in pts]
    assert min(ys) == 4.0 and max(ys) == 16.0  # 4 is the top (pad 4), 1 the bottom
    assert svg.count("<circle") == 1 and f'cx="{4 + 7 * 9.2:.1f}"' in svg  # the last value, on the 8th
    assert "<polyline" not in unquote(figures.sparkline(df.iloc[:0]).split(",", 1)[1])


def test_the_largest_falls_panel_says_why_it_is_empty_when_last_year_is_not_covered() -> None:
    from dashboard.area import top_falls_figure, top_frame
    from dashboard.client import TopOut

    ind = {"code": "power.consumption", "name_zh": "工业用电量", "name_en": "Electricity", "unit": "kWh"}
    no_base = TopOut.model_validate({"indicator": ind, "items": [], "notes": ["The same days last year start before"]})
    fig = top_falls_figure(no_base, top_frame(no_base, "zh"), "万千瓦时", "zh", False)
    assert "去年同期尚无完整数据" in fig.layout.annotations[0].text
    plain = TopOut.model_validate({"indicator": ind, "items": [], "notes": []})
    assert top_falls_figure(plain, top_frame(plain, "zh"), "", "zh", False).layout.annotations[0].text == "暂无数据"
    ranked = TopOut.model_validate({"indicator": ind, "notes": [], "items": [
        {"rank": 1, "enterprise_id": 7, "name_zh": "甲企业", "name_en": None, "uscc": "x", "value": 80.0,
         "last_year_value": 100.0, "change": -20.0, "change_pct": -20.0}]})
    fig = top_falls_figure(ranked, top_frame(ranked, "zh"), "", "zh", False)
    assert list(fig.data[0].y) == ["甲企业"] and list(fig.data[0].x) == [-20.0]


def _hole(v: float | None) -> bool:
    return v is None or math.isnan(v)


def test_alert_episode_stops_its_lines_at_a_hole_in_the_data() -> None:
    # Two days of data, a day missing, then the episode: no straight line across the hole.
    times = [*pd.date_range("2025-03-01", periods=8, freq="6h", tz="UTC"),
             *pd.date_range("2025-03-04", periods=4, freq="6h", tz="UTC")]
    pts = pd.DataFrame({"time": times, "value": [10.0] * 12, "expected": [10.0] * 12, "lower": [9.0] * 12,
                        "upper": [11.0] * 12})
    fig = figures.alert_episode(pts, title="电", unit="kWh", level="red")
    values = [tr for tr in fig.data if tr.name == "数值"][0]
    assert len(values.y) == 13 and _hole(values.y[8]), values.y
    assert pd.Timestamp(values.x[8]) == pd.Timestamp("2025-03-03 09:00", tz="UTC")  # the middle of the hole
    expected = [tr for tr in fig.data if tr.name == "预期"][0]
    assert _hole(expected.y[8]) and not _hole(expected.y[7])
    # evenly spaced points are left alone
    assert len([tr for tr in figures.alert_episode(pts.iloc[:8], title="电", unit="kWh", level="red").data
                if tr.name == "数值"][0].y) == 8
