"""The app's wiring, without a browser: pages, login redirect, callback ids."""

from __future__ import annotations

import json
from typing import Any

import pytest

from backend.config import Settings
from dashboard import ids
from dashboard.app import create_app


@pytest.fixture(scope="module")
def client() -> Any:
    app = create_app(Settings(api_url="http://127.0.0.1:9"))  # no API needed for these checks
    return app.server.test_client()


def _ids(spec: str) -> list[str]:
    """Component ids in a callback spec (`a.children`, `..a.href...b.children..`, pattern ids)."""
    out = []
    for part in spec.strip(".").split("..."):
        cid = part.rsplit(".", 1)[0]
        out.append(json.loads(cid)["type"] if cid.startswith("{") else cid)
    return out


def test_every_callback_uses_only_ids_declared_in_the_ids_module(client: Any) -> None:
    declared = {v for k, v in vars(ids).items() if k.isupper() and isinstance(v, str)}
    deps = client.get("/_dash-dependencies").get_json()
    used = set()
    for cb in deps:
        used.update(_ids(cb["output"]))
        for dep in cb["inputs"] + cb["state"]:
            cid = dep["id"]
            used.add(json.loads(cid)["type"] if cid.startswith("{") else cid)
    ours = {u for u in used if not u.startswith("_pages")}
    assert ours and ours <= declared, sorted(ours - declared)


def test_pages_without_a_login_redirect_to_the_login_page(client: Any) -> None:
    for path in ("/", "/districts?district=150304", "/alerts/3", "/reporting"):
        r = client.get(path)
        assert r.status_code == 302, path
        assert r.headers["Location"].startswith("/login?next=%2F")
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_every_page_is_registered_with_its_path() -> None:
    import dash

    paths = {p.get("path_template") or p["path"] for p in dash.page_registry.values()}
    assert {"/", "/login", "/districts", "/parks", "/drilldown", "/enterprise/<enterprise_id>", "/alerts",
            "/alerts/<alert_id>", "/reporting"} <= paths


def test_a_throttled_login_says_so_and_for_how_long() -> None:
    from dashboard.i18n import login_refusal

    assert login_refusal(429, 798, "zh") == "登录失败次数过多，请 14 分钟后再试"
    assert login_refusal(429, 5, "en") == "Too many failed logins; try again in 1 min"
    assert login_refusal(429, None, "zh") == "尝试次数过多，请稍后再试"
    assert login_refusal(401, None, "zh") == "用户名或密码错误"
    assert login_refusal(0, None, "zh") == "无法连接数据接口"
