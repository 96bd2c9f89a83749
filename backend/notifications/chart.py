"""The episode chart attached to alert e-mails: the series, its expected value and band, and
where the episode started, as a PNG. Pure: data in, bytes out (matplotlib, Agg backend).

Legend labels are Chinese for Chinese readers when a CJK font is installed (Noto Sans CJK:
`fonts-noto-cjk`, which scripts/ensure-system.sh installs); without one they fall back to
short English words, since tofu boxes in a leader's e-mail would be worse. The e-mail's
caption explains the chart in Chinese either way.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib import font_manager

# Colours of the chart, shared with the e-mail caption.
VALUE_COLOUR = "#1a1a1a"
EXPECTED_COLOUR = "#2b7bba"
BAND_COLOUR = "#9ecae1"

LABELS = {"zh": ("预期区间", "预期值", "实际值"), "en": ("expected band", "expected", "actual")}
GAP_LABELS = {"zh": "未报送", "en": "no report"}
CJK_FONTS = ("Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Zen Hei", "Source Han Sans SC")


def cjk_font() -> str | None:
    """The name of an installed font that has Chinese glyphs, or None."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def render_png(times: Sequence[datetime], values: Sequence[float], expected: Sequence[float | None],
               lower: Sequence[float | None], upper: Sequence[float | None], episode_start: datetime | None,
               level_colour: str, tz: ZoneInfo, unit: str = "", width_px: int = 720, height_px: int = 300,
               lang: str = "zh", gap: tuple[datetime, datetime] | None = None) -> bytes:
    """A PNG of the episode: value line, expected line and band, shaded episode.

    With ``gap`` (last report, now) the chart is of a series that stopped reporting: its last
    values, and the silence after them shaded in the level's colour up to ``gap[1]``, with
    the episode's start (``episode_start``: when the next report was due) marked."""
    dpi = 100
    font = cjk_font() if lang == "zh" else None
    band_label, expected_label, actual_label = LABELS["zh" if font else "en"]
    rc: dict[str, Any] = {"font.family": "sans-serif", "font.sans-serif": [font, "DejaVu Sans"]} if font else {}
    with plt.rc_context(rc):  # type: ignore[arg-type]
        return _render(times, values, expected, lower, upper, episode_start, level_colour, tz, unit, width_px,
                       height_px, dpi, (band_label, expected_label, actual_label), chinese_ok=font is not None,
                       gap=gap, gap_label=GAP_LABELS["zh" if font else "en"])


def break_gaps(times: Sequence[datetime], *columns: Sequence[float | None], factor: float = 3.0
               ) -> tuple[list[datetime], list[list[float | None]]]:
    """Insert an empty point wherever the data have a hole (a step longer than ``factor`` times
    the usual one), so that lines stop there instead of drawing a straight line across it."""
    if len(times) < 3:
        return list(times), [list(c) for c in columns]
    steps = sorted((b - a).total_seconds() for a, b in zip(times, times[1:], strict=False))
    usual = steps[len(steps) // 2]
    out_t: list[datetime] = [times[0]]
    out_c: list[list[float | None]] = [[c[0]] for c in columns]
    for i in range(1, len(times)):
        gap = (times[i] - times[i - 1]).total_seconds()
        if usual > 0 and gap > factor * usual:
            out_t.append(times[i - 1] + (times[i] - times[i - 1]) / 2)
            for col in out_c:
                col.append(None)
        out_t.append(times[i])
        for col, src in zip(out_c, columns, strict=True):
            col.append(src[i])
    return out_t, out_c


def _render(times: Sequence[datetime], values: Sequence[float], expected: Sequence[float | None],
            lower: Sequence[float | None], upper: Sequence[float | None], episode_start: datetime | None,
            level_colour: str, tz: ZoneInfo, unit: str, width_px: int, height_px: int, dpi: int,
            labels: tuple[str, str, str], chinese_ok: bool, gap: tuple[datetime, datetime] | None = None,
            gap_label: str = "") -> bytes:
    times, (values_, expected, lower, upper) = break_gaps(times, values, expected, lower, upper)
    fig, ax = plt.subplots(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    try:
        local = [float(mdates.date2num(t.astimezone(tz).replace(tzinfo=None))) for t in times]
        nan = float("nan")
        e = [nan if v is None else v for v in expected]
        lo = [nan if v is None else v for v in lower]
        hi = [nan if v is None else v for v in upper]
        if any(v is not None for v in expected):  # no band nor legend entry for what was not computed
            ax.fill_between(local, lo, hi, color=BAND_COLOUR, alpha=0.45, linewidth=0, label=labels[0])
            ax.plot(local, e, color=EXPECTED_COLOUR, linewidth=1.2, linestyle="--", label=labels[1])
        ax.plot(local, [nan if v is None else v for v in values_], color=VALUE_COLOUR, linewidth=1.6,
                label=labels[2])
        def num(t: datetime) -> float:
            return float(mdates.date2num(t.astimezone(tz).replace(tzinfo=None)))

        if gap is not None and local:
            # The silence: from the last report to now, with when the next report was due.
            g0, g1 = num(gap[0]), max(num(gap[1]), num(gap[0]))
            ax.axvspan(g0, g1, color=level_colour, alpha=0.18, linewidth=0, label=gap_label)
            if episode_start is not None:
                ax.axvline(num(episode_start), color=level_colour, linewidth=1.5, linestyle=":")
            ax.set_xlim(local[0], g1 + (g1 - local[0]) * 0.02)
        elif episode_start is not None and local:
            start = num(episode_start)
            ax.axvspan(max(start, local[0]), local[-1], color=level_colour, alpha=0.12, linewidth=0)
            ax.axvline(max(start, local[0]), color=level_colour, linewidth=1.5)
        ax.grid(True, color="#dddddd", linewidth=0.6)
        ax.spines[["top", "right"]].set_visible(False)
        # At most ~8 labels across the chart, short ones ("06:00", with the date where a day
        # starts, "11-26"), so they never run into each other whatever the span.
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(
            locator, formats=["%Y", "%Y-%m", "%m-%d", "%H:%M", "%H:%M", "%S"],
            zero_formats=["", "%Y", "%m-%d", "%m-%d", "%H:%M", "%H:%M"],
            offset_formats=["", "%Y", "%Y", "%Y", "%Y-%m-%d", "%Y-%m-%d"]))
        ax.tick_params(labelsize=8)
        if unit and (chinese_ok or unit.isascii()):
            ax.set_ylabel(unit, fontsize=8)
        ax.legend(loc="best", fontsize=7, frameon=False)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)
