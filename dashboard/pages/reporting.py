"""报送情况 Reporting: which enterprises have and have not reported for a month and how late
(企业直报 completeness), and each ingest source's status (last success, lag, errors)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from dashboard import components as ui
from dashboard import context, figures, ids, views
from dashboard import format as fmt
from dashboard.client import ApiError, Completeness, gather
from dashboard.i18n import t
from dashboard.state import ViewState

dash.register_page(__name__, path="/reporting", title="报送情况 · 运监", name="reporting")

STATUS_ORDER = {"missing": 0, "late": 1, "pending": 2, "reported": 3}


def layout(**kwargs: Any) -> html.Div:
    state = ViewState.from_query(kwargs)
    lang = state.lang
    try:
        user = context.me().user
    except ApiError as exc:
        return html.Div(className="page", children=ui.problem(exc, lang))
    today = fmt.now_local().date()
    months = [views.month_start(today, k) for k in range(1, 13)]
    month = date.fromisoformat(state.period[:7] + "-01") if len(state.period) >= 7 and _valid(state.period) else months[0]
    api = context.api()
    res = gather({"c": lambda: api.completeness(month), "s": lambda: api.sources()})
    c = res["c"]
    if isinstance(c, Exception):
        comp: Any = ui.problem(c, lang, "GET /api/v1/reporting/completeness")
    else:
        comp = html.Div([
            html.Div(className="title-row", children=[
                html.H3(f"{t('report.title', lang)} · {c.period}"),
                html.Span(f"{t('report.due', lang)} {c.due} · {fmt.local_time(c.due_at)}", className="updated")]),
            ui.graph(figures.completeness({"reported": c.reported, "late": c.late, "missing": c.missing},
                                          title="", lang=lang, dark=state.big), modebar=False),
            completeness_table(c, lang, {i.code: i.name_en if lang == "en" else i.name_zh
                                         for i in views.refs().indicators}),
        ])
    s = res["s"]
    if isinstance(s, Exception):
        src: Any = ui.problem(s, lang, "GET /api/v1/ingest/sources")
    else:
        src = ui.table(
            [t("report.source", lang), t("report.status", lang), t("report.last_success", lang), t("report.lag", lang),
             t("report.errors", lang)],
            [[x.title_en if lang == "en" else x.title_zh, html.Span(x.state, className=f"status-{x.state}"),
              fmt.local_time(x.last_success_at), fmt.duration(x.lag_s, lang),
              html.Span(f"{fmt.local_time(x.last_error_at)} {x.last_error}" if x.last_error else fmt.DASH)]
             for x in s])
    picker = html.Div(className="controls", children=[html.Div(className="ctrl", children=[
        html.Label(t("report.month", lang)),
        dcc.Dropdown(id=ids.REPORT_MONTH, clearable=False, value=month.strftime("%Y-%m"),
                     options=[{"label": m.strftime("%Y-%m"), "value": m.strftime("%Y-%m")} for m in months])])])
    body = html.Div([
        html.Div(className="title-row", children=[html.H2(t("report.title", lang))]),
        picker,
        html.Section(comp, className="panel"),
        html.Section([html.H3(t("report.sources", lang)), src], className="panel"),
    ])
    return ui.shell(state, "reporting", "/reporting", body, user=user.display_name)


def _valid(period: str) -> bool:
    try:
        date.fromisoformat(period[:7] + "-01")
    except ValueError:
        return False
    return True


def completeness_table(c: Completeness, lang: str, indicator_names: dict[str, str] | None = None) -> html.Table:
    """Enterprises not yet complete first (未报, then 迟报, 待报), then 已报; with how late."""
    rows = []
    q = ViewState(lang=lang).to_query()
    for e in sorted(c.enterprises, key=lambda e: (STATUS_ORDER.get(e.status, 9), e.name_zh)):
        if e.completed_at is not None and e.completed_at > c.due_at:
            late: float | None = (e.completed_at - c.due_at) / timedelta(days=1)
        elif e.status == "missing":
            late = (fmt.now_local() - c.due_at) / timedelta(days=1)
        else:
            late = None
        status = t(f"report.{e.status}", lang) if e.status != "pending" else (e.status_zh or e.status)
        rows.append([dcc.Link(e.name_zh, href=f"/enterprise/{e.enterprise_id}{q}"),
                     html.Span(status, className=f"status-{'late-report' if e.status == 'late' else e.status}"),
                     fmt.local_time(e.completed_at), f"{late:.1f}" if late is not None else fmt.DASH,
                     "、".join((indicator_names or {}).get(m, m) for m in e.missing)])
    return ui.table([t("report.enterprise", lang), t("report.status", lang), t("report.submitted", lang),
                     t("report.days_late", lang), "缺报指标" if lang != "en" else "Missing"], rows)


@dash.callback(Output(ids.URL, "href", allow_duplicate=True), Input(ids.REPORT_MONTH, "value"),
               State(ids.URL, "search"), prevent_initial_call=True)
def _month(month: str | None, search: str | None) -> Any:
    state = ViewState.from_search(search)
    new = state.with_(period=month or "")
    return dash.no_update if new == state else "/reporting" + new.to_query()
