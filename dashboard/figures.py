"""Pure figure builders: a DataFrame in, a plotly Figure out. No I/O, no Dash.

Frames use plain column names:
- series: `period` (ISO string or datetime), `value`
- flags:  `period`, `level` (red/orange/yellow/blue), `expected`, `band_low`, `band_high`,
          `explanation`, `alert_id`
- grouped series: `group`, `name`, `period`, `value`
- rankings / contributions: `name`, `value` (and optionally `growth`, `id`)
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go

from dashboard import format as fmt
from dashboard.i18n import t
from dashboard.theme import BAND_FILL, DARK, LEVELS, LIGHT, SERIES, WARNING_COLOURS, WARNING_SYMBOLS

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _layout(dark: bool, height: int, title: str | None = None, legend: bool | dict[str, Any] = False,
            **extra: Any) -> dict[str, Any]:
    """The common layout as one dict (plotly's update_* calls are slow: figures are built in
    one construction)."""
    c = DARK if dark else LIGHT
    axis = {"gridcolor": c["grid"], "zeroline": False}
    layout: dict[str, Any] = {
        "height": height, "margin": {"l": 48, "r": 12, "t": 36 if title else 8, "b": 32},
        "paper_bgcolor": c["paper"], "plot_bgcolor": c["plot"],
        "font": {"color": c["font"], "size": 15 if dark else 13,
                 "family": "Noto Sans CJK SC, Microsoft YaHei, sans-serif"},
        "showlegend": bool(legend), "legend": {"orientation": "h", "y": -0.18, **(legend if isinstance(legend, dict)
                                                                                  else {})},
        "hovermode": "closest",
        "colorway": SERIES, "xaxis": dict(axis), "yaxis": dict(axis),
    }
    if title:
        layout["title"] = {"text": title, "x": 0.01, "font": {"size": 15}}
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(layout.get(key), dict):
            layout[key] = {**layout[key], **value}
        else:
            layout[key] = value
    return layout


def _figure(data: list[dict[str, Any]], layout: dict[str, Any]) -> go.Figure:
    return go.Figure(data=data, layout=layout)


def _date_axis(lang: str, monthly: bool = False) -> dict[str, Any]:
    if lang == "en":
        return {}
    return {"tickformat": "%Y-%m" if monthly else "%m-%d", "hoverformat": "%Y-%m-%d"}


def axis_scale(values: pd.Series, lang: str) -> tuple[float, str]:
    """How to label a value axis for Chinese readers: values up to 10^5 as they are, larger
    ones in 万 (10^4) or 亿 (10^8), returned as (divisor, prefix for the unit). English keeps
    plotly's k / M / B."""
    if lang == "en" or values.dropna().empty:
        return 1.0, ""
    top = float(values.abs().max())
    if top >= 1e9:
        return 1e8, "亿"
    if top >= 1e5:
        return 1e4, "万"
    return 1.0, ""


def _list(s: pd.Series) -> list[Any]:
    return [None if pd.isna(v) else v for v in s.tolist()]


def empty(message: str, dark: bool = False, height: int = 240, title: str | None = None) -> go.Figure:
    """A blank figure saying why it is blank."""
    return _figure([], _layout(dark, height, title, annotations=[
        {"text": message, "showarrow": False, "x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper",
         "font": {"size": 14}}], xaxis={"visible": False}, yaxis={"visible": False}))


def sparkline(df: pd.DataFrame, colour: str = SERIES[0], width: int = 240, height: int = 56, *,
              start: date | None = None, end: date | None = None) -> str:
    """A tiny line of `value` over `period` (daily buckets, ISO dates; no axes, the last point
    marked) as an SVG data URI for an <img>: five KPI cards would otherwise be five plotly
    graphs, each costing the browser tens of milliseconds on every Overview load and refresh.
    Points sit at their date within [start, end] (default: the frame's first and last day);
    the line breaks where a day has no value (a missing value or a missing bucket), so a gap in
    the data never reads as a straight trend."""
    pts: list[tuple[date, float]] = []
    if not df.empty:
        for p, v in zip(df["period"], df["value"], strict=False):
            if v is not None and not pd.isna(v):
                pts.append((date.fromisoformat(str(p)[:10]), float(v)))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" preserveAspectRatio="none">']
    if pts:
        first, last = start or pts[0][0], end or pts[-1][0]
        days = max((last - first).days, 1)
        lo, hi = min(v for _, v in pts), max(v for _, v in pts)
        span = (hi - lo) or 1.0
        pad = 4.0

        def xy(d: date, v: float) -> tuple[float, float]:
            return (pad + (d - first).days / days * (width - 2 * pad),
                    height - pad - (v - lo) / span * (height - 2 * pad))

        runs: list[list[str]] = []
        prev: date | None = None
        for d, v in pts:
            if prev is None or (d - prev).days > 1:
                runs.append([])
            x, y = xy(d, v)
            runs[-1].append(f"{x:.1f},{y:.1f}")
            prev = d
        for run in runs:
            if len(run) > 1:
                parts.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" stroke-width="2" '
                             'stroke-linejoin="round" vector-effect="non-scaling-stroke"/>')
        x, y = xy(*pts[-1])
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>')
    parts.append("</svg>")
    return "data:image/svg+xml;utf8," + quote("".join(parts))


def trend_with_flags(series: pd.DataFrame, flags: pd.DataFrame, *, title: str, unit: str, lang: str = "zh",
                     dark: bool = False, height: int = 300, draw_band: bool = True) -> go.Figure:
    """A trend line with anomaly flags drawn on it.

    Each flag is a marker in its warning colour (and the level's own symbol) at its period, on
    the line; hovering shows the level, the value, the expected value and band and the
    explanation. With `draw_band` the band is also drawn (only meaningful when the chart's
    buckets are the alert series' own resolution). Points carry their period in `customdata`
    for the drill-down.
    """
    if series.empty or series["value"].notna().sum() == 0:
        return empty(t("common.no_data", lang), dark, 160, title)
    div, prefix = axis_scale(series["value"], lang)
    unit = prefix + unit
    series = series.assign(value=series["value"] / div)
    data: list[dict[str, Any]] = [{
        "type": "scatter", "x": _list(series["period"]), "y": _list(series["value"]), "mode": "lines+markers",
        "name": title, "line": {"color": SERIES[0], "width": 2}, "marker": {"size": 4},
        "customdata": [str(p) for p in series["period"]],
        "hovertemplate": "%{x}<br>%{y:,.4~g} " + unit + "<extra></extra>"}]
    if not flags.empty:
        flags = flags.assign(**{c: pd.to_numeric(flags[c], errors="coerce") / div
                                for c in ("expected", "band_low", "band_high")})
        values = series.set_index(series["period"].astype(str))["value"]
        f = flags.copy()
        f["y"] = [values.get(str(p), e) for p, e in zip(f["period"], f["expected"], strict=False)]
        band = f.dropna(subset=["band_low", "band_high", "expected"])
        if draw_band and not band.empty:  # the expected band, as error bars around the expected value
            data.append({
                "type": "scatter", "x": _list(band["period"]), "y": _list(band["expected"]), "mode": "markers",
                "name": t("area.band", lang), "marker": {"size": 1, "color": "rgba(0,0,0,0)"}, "hoverinfo": "skip",
                "showlegend": False,
                "error_y": {"type": "data", "symmetric": False, "array": _list(band["band_high"] - band["expected"]),
                            "arrayminus": _list(band["expected"] - band["band_low"]),
                            "color": BAND_FILL.replace("0.12", "0.7"), "thickness": 6, "width": 0}})
        for level in LEVELS:
            sub = f[f["level"] == level]
            if sub.empty:
                continue
            custom = [[str(p), _num(e), _num(lo), _num(hi), str(x or ""), _num(a)] for p, e, lo, hi, x, a in
                      zip(sub["period"], sub["expected"], sub["band_low"], sub["band_high"], sub["explanation"],
                          sub["alert_id"], strict=False)]
            data.append({
                "type": "scatter", "x": _list(sub["period"]), "y": _list(sub["y"]), "mode": "markers",
                "name": t(f"level.{level}", lang),
                "marker": {"color": WARNING_COLOURS[level], "size": 14, "symbol": WARNING_SYMBOLS[level],
                           "line": {"color": "#1f2933" if level == "yellow" else WARNING_COLOURS[level], "width": 2}},
                "customdata": custom,
                "hovertemplate": (f"<b>{t(f'level.{level}', lang)}</b> %{{x}}<br>"
                                  f"{t('common.value', lang)}: %{{y:,.4~g}} {unit}<br>"
                                  f"{t('area.expected', lang)}: %{{customdata[1]:,.4~g}} "
                                  f"[%{{customdata[2]:,.4~g}} – %{{customdata[3]:,.4~g}}]<br>"
                                  "%{customdata[4]}<extra></extra>")})
    return _figure(data, _layout(dark, height, title, legend=not flags.empty,
                                 yaxis={"title": {"text": unit, "font": {"size": 11}}}, xaxis=_date_axis(lang)))


def _num(v: Any) -> float | None:
    try:
        return None if v is None or pd.isna(v) else float(v)
    except (TypeError, ValueError):
        return None


def break_gaps(points: pd.DataFrame, factor: float = 3.0) -> pd.DataFrame:
    """An empty row wherever the points have a hole (a step longer than `factor` times the
    usual one), so that lines and the band stop there instead of bridging it (as in the
    e-mail's chart). Frame: `time` and value columns, in time order."""
    if len(points) < 3:
        return points
    times = pd.to_datetime(points["time"], utc=True)
    steps = times.diff()
    usual = steps.iloc[1:].median()
    holes = steps > factor * usual
    if usual <= pd.Timedelta(0) or not holes.any():
        return points
    fill = pd.DataFrame({"time": list(times[holes] - steps[holes] / 2)})
    out = pd.concat([points.assign(time=times), fill], ignore_index=True)
    return out.sort_values("time", kind="stable").reset_index(drop=True)


def alert_episode(points: pd.DataFrame, *, title: str, unit: str, level: str, lang: str = "zh",
                  dark: bool = False, height: int = 280, gap: tuple[Any, Any] | None = None,
                  episode_start: Any = None) -> go.Figure:
    """An alert's episode: the observed values, the expected value and its band, and the points
    of the episode outside the band marked in the alert's warning colour. Frame: `time, value,
    expected, lower, upper`. With `episode_start`, the episode is shaded from its start (as in
    the e-mail's chart) and only its own points are marked: a point before it that left the
    band is history the detector judged ordinary, not part of this alert. With `gap` (since,
    until), a meter that stopped reporting: the silence is shaded in the warning colour and
    labelled 未报送."""
    if points.empty:
        return empty(t("common.no_data", lang), dark, height)
    div, prefix = axis_scale(points["value"], lang)
    unit = prefix + unit
    points = points.assign(**{c: pd.to_numeric(points[c], errors="coerce") / div
                              for c in ("value", "expected", "lower", "upper")})
    points = break_gaps(points)
    data: list[dict[str, Any]] = []
    band = points if points[["lower", "upper"]].notna().all(axis=1).any() else points.iloc[0:0]
    if not band.empty:
        data += [
            {"type": "scatter", "x": _list(band["time"]), "y": _list(band["upper"]), "mode": "lines",
             "line": {"width": 0}, "hoverinfo": "skip", "showlegend": False},
            {"type": "scatter", "x": _list(band["time"]), "y": _list(band["lower"]), "mode": "lines",
             "line": {"width": 0}, "fill": "tonexty", "fillcolor": BAND_FILL, "name": t("area.band", lang),
             "hoverinfo": "skip"},
            {"type": "scatter", "x": _list(band["time"]), "y": _list(band["expected"]), "mode": "lines",
             "name": t("area.expected", lang), "line": {"color": SERIES[0], "dash": "dash", "width": 1}}]
    data.append({"type": "scatter", "x": _list(points["time"]), "y": _list(points["value"]), "mode": "lines+markers",
                 "name": t("common.value", lang), "marker": {"size": 4},
                 "line": {"color": "#3e4c59" if not dark else "#e6edf3", "width": 2}})
    outside = (points["value"] > points["upper"]) | (points["value"] < points["lower"])
    start = pd.Timestamp(episode_start) if episode_start is not None else None
    if start is not None:
        outside &= pd.to_datetime(points["time"], utc=True) >= start
    out = points[outside]
    if not out.empty:
        data.append({"type": "scatter", "x": _list(out["time"]), "y": _list(out["value"]), "mode": "markers",
                     "name": t(f"level.{level}", lang),
                     # a long shutdown marks hundreds of points: smaller marks, not a solid bar
                     "marker": {"color": WARNING_COLOURS.get(level, "#888"), "size": 11 if len(out) <= 24 else 6,
                                "symbol": WARNING_SYMBOLS.get(level, "circle")}})
    extra: dict[str, Any] = {}
    if gap is not None:
        colour = WARNING_COLOURS.get(level, "#888")
        extra["shapes"] = [{"type": "rect", "xref": "x", "yref": "paper", "x0": gap[0], "x1": gap[1], "y0": 0, "y1": 1,
                            "fillcolor": colour, "opacity": 0.18, "line": {"width": 0}, "layer": "below"}]
        extra["annotations"] = [{"x": gap[1], "xref": "x", "y": 1, "yref": "paper", "xanchor": "right",
                                 "yanchor": "top", "showarrow": False, "text": t("alerts.no_report", lang),
                                 "font": {"color": colour, "size": 12}}]
        # the axis runs to the end of the silence, not only to the last report
        extra["xaxis"] = {**_date_axis(lang), "range": [_list(points["time"])[0], gap[1]]}
    elif start is not None and start <= pd.to_datetime(points["time"], utc=True).max():
        colour = WARNING_COLOURS.get(level, "#888")
        x0 = max(start, pd.to_datetime(points["time"], utc=True).min())
        extra["shapes"] = [
            {"type": "rect", "xref": "x", "yref": "paper", "x0": x0, "x1": _list(points["time"])[-1], "y0": 0,
             "y1": 1, "fillcolor": colour, "opacity": 0.10, "line": {"width": 0}, "layer": "below"},
            {"type": "line", "xref": "x", "yref": "paper", "x0": x0, "x1": x0, "y0": 0, "y1": 1,
             "line": {"color": colour, "width": 1.5}}]
    return _figure(data, _layout(dark, height, title, legend=True,
                                 yaxis={"title": {"text": unit, "font": {"size": 11}}},
                                 **({"xaxis": _date_axis(lang)} | extra)))


def side_by_side(df: pd.DataFrame, *, title: str, unit: str, lang: str = "zh", dark: bool = False,
                 height: int = 320) -> go.Figure:
    """One line per `group` (districts or parks), labelled by `name`."""
    if df.empty:
        return empty(t("common.no_data", lang), dark, height)
    div, prefix = axis_scale(df["value"], lang)
    unit = prefix + unit
    df = df.assign(value=df["value"] / div)
    data = []
    for i, (nm, sub) in enumerate(df.groupby("name", sort=False)):
        data.append({"type": "scatter", "x": _list(sub["period"]), "y": _list(sub["value"]), "mode": "lines",
                     "name": str(nm), "line": {"color": SERIES[i % len(SERIES)], "width": 2,
                                               "dash": ["solid", "dash", "dot", "dashdot"][i % 4]},
                     "hovertemplate": f"{nm}<br>%{{x}}<br>%{{y:,.4~g}} {unit}<extra></extra>"})
    return _figure(data, _layout(dark, height, title, legend=True, hovermode="x unified",
                                 yaxis={"title": {"text": unit, "font": {"size": 11}}}, xaxis=_date_axis(lang)))


def ranking(df: pd.DataFrame, *, title: str, value_label: str, lang: str = "zh", dark: bool = False,
            height: int | None = None, largest_first: bool = True) -> go.Figure:
    """Horizontal bars of `value` by `name`, largest on top (or, with `largest_first=False`,
    smallest — the biggest falls — on top); `growth` (%) shown as text if present."""
    if df.empty:
        return empty(t("common.no_data", lang), dark, height or 240)
    d = df.sort_values("value", ascending=largest_first)
    div, prefix = axis_scale(d["value"], lang)
    d = d.assign(value=d["value"] / div)
    bar: dict[str, Any] = {
        "type": "bar", "x": _list(d["value"]), "y": _list(d["name"]), "orientation": "h",
        "marker": {"color": [SERIES[0] if v >= 0 else SERIES[5] for v in d["value"]]},
        "textposition": "outside", "cliponaxis": False,
        "hovertemplate": "%{y}<br>" + prefix + value_label + ": %{x:,.4~g}<extra></extra>"}
    if "growth" in d:
        bar["text"] = [fmt.growth(g) for g in d["growth"]]
    return _figure([bar], _layout(dark, height or max(200, 34 * len(d) + 60), title, margin={"r": 56},
                                  xaxis={"title": {"text": prefix + value_label, "font": {"size": 11}}}))


def contributions(df: pd.DataFrame, *, title: str, lang: str = "zh", dark: bool = False) -> go.Figure:
    """Each enterprise's contribution (percentage points) to the parent's growth: positive in
    blue, negative in vermillion (a colour-blind-safe pair), biggest movers first. Bars carry
    the enterprise `id` in customdata (click → enterprise page)."""
    if df.empty:
        return empty(t("common.no_data", lang), dark)
    d = df.reindex(df["value"].abs().sort_values(ascending=True).index)
    bar: dict[str, Any] = {
        "type": "bar", "x": _list(d["value"]), "y": _list(d["name"]), "orientation": "h",
        "marker": {"color": [SERIES[0] if v >= 0 else SERIES[5] for v in d["value"]]},
        "text": [f"{v:+.2f}" for v in d["value"]], "textposition": "outside", "cliponaxis": False,
        "hovertemplate": "%{y}<br>" + t("drill.contribution", lang) + ": %{x:+.2f} pp<extra></extra>"}
    if "id" in d:
        bar["customdata"] = _list(d["id"])
    return _figure([bar], _layout(dark, max(240, 30 * len(d) + 70), title, margin={"r": 48},
                                  xaxis={"ticksuffix": " pp", "zeroline": True, "zerolinecolor": "#7b8794"}))


def leading_index(df: pd.DataFrame, *, title: str, lang: str = "zh", dark: bool = False,
                  height: int = 240) -> go.Figure:
    """The composite leading index (base 100) with the 100 line, and the diffusion index."""
    if df.empty:
        return empty(t("common.no_data", lang), dark, height)
    data: list[dict[str, Any]] = [{"type": "scatter", "x": _list(df["period"]), "y": _list(df["composite"]),
                                   "mode": "lines+markers", "name": "CI", "line": {"color": SERIES[0], "width": 3}}]
    extra: dict[str, Any] = {}
    if "diffusion" in df and df["diffusion"].notna().any():
        data.append({"type": "bar", "x": _list(df["period"]), "y": _list(df["diffusion"]), "name": "DI",
                     "marker": {"color": SERIES[4]}, "opacity": 0.35, "yaxis": "y2"})
        extra["yaxis2"] = {"overlaying": "y", "side": "right", "range": [0, 100], "showgrid": False,
                           "tickvals": [0, 50, 100], "title": {"text": "DI", "font": {"size": 11}}}
    return _figure(data, _layout(dark, height, title, legend=True, xaxis=_date_axis(lang, monthly=True),
                                 yaxis={"title": {"text": "CI", "font": {"size": 11}}},
                                 shapes=[{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 100, "y1": 100,
                                          "line": {"color": "#7b8794", "dash": "dot"}}], **extra))


def completeness(counts: dict[str, int], *, title: str, lang: str = "zh", dark: bool = False) -> go.Figure:
    """Reported / late / not reported as one stacked bar."""
    colours = {"reported": SERIES[2], "late": SERIES[1], "missing": SERIES[5]}
    data = [{"type": "bar", "x": [counts.get(k, 0)], "y": [""], "orientation": "h", "name": t(f"report.{k}", lang),
             "marker": {"color": colours[k]}, "text": [counts.get(k, 0)], "textposition": "inside"}
            for k in ("reported", "late", "missing")]
    return _figure(data, _layout(dark, 120, title, legend={"y": -0.5}, barmode="stack"))


def warm_up() -> None:
    """Build and serialise one small figure of each kind, so the first page a user opens does
    not pay plotly's one-time set-up (about 0.1 s). No data involved."""
    df = pd.DataFrame({"period": ["2025-01-01", "2025-01-02"], "value": [1.0, 2.0]})
    for fig in (ranking(df.assign(name=["a", "b"]), title="", value_label=""),
                leading_index(pd.DataFrame({"period": ["2025-01"], "composite": [100.0], "diffusion": [50.0]}),
                              title="")):
        fig.to_plotly_json()


# --- frames --------------------------------------------------------------------------------
def bucket_key(at: datetime, gran: str) -> str:
    """The ISO key of the bucket (local time) an instant falls in, as the API labels periods."""
    local = at.astimezone(SHANGHAI)
    d = local.date()
    if gran == "hour":
        return local.replace(minute=0, second=0, microsecond=0, tzinfo=None).isoformat()
    if gran == "week":
        d = d - timedelta(days=d.weekday())
    elif gran == "month":
        d = d.replace(day=1)
    elif gran == "quarter":
        d = date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
    elif gran == "year":
        d = date(d.year, 1, 1)
    return d.isoformat()


def flags_frame(alerts: list[dict[str, object]], gran: str, lang: str = "zh") -> pd.DataFrame:
    """Alerts (as dicts with `episode_started_at`/`opened_at`, `level`, `expected`, `lower`,
    `upper`, `explanation_zh`/`_en`, `id`) → the flags frame for `trend_with_flags`: one row
    per alert, in the bucket where its episode started."""
    rows = []
    for a in alerts:
        at = a.get("episode_started_at") or a.get("opened_at")
        if not isinstance(at, datetime):
            continue
        expl = a.get("explanation_en") if lang == "en" and a.get("explanation_en") else a.get("explanation_zh")
        rows.append({"period": bucket_key(at, gran), "level": a.get("level"), "expected": a.get("expected"),
                     "band_low": a.get("lower"), "band_high": a.get("upper"),
                     "explanation": expl or "", "alert_id": a.get("id")})
    cols = ["period", "level", "expected", "band_low", "band_high", "explanation", "alert_id"]
    return pd.DataFrame(rows, columns=cols)


def district_board(districts: list[tuple[str, str]], alert_levels: dict[str, list[str]]) -> pd.DataFrame:
    """(code, name) pairs and the open alerts' levels per district code → `code, name, level,
    count`, where level is the worst open warning ("none" without any)."""
    from dashboard.theme import worst_level

    return pd.DataFrame([{"code": c, "name": n, "level": worst_level(alert_levels.get(c, [])),
                          "count": len(alert_levels.get(c, []))} for c, n in districts],
                        columns=["code", "name", "level", "count"])
