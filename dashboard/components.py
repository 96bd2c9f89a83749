"""Building blocks every page uses: the shell (header, navigation, language switch), the
controls bar whose values live in the query string, KPI cards, tables, error notes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dash import dcc, html

from dashboard import context, ids
from dashboard import format as fmt
from dashboard.client import ApiError, EndpointMissing
from dashboard.i18n import t
from dashboard.state import GRANULARITIES, ViewState

NAV = (("overview", "/"), ("district", "/districts"), ("park", "/parks"), ("alerts", "/alerts"),
       ("reporting", "/reporting"))
BIG_CYCLE = ("/", "/districts", "/parks", "/alerts")


def nav_query(state: ViewState) -> str:
    """The query string navigation links keep (language, time range, granularity, district)."""
    keep = ViewState(lang=state.lang, range=state.range, start=state.start, end=state.end, gran=state.gran,
                     district=state.district, screen=state.screen)
    return keep.to_query()


def shell(state: ViewState, page: str, path: str, body: Any, controls: Any = None, user: str = "") -> html.Div:
    """The page frame. In big-screen mode (大屏): dark, no header or controls, and a timer that
    moves to the next page every Settings.dashboard_cycle_s seconds."""
    lang = state.lang
    if state.big:
        nxt = BIG_CYCLE[(BIG_CYCLE.index(path) + 1) % len(BIG_CYCLE)] if path in BIG_CYCLE else "/"
        return html.Div(className="page big", children=[
            html.Div(className="big-title", children=[t("app.title", lang),
                                                       html.Span(fmt.local_time(fmt.now_local()),
                                                                 className="big-clock")]),
            body,
            dcc.Interval(id=ids.BIG_CYCLE, interval=context.current().settings.dashboard_cycle_s * 1000,
                         n_intervals=0),
            dcc.Store(id=ids.BIG_CYCLE_LOCATION, data=nxt + state.to_query()),
        ])
    q = nav_query(state)
    links = [dcc.Link(t(f"nav.{key}", lang), href=href + q, className="nav-link active" if key == page else "nav-link")
             for key, href in NAV]
    other = "zh" if lang == "en" else "en"
    header = html.Header(className="topbar", children=[
        html.Div(className="brand", children=[html.Span("运监", className="logo"),
                                              html.Span(t("app.title", lang), className="brand-text")]),
        html.Nav(links, className="nav"),
        html.Div(className="topbar-right", children=[
            html.Span(user, className="user"),
            dcc.Link(t("nav.lang", lang), href=path + state.to_query(lang=other), id=ids.LANG_TOGGLE,
                     className="btn-link"),
            dcc.Link(t("nav.bigscreen", lang), href=path + state.to_query(screen="big"), className="btn-link"),
            html.A(t("nav.logout", lang), href="/logout", id=ids.LOGOUT, className="btn-link"),
        ]),
    ])
    return html.Div(className="page", lang="en" if lang == "en" else "zh-CN",
                    children=[header, controls or html.Div(), html.Main(body, className="content")])


def _opts(pairs: Sequence[tuple[str, str]], lang: str, with_all: bool = True) -> list[dict[str, str]]:
    out = [{"label": t("ctrl.all", lang), "value": ""}] if with_all else []
    return out + [{"label": label, "value": value} for value, label in pairs]


def controls(state: ViewState, *, districts: Sequence[tuple[str, str]] = (), parks: Sequence[tuple[str, str]] = (),
             industries: Sequence[tuple[str, str]] = (), indicators: Sequence[tuple[str, str]] = (),
             show: frozenset[str] = frozenset({"range", "gran", "district", "industry", "indicator"}),
             compare: Sequence[tuple[str, str]] = ()) -> html.Div:
    """The controls bar. Every control is always rendered (hidden where a page has no use for
    it) so the one callback that writes them into the URL always has all its inputs."""
    lang = state.lang

    def box(key: str, label: str, child: Any) -> html.Div:
        return html.Div(className="ctrl", style=None if key in show else {"display": "none"},
                        children=[html.Label(label), child])

    custom = state.range == "custom"
    return html.Div(className="controls", children=[
        box("range", t("ctrl.range", lang), dcc.Dropdown(
            id=ids.CTRL_RANGE, clearable=False, searchable=False, value=state.range,
            options=[{"label": t(f"range.{r}", lang), "value": r} for r in ("7d", "30d", "90d", "1y", "ytd", "custom")])),
        box("range", t("ctrl.absolute", lang), dcc.DatePickerRange(
            id=ids.CTRL_START_END, start_date=state.start or None, end_date=state.end or None,
            start_date_placeholder_text="开始日期" if lang != "en" else "Start date",
            end_date_placeholder_text="结束日期" if lang != "en" else "End date",
            display_format="YYYY-MM-DD", disabled=False, className="" if custom else "dim")),
        box("gran", t("ctrl.granularity", lang), dcc.Dropdown(
            id=ids.CTRL_GRANULARITY, clearable=False, searchable=False, value=state.gran,
            options=[{"label": t(f"gran.{g}", lang), "value": g} for g in GRANULARITIES])),
        box("district", t("ctrl.district", lang), dcc.Dropdown(
            id=ids.CTRL_DISTRICT, clearable=False, value=state.district, options=_opts(districts, lang))),
        box("park", t("ctrl.park", lang), dcc.Dropdown(
            id=ids.CTRL_PARK, clearable=False, value=state.park, options=_opts(parks, lang))),
        box("industry", t("ctrl.industry", lang), dcc.Dropdown(
            id=ids.CTRL_INDUSTRY, clearable=False, value=state.industry, options=_opts(industries, lang))),
        box("indicator", t("ctrl.indicator", lang), dcc.Dropdown(
            id=ids.CTRL_INDICATOR, clearable=False, value=state.indicator, options=_opts(indicators, lang))),
        box("compare", t("ctrl.compare", lang), dcc.Dropdown(
            id=ids.CTRL_COMPARE, multi=True, value=state.compare_codes,
            options=[{"label": label, "value": v} for v, label in compare])),
    ])


def problem(exc: BaseException, lang: str, what: str = "") -> html.Div:
    """An API failure shown in place of the panel it broke."""
    if isinstance(exc, EndpointMissing):
        return html.Div(className="note missing", children=f"{t('common.unavailable', lang)}{what or exc.path}")
    if isinstance(exc, ApiError) and exc.status in (403, 404):
        return html.Div(className="note forbidden", children=f"{t('common.forbidden', lang)} ({exc.detail})")
    detail = exc.detail if isinstance(exc, ApiError) else repr(exc)
    return html.Div(className="note error", children=f"{t('common.error', lang)}{detail}")


def growth_span(pct: float | None, label: str, good_direction: str = "up") -> html.Span:
    return html.Span(className=f"growth {fmt.growth_class(pct, good_direction)}",
                     children=[html.Span(label, className="growth-label"), fmt.growth(pct)])


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], class_name: str = "grid") -> html.Table:
    return html.Table(className=class_name, children=[
        html.Thead(html.Tr([html.Th(h) for h in header])),
        html.Tbody([html.Tr([html.Td(c) for c in r]) for r in rows]),
    ])


def level_badge(level: str, lang: str) -> html.Span:
    return html.Span(t(f"level.{level}", lang), className=f"badge level-{level}")


def graph(fig: Any, gid: Any = None, cls: str = "chart", modebar: bool = True) -> dcc.Graph:
    """A graph whose height is the figure's own (plotly then only stretches the width)."""
    kw: dict[str, Any] = {"id": gid} if gid is not None else {}
    height = fig.layout.height or 300  # set by every figure builder
    return dcc.Graph(figure=fig, className=cls, style={"height": f"{height}px"},
                     config={"displaylogo": False, "displayModeBar": "hover" if modebar else False,
                             "modeBarButtonsToRemove": ["lasso2d", "select2d"]}, **kw)
