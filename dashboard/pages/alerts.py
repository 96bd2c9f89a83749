"""预警处置 Alert desk: the list with filters (level, state, district, indicator, time range).
Each row opens the alert's page (`/alerts/<id>`) with its timeline and the actions."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

import dash
from dash import MATCH, Input, Output, State, dcc, html

from dashboard import components as ui
from dashboard import context, ids, views
from dashboard import format as fmt
from dashboard.alerting import (
    ACTIVE,
    STATES,
    entity_name,
    filter_alerts,
    level_counts,
    place_name,
    state_text,
)
from dashboard.client import Alert, ApiError, Silence
from dashboard.i18n import name, t
from dashboard.permissions import SILENCE_PERMISSION
from dashboard.state import ViewState
from dashboard.theme import LEVELS

dash.register_page(__name__, path="/alerts", title="预警处置 · 运监", name="alerts")


def layout(**kwargs: Any) -> html.Div:
    state = ViewState.from_query(kwargs)
    lang = state.lang
    try:
        r = views.refs()
        me = context.me()
    except ApiError as exc:
        return html.Div(className="page", children=ui.problem(exc, lang))
    opts = views.options(r, lang)
    district = views.effective_district(state, r)
    start, _end = state.span(fmt.now_local().date())
    since = datetime.combine(start, time(0), tzinfo=fmt.SHANGHAI)
    try:
        page = context.api().alerts(level=state.alevel or None,
                                    state=list(ACTIVE) if state.astate == "" else None if state.astate == "all"
                                    else state.astate, district=district or None,
                                    indicator=state.indicator or None, opened_from=since, limit=1000)
        items = filter_alerts(page.items, state.astate)
        listing: Any = alert_table(items, r, lang) if items else html.Div(t("alerts.none", lang), className="note")
        counts = level_counts(items)
    except ApiError as exc:
        listing, counts = ui.problem(exc, lang, "GET /api/v1/alerts"), {}
    filters = html.Div(className="controls", children=[
        html.Div(className="ctrl", children=[html.Label(t("alerts.level", lang)), dcc.Dropdown(
            id=ids.ALERT_FILTER_LEVEL, value=state.alevel, clearable=False,
            options=[{"label": t("ctrl.all", lang), "value": ""}] +
                    [{"label": t(f"level.{lvl}", lang), "value": lvl} for lvl in LEVELS])]),
        html.Div(className="ctrl", children=[html.Label(t("alerts.state", lang)), dcc.Dropdown(
            id=ids.ALERT_FILTER_STATE, value=state.astate, clearable=False,
            options=[{"label": ("、" if lang != "en" else ", ").join(t(f"state.{s}", lang) for s in ACTIVE),
                      "value": ""},
                     {"label": t("ctrl.all", lang), "value": "all"}] +
                    [{"label": t(f"state.{s}", lang), "value": s} for s in STATES])]),
    ])
    summary = html.Div(className="chips", children=[
        html.Span(f"{t(f'level.{lvl}', lang)} {counts.get(lvl, 0)}", className=f"badge level-{lvl}") for lvl in LEVELS])
    try:
        silences = context.api().silences()
    except ApiError:
        silences = []  # the list of alerts still shows
    can_cancel = SILENCE_PERMISSION in me.permissions
    body = html.Div([
        html.Div(className="title-row", children=[html.H2(t("alerts.title", lang)), summary]),
        filters,
        html.Section(listing, className="panel"),
        html.Section([html.H3(t("alerts.silences", lang)), silence_table(silences, r, lang, can_cancel)],
                     className="panel silences") if silences else None,
    ])
    ctrl = ui.controls(state, districts=opts["districts"], indicators=opts["indicators"],
                       show=frozenset({"range", "district", "indicator"}))
    return ui.shell(state, "alerts", "/alerts", body, ctrl, me.user.display_name)


def silence_table(silences: list[Silence], r: views.Refs, lang: str, can_cancel: bool) -> html.Table:
    """The silences and maintenance windows in force or to come, each with a cancel button
    for those who may silence."""
    rows = []
    for s in silences:
        ind = r.indicator(s.indicator_code) if s.indicator_code else None
        target = place_name(s.entity_name_zh, s.entity_name_en, lang) if s.entity_name_zh else (
            t("alerts.everything", lang) if not s.entity_kind and not s.district_id else
            s.entity_kind or "")
        cancel = html.Span(id={"type": ids.SILENCE_STATUS, "silence": s.id}, children=html.Button(
            t("alerts.silence_cancel", lang), id={"type": ids.SILENCE_CANCEL, "silence": s.id}, n_clicks=0,
            className="btn", disabled=not can_cancel))
        rows.append([t(f"alerts.silence_kind_short.{s.kind}", lang),
                     (name(ind, lang) if ind else s.indicator_code) or t("alerts.everything", lang), target,
                     fmt.local_time(s.ends_at), s.reason, cancel])
    return ui.table([t("alerts.silence_kind", lang), t("alerts.indicator", lang), t("alerts.silence_target", lang),
                     t("alerts.silence_until", lang), t("alerts.silence_reason_col", lang), ""], rows)


def alert_table(alerts: list[Alert], r: views.Refs, lang: str) -> html.Table:
    q = ViewState(lang=lang).to_query()
    rows = []
    for a in alerts:
        ind = r.indicator(a.indicator_code)
        rows.append([ui.level_badge(a.level, lang), dcc.Link(entity_name(a, lang), href=f"/alerts/{a.id}{q}"),
                     place_name(a.district_name_zh, a.district_name_en, lang), name(ind, lang) if ind else a.indicator_code,
                     state_text(a, lang), fmt.local_time(a.opened_at),
                     (a.explanation_en if lang == "en" and a.explanation_en else a.explanation_zh) or ""])
    return ui.table([t("alerts.level", lang), t("alerts.entity", lang), t("common.district", lang),
                     t("alerts.indicator", lang), t("alerts.state", lang), t("alerts.opened", lang),
                     t("alerts.explanation", lang)], rows)


@dash.callback(Output(ids.URL, "href", allow_duplicate=True), Input(ids.ALERT_FILTER_LEVEL, "value"),
               Input(ids.ALERT_FILTER_STATE, "value"), State(ids.URL, "search"), prevent_initial_call=True)
def _filters(level: str | None, astate: str | None, search: str | None) -> Any:
    state = ViewState.from_search(search)
    new = state.with_(alevel=level or "", astate=astate or "")
    return dash.no_update if new == state else "/alerts" + new.to_query()


@dash.callback(Output({"type": ids.SILENCE_STATUS, "silence": MATCH}, "children"),
               Input({"type": ids.SILENCE_CANCEL, "silence": MATCH}, "n_clicks"),
               State(ids.URL, "search"), prevent_initial_call=True)
def _cancel(clicks: int, search: str | None) -> Any:
    """End a silence or maintenance window now, through the API."""
    if not clicks:
        return dash.no_update
    lang = ViewState.from_search(search).lang
    trig = dash.ctx.triggered_id
    try:
        context.api().cancel_silence(int(trig["silence"]))
    except ApiError as exc:
        return t("alerts.forbidden", lang) if exc.status == 403 else f"{t('common.error', lang)}{exc.detail}"
    return t("alerts.silence_cancelled", lang)
