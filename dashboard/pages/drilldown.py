"""下钻 Drill-down: from a point of a district or park chart to the enterprises that explain
it — each one's contribution (percentage points) to the change against the same period last
year — and on to an enterprise's page."""

from __future__ import annotations

from datetime import date
from typing import Any

import dash
import pandas as pd
from dash import Input, Output, State, dcc, html

from dashboard import components as ui
from dashboard import context, figures, ids, views
from dashboard import format as fmt
from dashboard.client import ApiError
from dashboard.i18n import name, t
from dashboard.state import ViewState

dash.register_page(__name__, path="/drilldown", title="下钻 · 运监", name="drilldown")

CONTRIB_GRAPH = ids.DRILL_GRAPH


def layout(**kwargs: Any) -> html.Div:
    state = ViewState.from_query(kwargs)
    lang = state.lang
    try:
        r = views.refs()
        user = context.me().user
    except ApiError as exc:
        return html.Div(className="page", children=ui.problem(exc, lang))
    if not (state.indicator and state.period and (state.district or state.park)):
        return ui.shell(state, "district", "/drilldown", html.Div(t("drill.pick", lang), className="note"),
                        user=user.display_name)
    ind = r.indicator(state.indicator)
    gran = state.gran if state.gran != "hour" else "day"
    period = date.fromisoformat(state.period[:10])
    place = r.district(state.district) if state.district and not state.park else r.park(state.park)
    try:
        s = context.api().series(state.indicator, bucket=gran, start=period, end=period, group_by="enterprise",
                                 figures="yoy,share,contribution", industry=state.industry or None,
                                 park=state.park or None, district=None if state.park else state.district)
    except ApiError as exc:
        return ui.shell(state, "district", "/drilldown", ui.problem(exc, lang), user=user.display_name)
    frame = views.contributions_frame(s, lang)
    parent = s.parent.points[0] if s.parent and s.parent.points else None
    unit = r.unit(ind.unit_code, lang) if ind else ""
    label = parent.period if parent else state.period
    head = html.Div(className="title-row", children=[
        html.H2(f"{name(place, lang) if place else ''} · {name(ind, lang) if ind else state.indicator} · {label}"),
        html.Div(className="kpi-growth", children=[
            html.Span(f"{t('common.value', lang)} {fmt.number(parent.value if parent else None, lang, unit)}"),
            ui.growth_span(parent.yoy_pct if parent else None, t("kpi.yoy", lang),
                           ind.good_direction if ind else "up")]),
    ])
    top = frame.head(15)
    chart = ui.graph(figures.contributions(top.rename(columns={"contribution_pp": "value"})[["name", "value", "id"]],
                                           title=t("drill.title", lang), lang=lang, dark=state.big),
                     gid=CONTRIB_GRAPH)
    q = ViewState(lang=lang, range=state.range, gran=state.gran).to_query()
    rows = [[dcc.Link(row["name"], href=f"/enterprise/{row['id']}{q}"), fmt.number(row["value_now"], lang, unit),
             fmt.number(row["last_year"], lang, unit), fmt.number(row["change"], lang, unit),
             f"{row['contribution_pp']:+.2f} pp" if pd.notna(row["contribution_pp"]) else fmt.DASH,
             fmt.growth(row["yoy_pct"])] for _, row in top.iterrows()]
    tbl = ui.table([t("report.enterprise", lang), t("common.value", lang), t("drill.base", lang),
                    t("drill.change", lang), t("drill.contribution", lang), t("kpi.yoy", lang)], rows)
    back = dcc.Link("← " + t("nav.district" if state.district and not state.park else "nav.park", lang),
                    href=("/districts" if not state.park else "/parks") + state.to_query(period=""))
    body = html.Div([head, back, html.Section(chart, className="panel"), html.Section(tbl, className="panel")])
    return ui.shell(state, "district" if not state.park else "park", "/drilldown", body, user=user.display_name)


@dash.callback(Output(ids.URL, "href", allow_duplicate=True), Input(CONTRIB_GRAPH, "clickData"),
               State(ids.URL, "search"), prevent_initial_call=True)
def _to_enterprise(click: dict[str, Any] | None, search: str | None) -> Any:
    if not click or not click.get("points"):
        return dash.no_update
    eid = click["points"][0].get("customdata")
    if eid is None:
        return dash.no_update
    state = ViewState.from_search(search)
    return f"/enterprise/{int(eid)}" + ViewState(lang=state.lang, range=state.range, gran=state.gran).to_query()
