"""The episode chart does not draw a straight line across a hole in the data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from backend.notifications import chart

T0 = datetime(2026, 11, 21, tzinfo=UTC)


def test_a_hole_in_the_data_becomes_a_break_in_the_lines():
    times = [T0 + timedelta(minutes=15 * i) for i in range(8)] + [T0 + timedelta(days=4, minutes=15 * i)
                                                                  for i in range(8)]
    values = [float(i) for i in range(16)]
    out_t, (out_v, out_e) = chart.break_gaps(times, values, values)
    assert len(out_t) == 17 and out_v[8] is None and out_e[8] is None
    assert out_t[7] < out_t[8] < out_t[9]
    assert [v for v in out_v if v is not None] == values


def test_regular_data_is_left_as_it_is():
    times = [T0 + timedelta(minutes=15 * i) for i in range(20)]
    values = [1.0] * 20
    assert chart.break_gaps(times, values) == (times, [values])


def test_a_chart_with_a_hole_still_renders():
    times = [T0 + timedelta(hours=i) for i in range(10)] + [T0 + timedelta(days=3, hours=i) for i in range(10)]
    values = [100.0] * 19 + [10.0]
    png = chart.render_png(times, values, [100.0] * 20, [90.0] * 20, [110.0] * 20, times[-1], "#d7191c",
                           ZoneInfo("Asia/Shanghai"), unit="千瓦时")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
