"""One alert: what fired and why (expected band, explanation), its episode chart, its
timeline, and the actions — acknowledge, escalate, resolve with countermeasures (对策建议),
close as a false alarm (误报), assign to a department, comment, silence — offered by role and
done through the API, which records who and when."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import dash
import pandas as pd
from dash import ALL, MATCH, Input, Output, State, dcc, html

from dashboard import components as ui
from dashboard import context, figures, ids, views
from dashboard import format as fmt
from dashboard.alerting import (
    POSITIONS,
    SILENCE_HOURS,
    action_body,
    entity_name,
    event_label,
    fact_rows,
    silence_body,
)
from dashboard.client import AlertDetail, AlertEvent, ApiError
from dashboard.i18n import name, t
from dashboard.permissions import ACTIONS, SILENCE_PERMISSION, allowed_actions
from dashboard.state import ViewState

dash.register_page(__name__, path_template="/alerts/<alert_id>", title="预警 · 运监", name="alert")

BUTTON_CLASS = {"acknowledge": "btn primary", "escalate": "btn warn", "resolve": "btn ok", "close": "btn",
                "assign": "btn", "comment": "btn"}


def layout(alert_id: str = "", **kwargs: Any) -> html.Div:
    state = ViewState.from_query(kwargs)
    lang = state.lang
    try:
        r = views.refs()
        me = context.me()
        aid = int(alert_id)
        a = context.api().alert(aid)
    except ValueError:
        return html.Div(className="page", children=html.Div(t("alerts.none", lang), className="note"))
    except ApiError as exc:
        body: Any = ui.problem(exc, lang, "GET /api/v1/alerts/{id}")
        return ui.shell(state, "alerts", f"/alerts/{alert_id}", body)
    ind = r.indicator(a.indicator_code)
    unit = r.unit(ind.unit_code, lang) if ind else ""
    who = entity_name(a, lang)
    allowed = allowed_actions(me.permissions, a.state)
    pts = pd.DataFrame([p.model_dump() for p in a.points], columns=["time", "value", "expected", "lower", "upper"])
    info = html.Dl(className="kv", children=[
        html.Dt(t("alerts.level", lang)), html.Dd(ui.level_badge(a.level, lang)),
        html.Dt(t("alerts.state", lang)), html.Dd(t(f"state.{a.state}", lang), id={"type": ids.ALERT_STATE, "alert": aid}),
        html.Dt(t("alerts.entity", lang)), html.Dd(who),
        html.Dt(t("alerts.indicator", lang)), html.Dd(name(ind, lang) if ind else a.indicator_code),
        html.Dt(t("alerts.opened", lang)), html.Dd(fmt.local_time(a.opened_at)),
        *[c for k, v in fact_rows(a, lang, unit) for c in (html.Dt(k), html.Dd(v))],
        html.Dt(t("alerts.explanation", lang)),
        html.Dd((a.explanation_en if lang == "en" and a.explanation_en else a.explanation_zh) or fmt.DASH),
    ])
    actions = html.Div(className="actions", children=[
        dcc.Textarea(id={"type": ids.ALERT_TEXT, "alert": aid}, placeholder=t("alerts.text", lang), value=""),
        html.Label(t("alerts.to", lang)),
        dcc.Dropdown(id={"type": ids.ALERT_TO, "alert": aid}, value=POSITIONS[0], clearable=False,
                     searchable=False, style={"minWidth": "220px"},
                     options=[{"label": t(f"position.{p}", lang), "value": p} for p in POSITIONS]),
        dcc.Input(id={"type": ids.ALERT_DEPT, "alert": aid}, placeholder=t("alerts.department_hint", lang),
                  value=a.department or "", className="dept", style={"minWidth": "260px"}),
        *[html.Button(t(f"alerts.{'ack' if act == 'acknowledge' else act}", lang),
                      id={"type": ids.ALERT_ACTION, "action": act, "alert": aid}, n_clicks=0,
                      className=BUTTON_CLASS[act], disabled=act not in allowed) for act in ACTIONS],
        html.Div(id={"type": ids.ALERT_MESSAGE, "alert": aid}, className="action-message"),
        dcc.Store(id={"type": ids.ALERT_ID, "alert": aid}, data={"id": aid, "lang": lang}),
    ])
    silence = html.Div(className="actions silence", children=[
        dcc.Dropdown(id={"type": ids.ALERT_SILENCE_KIND, "alert": aid}, value="silence", clearable=False,
                     searchable=False, style={"minWidth": "260px"},
                     options=[{"label": t(f"alerts.silence_kind.{k}", lang), "value": k}
                              for k in ("silence", "maintenance")]),
        dcc.Dropdown(id={"type": ids.ALERT_SILENCE_HOURS, "alert": aid}, value=SILENCE_HOURS[1], clearable=False,
                     searchable=False, style={"minWidth": "110px"},
                     options=[{"label": t("alerts.silence_hours", lang).format(h), "value": h} for h in SILENCE_HOURS]),
        html.Button(t("alerts.silence", lang), id={"type": ids.ALERT_SILENCE, "alert": aid}, n_clicks=0,
                    className="btn", disabled=SILENCE_PERMISSION not in me.permissions),
        html.Div(id={"type": ids.ALERT_SILENCE_MESSAGE, "alert": aid}, className="action-message"),
    ])
    body = html.Div([
        html.Div(className="title-row", children=[
            html.H2(f"{t('alerts.title', lang)} #{a.id} · {who}"),
            dcc.Link("← " + t("alerts.back", lang), href="/alerts" + ViewState(lang=lang).to_query())]),
        html.Div(className="row", children=[
            html.Section([info], className="panel"),
            html.Section([episode_chart(a, pts, r, lang, state.big)], className="panel grow"),
        ]),
        html.Div(className="row", children=[
            html.Section([html.H3(t("alerts.timeline", lang)), html.Div(timeline(a, lang), id={"type": ids.ALERT_TIMELINE, "alert": aid})],
                         className="panel grow"),
            html.Section([actions, silence], className="panel grow"),
        ]),
    ])
    return ui.shell(state, "alerts", f"/alerts/{aid}", body, user=me.user.display_name)


def episode_chart(a: AlertDetail, pts: pd.DataFrame, r: views.Refs, lang: str, dark: bool) -> Any:
    """The alert's own chart points if it has them (for a meter that stopped reporting: its last
    reports and the silence, shaded); else its series (daily, from 30 days before the episode)
    with this alert flagged on it."""
    ind = r.indicator(a.indicator_code)
    title = name(ind, lang) if ind else a.indicator_code
    unit = r.unit(ind.unit_code, lang) if ind else ""
    if not pts.empty:
        gap = (a.report_gap.since, a.report_gap.until) if a.report_gap else None
        return ui.graph(figures.alert_episode(pts, title=title, unit=unit, level=a.level, lang=lang, dark=dark,
                                              gap=gap, episode_start=a.episode_started_at))
    where: dict[str, Any] = {}
    if a.entity_kind == "district":
        d = r.district_by_id(a.entity_id)
        where = {"district": d.code} if d else {}
    elif a.entity_kind == "park":
        p = next((p for p in r.parks if p.id == a.entity_id), None)
        where = {"park": p.code} if p else {}
    elif a.entity_kind == "enterprise":
        where = {"enterprise": a.entity_id}
    if not where and a.entity_kind != "city":
        return ui.graph(figures.empty(t("common.no_data", lang), dark))
    start = (a.episode_started_at or a.opened_at).astimezone(fmt.SHANGHAI).date() - timedelta(days=30)
    try:
        s = context.api().series(a.indicator_code, bucket="day", start=start, end=fmt.now_local().date(),
                                 figures="yoy", **where)
    except ApiError as exc:
        return ui.problem(exc, lang)
    flags = figures.flags_frame(views.alert_dicts([a]), "day", lang)
    return ui.graph(figures.trend_with_flags(views.series_frame(s), flags, title=title, unit=unit, lang=lang,
                                             dark=dark, draw_band=ind is not None and ind.frequency == "day"))


def _who(e: AlertEvent, lang: str) -> str:
    """The display name with the username (值班员（乌达区） wuda_duty), or 系统 for the system."""
    if e.actor == "system":
        return t("common.system", lang)
    return f"{e.actor_name} ({e.actor})" if e.actor_name else str(e.actor)


def timeline(a: AlertDetail, lang: str) -> html.Ul:
    """The alert's events, oldest first: when, who, what, and the text (reason, countermeasures)."""
    items = []
    for e in sorted(a.timeline, key=lambda e: e.at):
        what = event_label(e, lang)
        items.append(html.Li(className=f"event event-{e.kind}", children=[
            html.Span(fmt.local_time(e.at, with_seconds=True), className="when"),
            html.B(what), html.Span(f" · {_who(e, lang)}" if e.actor else ""),
            html.Div(e.text) if e.text else None]))
    return html.Ul(items, className="timeline")


@dash.callback(Output({"type": ids.ALERT_TIMELINE, "alert": MATCH}, "children"),
               Output({"type": ids.ALERT_MESSAGE, "alert": MATCH}, "children"),
               Output({"type": ids.ALERT_ACTION, "action": ALL, "alert": MATCH}, "disabled"),
               Output({"type": ids.ALERT_STATE, "alert": MATCH}, "children"),
               Input({"type": ids.ALERT_ACTION, "action": ALL, "alert": MATCH}, "n_clicks"),
               State({"type": ids.ALERT_TEXT, "alert": MATCH}, "value"),
               State({"type": ids.ALERT_TO, "alert": MATCH}, "value"),
               State({"type": ids.ALERT_DEPT, "alert": MATCH}, "value"),
               State({"type": ids.ALERT_ID, "alert": MATCH}, "data"),
               prevent_initial_call=True)
def _act(clicks: list[int], text: str | None, to: str | None, dept: str | None, store: dict[str, Any]) -> Any:
    """Run the clicked action through the API; show the new timeline and state."""
    trig = dash.ctx.triggered_id
    keep = [dash.no_update] * len(clicks)
    if not isinstance(trig, dict) or not any(clicks):
        return dash.no_update, dash.no_update, keep, dash.no_update
    action, lang = str(trig["action"]), store.get("lang", "zh")
    text = (text or "").strip()
    if action in ("resolve", "comment", "escalate", "close") and not text:
        return dash.no_update, t("alerts.text", lang), keep, dash.no_update
    dept = (dept or "").strip()
    if action == "assign" and not dept:
        return dash.no_update, t("alerts.department_hint", lang), keep, dash.no_update
    try:
        a = context.api().alert_action(int(store["id"]), action,
                                       action_body(action, text, dept if action == "assign" else to or ""))
    except ApiError as exc:
        msg = t("alerts.forbidden", lang) if exc.status == 403 else f"{t('common.error', lang)}{exc.detail}"
        return dash.no_update, msg, keep, dash.no_update
    me = context.me()
    allowed = allowed_actions(me.permissions, a.state)
    return timeline(a, lang), t("alerts.done", lang), [act not in allowed for act in ACTIONS], \
        t(f"state.{a.state}", lang)


@dash.callback(Output({"type": ids.ALERT_SILENCE_MESSAGE, "alert": MATCH}, "children"),
               Input({"type": ids.ALERT_SILENCE, "alert": MATCH}, "n_clicks"),
               State({"type": ids.ALERT_TEXT, "alert": MATCH}, "value"),
               State({"type": ids.ALERT_SILENCE_KIND, "alert": MATCH}, "value"),
               State({"type": ids.ALERT_SILENCE_HOURS, "alert": MATCH}, "value"),
               State({"type": ids.ALERT_ID, "alert": MATCH}, "data"),
               prevent_initial_call=True)
def _silence(clicks: int, text: str | None, kind: str, hours: float, store: dict[str, Any]) -> Any:
    """Silence this alert's indicator on its entity (or open a maintenance window) through the
    API, with the text above as the reason."""
    lang = store.get("lang", "zh")
    if not clicks:
        return dash.no_update
    reason = (text or "").strip()
    if not reason:
        return t("alerts.silence_reason", lang)
    try:
        api = context.api()
        a = api.alert(int(store["id"]))
        s = api.create_silence(silence_body(a, kind, float(hours), reason, fmt.now_local()))
    except ApiError as exc:
        return t("alerts.forbidden", lang) if exc.status == 403 else f"{t('common.error', lang)}{exc.detail}"
    key = "alerts.maintenance_until" if s.kind == "maintenance" else "alerts.silenced_until"
    return t(key, lang).format(fmt.local_time(s.ends_at))
