"""报送情况 Reporting: which enterprises have and have not reported for a month and how late
(企业直报 completeness), and each ingest source's status (last success, lag, errors)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import dash
from dash import ALL, MATCH, Input, Output, State, dcc, html

from dashboard import components as ui
from dashboard import context, figures, ids, views
from dashboard import format as fmt
from dashboard.client import ApiError, Completeness, CompletenessRow, QuarantineRow, gather
from dashboard.completeness import STATUS_ORDER, ordered
from dashboard.i18n import t
from dashboard.state import PageSlice, ViewState, paginate

dash.register_page(__name__, path="/reporting", title="报送情况 · 运监", name="reporting")

SOURCE_STATES = ("ok", "late", "failing", "never")
PAGE_SIZE = 50  # enterprises per page of the completeness list
QUARANTINE_ROWS = 20  # the latest rows held for review shown


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
    res = gather({"c": lambda: api.completeness(month), "s": lambda: api.sources(),
                  "q": lambda: api.quarantine(limit=QUARANTINE_ROWS)})
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
            status_filter(c, state),
            *completeness_page(c, state, {i.code: i.name_en if lang == "en" else i.name_zh
                                          for i in views.refs().indicators}),
        ])
    s = res["s"]
    if isinstance(s, Exception):
        src: Any = ui.problem(s, lang, "GET /api/v1/ingest/sources")
    elif not s:
        src = html.Div(t("report.no_sources", lang), className="note")
    else:
        src = ui.table(
            [t("report.source", lang), t("report.status", lang), t("report.last_success", lang), t("report.lag", lang),
             t("report.errors", lang)],
            [[x.title_en if lang == "en" else x.title_zh,
              html.Span(t(f"source.{x.state}", lang) if x.state in SOURCE_STATES else x.state,
                        className=f"status-{x.state}"),
              fmt.local_time(x.last_success_at), fmt.duration(x.lag_s, lang),
              html.Span(f"{fmt.local_time(x.last_error_at)} {x.last_error}" if x.last_error else fmt.DASH)]
             for x in s])
    titles = {} if isinstance(s, Exception) else {x.name: x.title_en if lang == "en" else x.title_zh for x in s}
    held = quarantine_panel(res["q"], titles, lang)
    picker = html.Div(className="controls", children=[html.Div(className="ctrl", children=[
        html.Label(t("report.month", lang)),
        dcc.Dropdown(id=ids.REPORT_MONTH, clearable=False, value=month.strftime("%Y-%m"),
                     options=[{"label": m.strftime("%Y-%m"), "value": m.strftime("%Y-%m")} for m in months])])])
    body = html.Div([
        html.Div(className="title-row", children=[html.H2(t("report.title", lang))]),
        picker,
        html.Section(comp, className="panel"),
        html.Section([html.H3(t("report.sources", lang)), src], className="panel"),
        held,
    ])
    return ui.shell(state, "reporting", "/reporting", body, user=user.display_name)


def quarantine_panel(q: Any, titles: dict[str, str], lang: str) -> Any:
    """The rows held for review (rejected input, suspected unit mix-ups): what arrived, from
    where, why. Not shown to roles that may not read the quarantine (403)."""
    if isinstance(q, ApiError) and q.status == 403:
        return None
    if isinstance(q, Exception):
        return html.Section(ui.problem(q, lang, "GET /api/v1/ingest/quarantine"), className="panel")
    head = html.H3(t("report.quarantine", lang))
    if not q.items:
        return html.Section([head, html.Div(t("report.quarantine_none", lang), className="note")],
                            className="panel quarantine")
    reason = (lambda r: r.split(" / ", 1)[1] if " / " in r else r) if lang == "en" else (
        lambda r: r.split(" / ", 1)[0])
    def actions(r: QuarantineRow) -> html.Div:
        body = resubmit_body(r.raw_json)
        buttons: list[Any] = [dcc.Store(id={"type": ids.QUARANTINE_BODY, "row": r.id}, data=body)]
        if body is not None:
            buttons.append(html.Button(t("report.q_accept", lang), id={"type": ids.QUARANTINE_ACTION,
                                                                         "action": "accept", "row": r.id},
                                       className="btn primary"))
        buttons.append(html.Button(t("report.q_dismiss", lang), id={"type": ids.QUARANTINE_ACTION,
                                                                     "action": "dismiss", "row": r.id}, className="btn"))
        return html.Div([*buttons, html.Span(id={"type": ids.QUARANTINE_MESSAGE, "row": r.id}, className="note")],
                        className="actions")

    return html.Section(className="panel quarantine", children=[
        head,
        html.Div(t("report.quarantine_total", lang).format(n=q.total, k=len(q.items)), className="note"),
        dcc.Store(id=ids.QUARANTINE_LANG, data=lang),
        ui.table([t("report.q_seen", lang), t("report.source", lang), t("report.q_reason", lang),
                  t("report.q_content", lang), t("report.q_times", lang), t("report.q_action", lang)],
                 [[fmt.local_time(r.last_seen_at), titles.get(r.source_name, r.source_name), reason(r.reason),
                   html.Code(content(r)), str(r.seen_count), actions(r)]
                  for r in q.items])])


def content(r: QuarantineRow, width: int = 160) -> str:
    """What arrived: a held value as indicator, entity, time, value and unit, then the
    upstream's own record; anything else as its raw text (cut at `width` characters)."""
    body = resubmit_body(r.raw_json)
    if body is not None:
        record = r.raw_json.get("record") if isinstance(r.raw_json, dict) else None
        text = (f"{body['indicator']} · {body['entity_code'] or body['entity_kind']} · {body['time']} · "
                f"{body['value']:,.6g} {body['unit']}" + (f" · {json.dumps(record, ensure_ascii=False)}"
                                                           if record else ""))
    else:
        text = r.raw_text
    return text[:width] + ("…" if len(text) > width else "")


RESUBMIT_FIELDS = ("indicator", "entity_kind", "entity_code", "time", "value", "unit")


def resubmit_body(raw: Any) -> dict[str, Any] | None:
    """The resubmission of a held row as it stands (its record names the value in the
    indicator's unit, the entity and the time), or None for a row that needs correcting first
    (malformed input has no such record)."""
    if not isinstance(raw, dict) or any(raw.get(k) in (None, "") and k != "entity_code" for k in RESUBMIT_FIELDS):
        return None
    return {k: raw.get(k) or "" for k in RESUBMIT_FIELDS}


@dash.callback(Output({"type": ids.QUARANTINE_MESSAGE, "row": MATCH}, "children"),
               Output({"type": ids.QUARANTINE_ACTION, "action": ALL, "row": MATCH}, "disabled"),
               Input({"type": ids.QUARANTINE_ACTION, "action": ALL, "row": MATCH}, "n_clicks"),
               State({"type": ids.QUARANTINE_BODY, "row": MATCH}, "data"),
               State(ids.QUARANTINE_LANG, "data"),
               prevent_initial_call=True)
def _quarantine_act(clicks: list[int | None], body: dict[str, Any] | None, lang: str | None) -> Any:
    """Store a held row as it stands, or dismiss it, through the API."""
    trig = dash.ctx.triggered_id
    keep = [dash.no_update] * len(clicks)
    if not isinstance(trig, dict) or not any(clicks):
        return dash.no_update, keep
    lang = lang or "zh"
    action, row_id = str(trig["action"]), int(trig["row"])
    api = context.api()
    try:
        if action == "accept":
            if body is None:
                return t("common.no_data", lang), keep
            api.quarantine_action(row_id, "accept", {**body, "note": t("report.q_accept_note", "zh")})
        else:
            api.quarantine_action(row_id, "dismiss", {"status": "dismissed", "note": t("report.q_dismiss_note", "zh")})
    except ApiError as exc:
        return (t("report.q_forbidden", lang) if exc.status == 403 else f"{t('common.error', lang)}{exc.detail}"), keep
    return t("report.q_accepted" if action == "accept" else "report.q_dismissed", lang), [True] * len(clicks)


def _valid(period: str) -> bool:
    try:
        date.fromisoformat(period[:7] + "-01")
    except ValueError:
        return False
    return True


def status_filter(c: Completeness, state: ViewState) -> html.Div:
    """全部 / 未报 / 迟报 / 待报 / 已报 with their counts; each a link that filters the list."""
    lang = state.lang
    counts = {"": len(c.enterprises), "missing": c.missing, "late": c.late, "pending": c.pending,
              "reported": c.reported}
    chips = []
    for key, n in counts.items():
        label = t(f"report.{key or 'all'}", lang)
        cls = f"chip status-chip{' active' if state.rstatus == key else ''}"
        chips.append(dcc.Link(f"{label} {n}", href="/reporting" + state.to_query(rstatus=key, pg="1"), className=cls))
    return html.Div(chips, className="chips status-chips")


def completeness_page(c: Completeness, state: ViewState, indicator_names: dict[str, str] | None = None
                      ) -> list[Any]:
    """One page of the completeness list (PAGE_SIZE enterprises), with the pager."""
    rows = ordered(c, state.rstatus)
    sl = paginate(len(rows), state.pg, PAGE_SIZE)
    return [html.Div(completeness_table(rows[sl.start:sl.stop], c, state.lang, indicator_names),
                     className="completeness"), pager(sl, state)]


def pager(sl: PageSlice, state: ViewState) -> html.Div:
    """上一页 · 第 n / m 页 · 下一页, and which enterprises are shown; links keep the rest of the URL."""
    lang = state.lang

    def link(key: str, page: int, enabled: bool) -> Any:
        if not enabled:
            return html.Span(t(key, lang), className="pager-link disabled")
        return dcc.Link(t(key, lang), href="/reporting" + state.to_query(pg=str(page)), className="pager-link")

    shown = t("report.shown", lang).format(start=sl.start + 1 if sl.total else 0, stop=sl.stop, total=sl.total)
    return html.Div(className="pager", children=[
        link("page.prev", sl.page - 1, sl.page > 1),
        html.Span(t("page.of", lang).format(page=sl.page, pages=sl.pages), className="pager-page"),
        link("page.next", sl.page + 1, sl.page < sl.pages),
        html.Span(shown, className="pager-shown"),
    ])


def completeness_table(rows: list[CompletenessRow], c: Completeness, lang: str,
                       indicator_names: dict[str, str] | None = None) -> html.Table:
    """The given enterprises with status, completion time, days late and missing indicators."""
    out = []
    q = ViewState(lang=lang).to_query()
    for e in rows:
        if e.completed_at is not None and e.completed_at > c.due_at:
            late: float | None = (e.completed_at - c.due_at) / timedelta(days=1)
        elif e.status == "missing":
            late = (fmt.now_local() - c.due_at) / timedelta(days=1)
        else:
            late = None
        status = t(f"report.{e.status}", lang) if e.status in STATUS_ORDER else (e.status_zh or e.status)
        out.append([dcc.Link(e.name_zh, href=f"/enterprise/{e.enterprise_id}{q}"),
                    html.Span(status, className=f"status-{'late-report' if e.status == 'late' else e.status}"),
                    fmt.local_time(e.completed_at), f"{late:.1f}" if late is not None else fmt.DASH,
                    ("、" if lang != "en" else ", ").join((indicator_names or {}).get(m, m) for m in e.missing)])
    return ui.table([t("report.enterprise", lang), t("report.status", lang), t("report.submitted", lang),
                     t("report.days_late", lang), t("report.missing_indicators", lang)], out)


@dash.callback(Output(ids.URL, "href", allow_duplicate=True), Input(ids.REPORT_MONTH, "value"),
               State(ids.URL, "search"), prevent_initial_call=True)
def _month(month: str | None, search: str | None) -> Any:
    state = ViewState.from_search(search)
    # Dash also calls this when the page renders; the month shown then is the one in the URL (or
    # last month when none): only another month changes the URL, and goes back to page 1.
    shown = state.period[:7] if _valid(state.period) else views.month_start(fmt.now_local().date(), 1).strftime("%Y-%m")
    if not month or month == shown:
        return dash.no_update
    return "/reporting" + state.with_(period=month, pg="1").to_query()
