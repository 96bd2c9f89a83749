"""District and park pages (one implementation, two pages): a trend chart per indicator
family with the anomaly flags drawn on it, the districts or parks side by side, and
rankings. Clicking a point of a trend chart drills down to the enterprises behind it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import dash
import pandas as pd
from dash import ALL, Input, Output, State, dcc, html

from dashboard import components as ui
from dashboard import context, figures, ids, views
from dashboard import format as fmt
from dashboard.client import ApiError, TopOut, gather
from dashboard.i18n import name, t
from dashboard.state import ViewState


def complete_days_end(end: date, gran: str, today: date) -> date:
    """Day charts end with the last complete day: today's bar, a few hours into the day, would
    read as a collapse (the Overview's day cards do the same). Other granularities keep their
    end: the API flags an unfinished week/month/quarter/year and compares it with the same span."""
    return min(end, today - timedelta(days=1)) if gran == "day" else end


def effective_gran(state: ViewState) -> str:
    """Hour buckets only for ranges of at most 31 days (the API reads raw data for them)."""
    start, end = state.span(fmt.now_local().date())
    if state.gran == "hour" and (end - start).days > 30:
        return "day"
    return state.gran


def layout(level: str, path: str, kwargs: dict[str, Any]) -> html.Div:
    state = ViewState.from_query(kwargs)
    lang, dark = state.lang, state.big
    try:
        r = views.refs()
        user = context.me().user
    except ApiError as exc:
        return html.Div(className="page", children=ui.problem(exc, lang))
    opts = views.options(r, lang)
    scope_district = views.effective_district(ViewState(), r)  # the account's own district, if any
    if level == "district":
        # A district officer always sees their own district (the API would refuse any other).
        code = scope_district or state.district or (r.districts[0].code if r.districts else "")
        entity: Any = r.district(code)
        choices = [(c, n) for c, n in opts["districts"] if not scope_district or c == scope_district]
    else:
        parks = [p for p in r.parks if not scope_district or r.district_by_id(p.district_id) ==
                 r.district(scope_district)]
        code = state.park or (parks[0].code if parks else "")
        entity = r.park(code)
        choices = [(p.code, name(p, lang)) for p in parks]
    if entity is None:
        return ui.shell(state, level, path, html.Div(t("common.no_data", lang), className="note"),
                        user=user.display_name)
    today = fmt.now_local().date()
    start, end = state.span(today)
    gran = effective_gran(state)
    end = complete_days_end(end, gran, today)
    focus = state.indicator or views.HEADLINE["power"]
    api = context.api()
    where: dict[str, Any] = {"district": code} if level == "district" else {"park": code}
    industry = state.industry or None

    calls: dict[str, Any] = {}
    for _fam, ind in r.headline(level):
        calls["s:" + ind.code] = lambda c=ind.code: api.series(c, bucket=gran, start=start, end=end, industry=industry,
                                                               figures="yoy,pop", **where)
    calls["alerts"] = lambda: api.alerts(limit=1000, **where)
    side_codes = state.compare_codes or None
    calls["side"] = lambda: api.series(
        focus, bucket=gran, start=start, end=end, group_by=level, industry=industry, figures="yoy",
        **({"district": side_codes or ([scope_district] if scope_district else None)} if level == "district"
           else {"park": side_codes or [c for c, _ in choices]}))
    calls["top"] = lambda: api.top(focus, start=max(start, end - timedelta(days=29)), end=end, by="change", n=10,
                                   industry=industry, ascending=True, **where)
    res = gather(calls)

    trends = []
    alerts = [] if isinstance(res["alerts"], Exception) else res["alerts"].items
    for fam, ind in r.headline(level):
        s = res["s:" + ind.code]
        title = f"{t(f'family.{fam}', lang)} · {name(ind, lang)}"
        if isinstance(s, Exception):
            trends.append(html.Section(className="panel", children=[html.H3(title), ui.problem(s, lang)]))
            continue
        mine = views.alerts_for_entity(alerts, level, entity.id, ind.code)
        flags = figures.flags_frame(views.alert_dicts(mine), gran, lang)
        fig = figures.trend_with_flags(views.series_frame(s), flags, title=title, unit=r.unit(ind.unit_code, lang),
                                       lang=lang, dark=dark, draw_band=gran == ind.frequency,
                                       height=260 if dark else 300)  # the wall: all of it on 1080 lines
        trends.append(html.Section(className="panel", children=[
            ui.graph(fig, gid={"type": ids.TREND_GRAPH, "indicator": ind.code, "level": level, "code": code})]))

    focus_ind = r.indicator(focus)
    unit = r.unit(focus_ind.unit_code, lang) if focus_ind else ""
    side = res["side"]
    if isinstance(side, Exception):
        side_panel: Any = ui.problem(side, lang)
        rank_panel: Any = ui.problem(side, lang)
    else:
        frame = views.grouped_frame(side, lang)
        side_panel = ui.graph(figures.side_by_side(frame, title=f"{t('area.side_by_side', lang)} · "
                                                   f"{name(focus_ind, lang) if focus_ind else focus}",
                                                   unit=unit, lang=lang, dark=dark, height=280 if dark else 320))
        rank_panel = ui.graph(figures.ranking(latest_by_group(frame), title=f"{t('area.ranking', lang)} · "
                                              f"{name(focus_ind, lang) if focus_ind else focus} · "
                                              f"{t('kpi.latest_day', lang) if gran == 'day' else t(f'gran.{gran}', lang)}",
                              value_label=unit, lang=lang, dark=dark))
    top = res["top"]
    if isinstance(top, Exception):
        top_panel: Any = ui.problem(top, lang)
    else:
        tf = top_frame(top, lang)
        top_graph = ui.graph(top_falls_figure(top, tf, unit, lang, dark))
        top_panel = top_graph if dark else html.Div([
            top_graph,
            html.Div([dcc.Link(row["name"], href=f"/enterprise/{row['id']}" + ViewState(lang=lang).to_query(),
                               className="chip") for _, row in tf.iterrows()], className="chips"),
        ])
    if dark:  # the wall: the falls fill the trend grid's free sixth place, so the page fits 1080 lines
        trends.append(html.Section(top_panel, className="panel"))

    title = t("area.district_title" if level == "district" else "area.park_title", lang)
    body = html.Div([
        html.Div(className="title-row", children=[html.H2(f"{title} · {name(entity, lang)}"),
                                                  html.Span(t("area.click_hint", lang), className="hint")]),
        html.Div(trends, className="trends"),
        html.Div(className="row", children=[html.Section(side_panel, className="panel grow"),
                                            html.Section(rank_panel, className="panel")]),
        html.Section(top_panel, className="panel") if not dark else None,
    ])
    show = frozenset({"range", "gran", "industry", "indicator", "compare",
                      "district" if level == "district" else "park"})
    ctrl = ui.controls(state.with_(**({"district": code} if level == "district" else {"park": code})),
                       districts=choices if level == "district" else opts["districts"],
                       parks=choices if level == "park" else [], industries=opts["industries"],
                       indicators=opts["indicators"], compare=choices, show=show)
    return ui.shell(state, level, path, body, ctrl, user.display_name)


def top_frame(top: TopOut, lang: str) -> pd.DataFrame:
    """The top-N enterprises by change as a frame: name, value (the change), growth, id."""
    return pd.DataFrame([{"name": (x.name_en if lang == "en" and x.name_en else x.name_zh), "value": x.change or 0.0,
                          "growth": x.change_pct, "id": x.enterprise_id} for x in top.items],
                        columns=["name", "value", "growth", "id"])


def top_falls_figure(top: TopOut, tf: pd.DataFrame, unit: str, lang: str, dark: bool) -> Any:
    """The largest falls against last year; when there are none, says why (most often: last
    year's same days are not covered by the data yet, which the API notes)."""
    if tf.empty:
        return figures.empty(t("area.top_no_base" if top.notes else "common.no_data", lang), dark,
                             260 if dark else 240, t("area.top_falls", lang))
    return figures.ranking(tf, title=t("area.top_falls", lang), value_label=unit, lang=lang, dark=dark,
                           largest_first=False, **({"height": 260} if dark else {}))


def latest_by_group(frame: pd.DataFrame) -> pd.DataFrame:
    """Each group's last bucket with a value → `name, value, growth` (its 同比)."""
    if frame.empty:
        return pd.DataFrame(columns=["name", "value", "growth"])
    d = frame.dropna(subset=["value"])
    last = d.sort_values("period").groupby("group", sort=False).tail(1)
    return pd.DataFrame({"name": last["name"], "value": last["value"], "growth": last["yoy_pct"]})


def drill_href(click: dict[str, Any] | None, indicator: str, area: dict[str, str] | None, search: str | None
               ) -> str | None:
    """The drill-down URL for a click on a trend chart (pure)."""
    if not click or not click.get("points") or not area:
        return None
    point = click["points"][0]
    custom = point.get("customdata")
    period = custom[0] if isinstance(custom, list) else custom if isinstance(custom, str) else point.get("x")
    if not period:
        return None
    state = ViewState.from_search(search)
    where = {"district": area["code"], "park": ""} if area["level"] == "district" else {"park": area["code"]}
    return "/drilldown" + state.to_query(indicator=indicator, period=str(period)[:10], **where)


@dash.callback(Output(ids.URL, "href", allow_duplicate=True),
               Input({"type": ids.TREND_GRAPH, "indicator": ALL, "level": ALL, "code": ALL}, "clickData"),
               State(ids.URL, "search"), prevent_initial_call=True)
def _drill(clicks: list[dict[str, Any] | None], search: str | None) -> Any:
    # Everything the drill-down needs is in the clicked graph's id: no State from the page,
    # so the callback is harmless when it fires on another page (its inputs then empty).
    trig = dash.ctx.triggered_id
    if not isinstance(trig, dict):
        return dash.no_update
    for item, click in zip(dash.ctx.inputs_list[0], clicks, strict=False):
        if item["id"] == trig and click:
            area = {"level": str(trig["level"]), "code": str(trig["code"])}
            return drill_href(click, str(trig["indicator"]), area, search) or dash.no_update
    return dash.no_update
