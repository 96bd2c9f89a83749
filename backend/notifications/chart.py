"""The episode chart attached to alert e-mails: the series, its expected value and band, and
where the episode started, as a PNG. Pure: data in, bytes out (matplotlib, Agg backend).

Labels in the image are numbers, dates and short English words only: the machines this runs
on carry no CJK font, and tofu boxes in a leader's e-mail would be worse. The e-mail's
caption explains the chart in Chinese.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt

# Colours of the chart, shared with the e-mail caption.
VALUE_COLOUR = "#1a1a1a"
EXPECTED_COLOUR = "#2b7bba"
BAND_COLOUR = "#9ecae1"


def render_png(times: Sequence[datetime], values: Sequence[float], expected: Sequence[float | None],
               lower: Sequence[float | None], upper: Sequence[float | None], episode_start: datetime | None,
               level_colour: str, tz: ZoneInfo, unit: str = "", width_px: int = 720, height_px: int = 300) -> bytes:
    """A PNG of the episode: value line, expected line and band, shaded episode."""
    dpi = 100
    fig, ax = plt.subplots(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    try:
        local = [float(mdates.date2num(t.astimezone(tz).replace(tzinfo=None))) for t in times]
        nan = float("nan")
        e = [nan if v is None else v for v in expected]
        lo = [nan if v is None else v for v in lower]
        hi = [nan if v is None else v for v in upper]
        ax.fill_between(local, lo, hi, color=BAND_COLOUR, alpha=0.45, linewidth=0, label="expected band")
        ax.plot(local, e, color=EXPECTED_COLOUR, linewidth=1.2, linestyle="--", label="expected")
        ax.plot(local, list(values), color=VALUE_COLOUR, linewidth=1.6, label="actual")
        if episode_start is not None and local:
            start = float(mdates.date2num(episode_start.astimezone(tz).replace(tzinfo=None)))
            ax.axvspan(max(start, local[0]), local[-1], color=level_colour, alpha=0.12, linewidth=0)
            ax.axvline(max(start, local[0]), color=level_colour, linewidth=1.5)
        ax.grid(True, color="#dddddd", linewidth=0.6)
        ax.spines[["top", "right"]].set_visible(False)
        span_days = (local[-1] - local[0]) if local else 0.0
        if span_days <= 3:
            ax.xaxis.set_major_locator(mdates.HourLocator(byhour=[0, 6, 12, 18]))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M"))
        ax.tick_params(labelsize=8)
        if unit and unit.isascii():
            ax.set_ylabel(unit, fontsize=8)
        ax.legend(loc="best", fontsize=7, frameon=False)
        fig.autofmt_xdate(rotation=0, ha="center")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)
