"""企业 Enterprise page: attributes, its series (with its alerts flagged), its reporting
completeness over the last months, and its alerts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import dash
from dash import dcc, html

from dashboard import components as ui
from dashboard import context, figures, views
from dashboard import format as fmt
from dashboard.area import complete_days_end, effective_gran
from dashboard.client import ApiError, Completeness, gather
from dashboard.i18n import name, t
from dashboard.state import ViewState

dash.register_page(__name__, path_template="/enterprise/<enterprise_id>", title="企业 · 运监", name="enterprise")

COMPLETENESS_MONTHS = 3


def layout(enterprise_id: str = "", **kwargs: Any) -> html.Div:
    state = ViewState.from_query(kwargs)
    lang, dark = state.lang, state.big
    try:
        r = views.refs()
        user = context.me().user
        eid = int(enterprise_id)
    except ValueError:
        return html.Div(className="page", children=html.Div(t("common.no_data", lang), className="note"))
    except ApiError as exc:
        return html.Div(className="page", children=ui.problem(exc, lang))
    api = context.api()
    today = fmt.now_local().date()
    start, end = state.span(today)
    gran = effective_gran(state)
    end = complete_days_end(end, gran, today)
    calls: dict[str, Any] = {"ent": lambda: api.enterprise(eid)}
    for _fam, ind in r.headline():
        calls["s:" + ind.code] = lambda c=ind.code: api.series(c, bucket=gran, start=start, end=end, enterprise=eid,
                                                               figures="yoy,pop")
    for k in range(1, COMPLETENESS_MONTHS + 1):
        m = views.month_start(today, k)
        calls[f"c:{k}"] = lambda m=m: api.completeness(m)
    calls["alerts"] = lambda: api.alerts(enterprise=eid, limit=500).items
    res = gather(calls)
    ent = res["ent"]
    if isinstance(ent, Exception):
        return ui.shell(state, "district", f"/enterprise/{eid}", ui.problem(ent, lang), user=user.display_name)

    district = r.district(ent.district_code)
    park = r.park(ent.park_code) if ent.park_code else None
    industry = next((i for i in r.industries if i.code == ent.industry_group), None)
    attrs = html.Dl(className="kv", children=[
        html.Dt(t("common.district", lang)), html.Dd(name(district, lang) if district else ent.district_code),
        html.Dt(t("common.park", lang)), html.Dd(name(park, lang) if park else fmt.DASH),
        html.Dt(t("common.industry", lang)), html.Dd(name(industry, lang) if industry else ent.industry_group),
        html.Dt("USCC"), html.Dd(ent.uscc),
        html.Dt("规上 / 重点" if lang != "en" else "Above-scale / key"),
        html.Dd(f"{'是' if ent.above_scale else '否'} / {'是' if ent.key_enterprise else '否'}" if lang != "en"
                else f"{'yes' if ent.above_scale else 'no'} / {'yes' if ent.key_enterprise else 'no'}"),
    ])
    alerts = [] if isinstance(res["alerts"], Exception) else res["alerts"]
    charts = []
    for fam, ind in r.headline():
        s = res["s:" + ind.code]
        if isinstance(s, Exception):
            continue
        frame = views.series_frame(s)
        if frame["value"].notna().sum() == 0:
            continue
        flags = figures.flags_frame(views.alert_dicts(views.alerts_for_entity(alerts, "enterprise", eid, ind.code)),
                                    gran, lang)
        charts.append(html.Section(className="panel", children=[ui.graph(figures.trend_with_flags(
            frame, flags, title=f"{t(f'family.{fam}', lang)} · {name(ind, lang)}", unit=r.unit(ind.unit_code, lang),
            lang=lang, dark=dark, height=260, draw_band=gran == ind.frequency))]))

    comp_rows = []
    for k in range(1, COMPLETENESS_MONTHS + 1):
        c = res[f"c:{k}"]
        if isinstance(c, Exception):
            comp_rows.append([views.month_start(today, k).strftime("%Y-%m"), ui.problem(c, lang), "", ""])
            continue
        comp_rows.append(completeness_row(c, eid, lang))
    comp = ui.table([t("report.month", lang), t("report.status", lang), t("report.submitted", lang),
                     t("report.days_late", lang)], comp_rows)

    if isinstance(res["alerts"], Exception):
        alert_panel: Any = ui.problem(res["alerts"], lang, "GET /api/v1/alerts")
    elif not alerts:
        alert_panel = html.Div(t("alerts.none", lang), className="note")
    else:
        q = ViewState(lang=lang).to_query()
        alert_panel = ui.table(
            [t("alerts.level", lang), t("alerts.indicator", lang), t("alerts.state", lang), t("alerts.opened", lang),
             t("alerts.explanation", lang)],
            [[ui.level_badge(a.level, lang), name(r.indicator(a.indicator_code), lang) if r.indicator(a.indicator_code)
              else a.indicator_code, t(f"state.{a.state}", lang),
              dcc.Link(fmt.local_time(a.opened_at), href=f"/alerts/{a.id}{q}"),
              (a.explanation_en if lang == "en" and a.explanation_en else a.explanation_zh) or ""] for a in alerts])

    body = html.Div([
        html.Div(className="title-row", children=[html.H2(f"{t('ent.title', lang)} · {name(ent, lang)}")]),
        html.Div(className="row", children=[
            html.Section([html.H3(t("ent.attributes", lang)), attrs], className="panel"),
            html.Section([html.H3(t("ent.completeness", lang)), comp], className="panel grow"),
        ]),
        html.Section([html.H3(t("ent.alerts", lang)), alert_panel], className="panel"),
        html.H3(t("ent.series", lang)),
        html.Div(charts or [html.Div(t("common.no_data", lang), className="note")], className="trends"),
    ])
    ctrl = ui.controls(state, show=frozenset({"range", "gran"}))
    return ui.shell(state, "district", f"/enterprise/{eid}", body, ctrl, user.display_name)


def completeness_row(c: Completeness, enterprise_id: int, lang: str) -> list[Any]:
    """One month's completeness for one enterprise: status, when completed, days late."""
    row = next((e for e in c.enterprises if e.enterprise_id == enterprise_id), None)
    if row is None:  # not due (not above-scale that month)
        return [c.period, fmt.DASH, fmt.DASH, fmt.DASH]
    late_days = None
    if row.completed_at is not None and row.completed_at > c.due_at:
        late_days = (row.completed_at - c.due_at) / timedelta(days=1)
    elif row.status == "missing":
        late_days = (fmt.now_local() - c.due_at) / timedelta(days=1)
    status = t(f"report.{row.status}", lang) if row.status != "pending" else (row.status_zh or row.status)
    return [c.period, html.Span(status, className=f"status-{'late-report' if row.status == 'late' else row.status}"),
            fmt.local_time(row.completed_at), f"{late_days:.1f}" if late_days is not None else fmt.DASH]
