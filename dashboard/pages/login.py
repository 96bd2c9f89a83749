"""登录 Login: the same users, passwords and roles as the API."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from dashboard import context, ids, views
from dashboard.client import ApiClient, ApiError
from dashboard.i18n import login_refusal, t
from dashboard.state import ViewState, safe_next

dash.register_page(__name__, path="/login", title="登录 · 运监", name="login")


def layout(**kwargs: Any) -> html.Div:
    state = ViewState.from_query(kwargs)
    lang = state.lang
    nxt = str(kwargs.get("next") or "/")
    return html.Div(className="login-page", children=[
        html.Div(className="login-card", children=[
            html.Div("运监", className="logo big-logo"),
            html.H1(t("app.title", lang)),
            html.Label(t("login.user", lang), htmlFor=ids.LOGIN_USER),
            dcc.Input(id=ids.LOGIN_USER, type="text", autoComplete="username", debounce=False, value=""),
            html.Label(t("login.password", lang), htmlFor=ids.LOGIN_PASSWORD),
            dcc.Input(id=ids.LOGIN_PASSWORD, type="password", autoComplete="current-password", n_submit=0, value=""),
            html.Button(t("login.submit", lang), id=ids.LOGIN_SUBMIT, n_clicks=0, className="btn primary"),
            html.Div(id=ids.LOGIN_MESSAGE, className="login-message"),
            dcc.Store(id=ids.LOGIN_NEXT, data={"next": safe_next(nxt), "lang": lang}),
            dcc.Link("English" if lang != "en" else "中文",
                     href="/login" + ViewState(lang="en" if lang != "en" else "zh").to_query(), className="btn-link"),
        ]),
        # A hidden graph makes the browser fetch and compile plotly.js (several MB) while the user
        # types, instead of on the first page after the login.
        dcc.Graph(figure={"data": [], "layout": {"height": 10}}, style={"display": "none"},
                  config={"staticPlot": True}),
    ])


@dash.callback(
    Output(ids.URL, "href", allow_duplicate=True), Output(ids.LOGIN_MESSAGE, "children"),
    Input(ids.LOGIN_SUBMIT, "n_clicks"), Input(ids.LOGIN_PASSWORD, "n_submit"),
    State(ids.LOGIN_USER, "value"), State(ids.LOGIN_PASSWORD, "value"), State(ids.LOGIN_NEXT, "data"),
    prevent_initial_call=True,
)
def _login(_clicks: int, _submits: int, username: str | None, password: str | None,
           store: dict[str, str] | None) -> tuple[Any, Any]:
    lang = (store or {}).get("lang", "zh")
    if not username or not password:
        return dash.no_update, t("login.failed", lang)
    client = ApiClient(context.current().http)
    try:
        result = client.login(username, password)
    except ApiError as exc:
        return dash.no_update, login_refusal(exc.status, exc.retry_after_s, lang)
    views.warm(ApiClient(client.http, result.token))
    response = dash.ctx.response
    assert response is not None
    response.set_cookie(context.TOKEN_COOKIE, result.token, httponly=True, samesite="Lax",
                        expires=result.expires_at)
    return (store or {}).get("next", "/"), ""
