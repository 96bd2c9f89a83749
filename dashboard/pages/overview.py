"""总览 Overview: the five families' city figures, the leading index, the district warning
board and the latest alerts. Refreshes itself (Settings.dashboard_refresh_s, default 60 s)
without touching the controls, so the user's selections stay."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import dash
import pandas as pd
from dash import Input, Output, State, dcc, html

from dashboard import components as ui
from dashboard import context, figures, ids, views
from dashboard import format as fmt
from dashboard.alerting import entity_name
from dashboard.client import Alert, ApiError, gather
from dashboard.i18n import name, t
from dashboard.state import ViewState
from dashboard.theme import SERIES

dash.register_page(__name__, path="/", title="总览 · 运监", name="overview")

OPEN_STATES = ("open", "acknowledged", "escalated")


def layout(**kwargs: Any) -> html.Div:
    state = ViewState.from_query(kwargs)
    try:
        r = views.refs()
        user = context.me().user
    except ApiError as exc:
        return _relogin(state, exc)
    opts = views.options(r, state.lang)
    body = html.Div(id=ids.OVERVIEW_BODY, children=body_for(state))
    refresh = dcc.Interval(id=ids.OVERVIEW_INTERVAL, interval=context.current().settings.dashboard_refresh_s * 1000)
    ctrl = ui.controls(state, districts=opts["districts"], show=frozenset({"district", "range"}))
    return ui.shell(state, "overview", "/", html.Div([body, refresh]), ctrl, user.display_name)


def _relogin(state: ViewState, exc: ApiError) -> html.Div:
    if exc.status == 401:
        return html.Div(className="page", children=html.A(t("login.title", state.lang), href="/login"))
    return html.Div(className="page", children=ui.problem(exc, state.lang))


@dash.callback(Output(ids.OVERVIEW_BODY, "children"), Input(ids.OVERVIEW_INTERVAL, "n_intervals"),
               State(ids.URL, "search"), prevent_initial_call=True)
def _refresh(_n: int, search: str | None) -> Any:
    return body_for(ViewState.from_search(search))


def body_for(state: ViewState) -> list[Any]:
    """The Overview's panels for `state` (called on first render and on every refresh)."""
    lang, dark = state.lang, state.big
    r = views.refs()
    district = views.effective_district(state, r)
    # "Today" is the end of an absolute range when one is chosen (the Overview as of that day).
    today = state.span(fmt.now_local().date())[1] if state.range == "custom" else fmt.now_local().date()
    last_full_day = today - timedelta(days=1) if state.range != "custom" else today
    api = context.api()
    calls: dict[str, Any] = {}
    for _fam, ind in r.headline():
        code = ind.code
        # The latest *complete* day: today's partial day against a whole one would read as a collapse.
        # Only what the cards show (同比, 环比): the API then skips 累计 and shares.
        calls["d:" + code] = lambda c=code: api.series(c, bucket="day", start=last_full_day - timedelta(days=29),
                                                       end=last_full_day, district=district or None,
                                                       figures="yoy,pop")
        calls["m:" + code] = lambda c=code: api.series(c, bucket="month", start=views.month_start(today, 13),
                                                       end=today, district=district or None, figures="yoy,pop")
    # The leading index moves with monthly data but costs the API ~0.2 s to compute: kept 5 minutes
    # per scope and selection, so most 60-second refreshes reuse it.
    li_start = views.month_start(today, 12)
    li_key = f"li:{context.scope_key()}:{district}:{li_start}:{today}"
    monthly = context.current().monthly
    calls["li"] = lambda: monthly.get(li_key, lambda: api.leading_index(district=district or None, start=li_start,
                                                                         end=today))
    calls["alerts"] = lambda: api.alerts(limit=500, district=district or None)
    res = gather(calls)

    cards = []
    for i, (fam, ind) in enumerate(r.headline()):
        cards.append(_kpi_card(fam, ind, res["d:" + ind.code], res["m:" + ind.code], r, lang, dark,
                               SERIES[i % len(SERIES)], district, (last_full_day - timedelta(days=29), last_full_day)))

    li = res["li"]
    if isinstance(li, Exception):
        li_panel: Any = ui.problem(li, lang, "GET /api/v1/leading-index")
    else:
        pts = li.places[0].points if li.places else []
        df = pd.DataFrame([{"period": p.month.isoformat()[:7], "composite": p.composite, "diffusion": p.diffusion}
                           for p in pts], columns=["period", "composite", "diffusion"])
        li_panel = ui.graph(figures.leading_index(df, title=t("overview.leading", lang), lang=lang, dark=dark))

    alerts = res["alerts"]
    if isinstance(alerts, Exception):
        board: Any = ui.problem(alerts, lang, "GET /api/v1/alerts")
        latest: Any = ui.problem(alerts, lang, "GET /api/v1/alerts")
    else:
        open_alerts = [a for a in alerts.items if a.state in OPEN_STATES]
        board = _board(r, open_alerts, state)
        latest = _latest(sorted(alerts.items, key=lambda a: a.opened_at, reverse=True)[:8], r, lang, state)

    return [
        html.Div(className="title-row", children=[
            html.H2(t("overview.title", lang) + (f" · {name(r.district(district), lang)}"
                                                 if district and r.district(district) else "")),
            html.Span(f"{t('overview.updated', lang)} {fmt.local_time(fmt.now_local(), with_seconds=True)}",
                      id=ids.OVERVIEW_UPDATED, className="updated"),
        ]),
        html.Div(cards, className="kpis"),
        html.Div(className="row", children=[
            html.Section(className="panel grow", children=[li_panel]),
            html.Section(className="panel", children=[html.H3(t("overview.board", lang)), board]),
        ]),
        html.Section(className="panel", children=[html.H3(t("overview.alerts", lang)), latest]),
    ]


def _kpi_card(fam: str, ind: Any, daily: Any, monthly: Any, r: views.Refs, lang: str, dark: bool, colour: str,
              district: str, window: tuple[date, date]) -> html.Div:
    unit = r.unit(ind.unit_code, lang)
    head = html.Div(className="kpi-head", children=[html.Span(t(f"family.{fam}", lang), className="kpi-family"),
                                                    html.Span(name(ind, lang), className="kpi-name")])
    link = "/districts" + ViewState(lang=lang, district=district, indicator=ind.code).to_query()
    if isinstance(daily, Exception):
        return html.Div(className="kpi", children=[head, ui.problem(daily, lang, "GET /api/v1/series")])
    dframe = views.series_frame(daily)
    mframe = views.series_frame(None if isinstance(monthly, Exception) else monthly)
    d_last, m_last = views.last_valid(dframe), views.last_valid(mframe)
    gd = ind.good_direction

    def figure_block(label: str, last: dict[str, Any] | None) -> html.Div:
        if last is None:
            return html.Div(className="kpi-block", children=[html.Div(label, className="kpi-label"),
                                                             html.Div(fmt.DASH, className="kpi-value")])
        return html.Div(className="kpi-block", children=[
            html.Div(f"{label} {last['label']}{views.through_suffix(last.get('through'), lang)}",
                     className="kpi-label"),
            html.Div(fmt.number(last["value"], lang, unit), className="kpi-value"),
            html.Div([ui.growth_span(last["yoy_pct"], t("kpi.yoy", lang), gd),
                      ui.growth_span(last["pop_pct"], t("kpi.pop", lang), gd)], className="kpi-growth"),
        ])

    return html.Div(className="kpi", children=[
        dcc.Link(head, href=link, className="kpi-link"),
        html.Div(className="kpi-figures", children=[figure_block(t("kpi.latest_day", lang), d_last),
                                                    figure_block(t("kpi.latest_month", lang), m_last)]),
        html.Img(src=figures.sparkline(dframe, colour=colour, start=window[0], end=window[1]), className="spark",
                 alt=f"{t('kpi.trend', lang)}: {name(ind, lang)}"),
    ])


def _board(r: views.Refs, open_alerts: list[Alert], state: ViewState) -> html.Div:
    lang = state.lang
    levels: dict[str, list[str]] = {}
    by_id = {d.id: d.code for d in r.districts}
    for a in open_alerts:
        code = by_id.get(a.district_id) if a.district_id is not None else None
        if code:
            levels.setdefault(code, []).append(a.level)
    frame = figures.district_board([(d.code, name(d, lang)) for d in r.districts], levels)
    tiles = []
    for row in frame.to_dict("records"):
        level, count = str(row["level"]), int(row["count"])
        tiles.append(dcc.Link(
            className=f"tile level-{level}", href="/districts" + state.to_query(district=str(row["code"])),
            children=[html.Div(str(row["name"]), className="tile-name"),
                      html.Div(t(f"level.{level}", lang) if level != "none" else t("overview.no_alert", lang),
                               className="tile-level"),
                      html.Div(str(count) if count else "", className="tile-count")]))
    return html.Div(tiles, className="board")


def _latest(alerts: list[Alert], r: views.Refs, lang: str, state: ViewState) -> Any:
    if not alerts:
        return html.Div(t("alerts.none", lang), className="note")
    rows = []
    for a in alerts:
        ind = r.indicator(a.indicator_code)
        entity = entity_name(a, lang)
        title = (a.explanation_en if lang == "en" and a.explanation_en else a.explanation_zh) or ""
        rows.append([ui.level_badge(a.level, lang), entity, name(ind, lang) if ind else a.indicator_code,
                     t(f"state.{a.state}", lang), fmt.local_time(a.opened_at), title,
                     dcc.Link(t("common.view", lang), href=f"/alerts/{a.id}" + ViewState(lang=lang).to_query())])
    return ui.table([t("alerts.level", lang), t("alerts.entity", lang), t("alerts.indicator", lang),
                     t("alerts.state", lang), t("alerts.opened", lang), t("alerts.explanation", lang), ""], rows)
