"""The dashboard application: `create_app(settings)` builds the Dash app (Dash Pages, one
module per page under `dashboard/pages/`). Nothing is built at import time.

Authentication: the login page exchanges a username and password for an API session token
(`POST /api/v1/auth/login`) and keeps it in an HttpOnly cookie on the dashboard's own origin;
every API call made for the user sends it as a bearer token, so the user's role and district
scope apply exactly as in the API. Page requests without the cookie are redirected to /login.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

import dash
import flask
from dash import Input, Output, State, dcc, html

from backend.config import Settings, get_settings
from dashboard import ids
from dashboard.client import ApiClient, make_http
from dashboard.context import CONFIG_KEY, TOKEN_COOKIE, DashboardContext
from dashboard.state import ViewState

HERE = Path(__file__).resolve().parent
PUBLIC_PREFIXES = ("/login", "/_dash", "/assets", "/_favicon", "/_reload-hash", "/logout", "/healthz")


def create_app(settings: Settings | None = None) -> dash.Dash:
    settings = settings or get_settings()
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder=str(HERE / "pages"),
        assets_folder=str(HERE / "assets"),
        title="运监 Yunjian",
        update_title="",
        # Pages render their components on demand, so callbacks refer to ids that are absent
        # from the initial layout; tests check every callback id is declared in dashboard/ids.
        suppress_callback_exceptions=True,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    server = app.server
    server.config[CONFIG_KEY] = DashboardContext(settings=settings, http=make_http(settings.effective_api_url))
    server.config["SECRET_KEY"] = None

    app.layout = html.Div([
        dcc.Location(id=ids.URL, refresh="callback-nav"),
        dash.page_container,
    ])

    @server.before_request
    def _require_login() -> Any:
        path = flask.request.path
        if flask.request.method != "GET" or path.startswith(PUBLIC_PREFIXES):
            return None
        if not flask.request.cookies.get(TOKEN_COOKIE):
            nxt = flask.request.full_path.rstrip("?")
            return flask.redirect("/login?next=" + quote(nxt, safe=""))
        return None

    @server.route("/logout")
    def _logout() -> Any:
        ctx: DashboardContext = server.config[CONFIG_KEY]
        tok = flask.request.cookies.get(TOKEN_COOKIE)
        if tok:
            with contextlib.suppress(Exception):  # an expired token is logged out already
                ApiClient(ctx.http, tok).logout()
        resp = flask.redirect("/login")
        resp.delete_cookie(TOKEN_COOKIE)
        return resp

    @server.route("/healthz")
    def _healthz() -> Any:
        return {"status": "ok"}

    _register_shared_callbacks()
    from dashboard.figures import warm_up

    warm_up()
    # Dash sets itself up (registers its script paths, collects the callbacks) on the first
    # request, and under threads a second request arriving meanwhile fails ("dash is not a
    # registered library", plotly/dash#3971): make that first request here, before serving.
    server.test_client().get("/healthz")
    return app


def _register_shared_callbacks() -> None:
    @dash.callback(
        Output(ids.URL, "href", allow_duplicate=True),
        Input(ids.CTRL_RANGE, "value"), Input(ids.CTRL_START_END, "start_date"),
        Input(ids.CTRL_START_END, "end_date"), Input(ids.CTRL_GRANULARITY, "value"),
        Input(ids.CTRL_DISTRICT, "value"), Input(ids.CTRL_PARK, "value"), Input(ids.CTRL_INDUSTRY, "value"),
        Input(ids.CTRL_INDICATOR, "value"), Input(ids.CTRL_COMPARE, "value"),
        State(ids.URL, "pathname"), State(ids.URL, "search"),
        prevent_initial_call=True,
    )
    def _controls_to_url(rng: str | None, start: str | None, end: str | None, gran: str | None,
                         district: str | None, park: str | None, industry: str | None, indicator: str | None,
                         compare: list[str] | None, pathname: str | None, search: str | None) -> Any:
        """Write the controls into the query string: the page re-renders from it, and the URL
        can be shared as it is."""
        return controls_href(pathname or "/", search, rng=rng, start=start, end=end, gran=gran, district=district,
                             park=park, industry=industry, indicator=indicator, compare=compare,
                             triggered=dash.ctx.triggered_id) or dash.no_update

    @dash.callback(
        Output(ids.URL, "href", allow_duplicate=True),
        Input(ids.BIG_CYCLE, "n_intervals"), State(ids.BIG_CYCLE_LOCATION, "data"),
        prevent_initial_call=True,
    )
    def _cycle(n: int | None, nxt: str | None) -> Any:
        """Big-screen mode: move on to the next page."""
        return nxt if n and nxt else dash.no_update


def controls_href(pathname: str, search: str | None, *, rng: str | None, start: str | None, end: str | None,
                  gran: str | None, district: str | None, park: str | None, industry: str | None,
                  indicator: str | None, compare: list[str] | None, triggered: object = None) -> str | None:
    """The new href for the controls' values, or None when nothing changed (pure)."""
    state = ViewState.from_search(search)
    rng = rng or state.range
    if triggered == ids.CTRL_START_END and start and end:
        rng = "custom"
    changes = {"range": rng, "gran": gran or state.gran, "district": district or "", "park": park or "",
               "industry": industry or "", "indicator": indicator or "", "compare": ",".join(compare or [])}
    if rng == "custom":
        changes |= {"start": (start or "")[:10], "end": (end or "")[:10]}
    else:
        changes |= {"start": "", "end": ""}
    new = ViewState.from_query({**state.__dict__, **changes})
    if new == state:
        return None
    return pathname + new.to_query()
