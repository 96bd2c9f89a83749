from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from backend.notifications import chart


def test_the_episode_chart_speaks_chinese_to_chinese_readers_when_a_cjk_font_is_installed():
    # scripts/ensure-system.sh installs fonts-noto-cjk, so the font must be there
    assert chart.cjk_font() is not None
    t0 = datetime(2026, 3, 11, tzinfo=UTC)
    times = [t0 + timedelta(minutes=15 * i) for i in range(40)]
    values = [100.0] * 30 + [40.0] * 10
    band = [100.0] * 40
    args = (times, values, band, [90.0] * 40, [110.0] * 40, times[30], "#d7191c", ZoneInfo("Asia/Shanghai"))
    zh, en = chart.render_png(*args, lang="zh"), chart.render_png(*args, lang="en")
    assert zh[:8] == en[:8] == b"\x89PNG\r\n\x1a\n"
    assert zh != en  # the legend differs: 预期区间 / 预期值 / 实际值 against English words
