"""Authentication and authorisation on every endpoint, for every role."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.api.support import ADMIN, auth

ROLES = ["admin", "leader", "duty", "wuda_duty", "analyst", "reporter", "api_client"]
Q = "indicator=coal.raw_output&start=2025-01-01&end=2025-03-31"

# (method, path, body) -> the status each demo user gets. 200 = allowed.
ALL = dict.fromkeys(ROLES, 200)
CITY_ONLY = {**ALL, "wuda_duty": 403, "reporter": 403}
ADMIN_ONLY = {**dict.fromkeys(ROLES, 403), "admin": 200}
CASES: list[tuple[str, str, dict[str, int]]] = [
    ("GET", "/api/v1/auth/me", ALL),
    ("GET", "/api/v1/districts", ALL),
    ("GET", "/api/v1/parks", ALL),
    ("GET", "/api/v1/industries", ALL),
    ("GET", "/api/v1/enterprises", ALL),
    ("GET", "/api/v1/indicators", ALL),
    ("GET", "/api/v1/indicators/coal.raw_output", ALL),
    ("GET", "/api/v1/units", ALL),
    ("GET", f"/api/v1/series?{Q}", CITY_ONLY),
    ("GET", f"/api/v1/series?{Q}&district=150304", {**ALL, "reporter": 403}),
    ("GET", f"/api/v1/series?{Q}&district=150303", {**CITY_ONLY}),
    ("GET", f"/api/v1/series?{Q}&group_by=district", CITY_ONLY),
    ("GET", f"/api/v1/series/top?{Q}", CITY_ONLY),
    ("GET", f"/api/v1/series/top?{Q}&district=150304", {**ALL, "reporter": 403}),
    ("GET", "/api/v1/targets", {**ALL, "reporter": 403}),  # a district officer: its own district's
    ("GET", "/api/v1/targets?district=150304", {**ALL, "reporter": 403}),
    ("GET", "/api/v1/targets/progress?year=2025", {**ALL, "reporter": 403}),
    ("GET", "/api/v1/leading-index?start=2025-01-01&end=2025-03-01", CITY_ONLY),
    ("GET", "/api/v1/leading-index?district=150304&start=2025-01-01&end=2025-03-01", {**ALL, "reporter": 403}),
    ("GET", "/api/v1/leading-index/evaluation", {**ALL, "reporter": 403}),
    ("GET", "/api/v1/leading-index/weights", ALL),
    ("GET", "/api/v1/users", ADMIN_ONLY),
    ("GET", "/api/v1/audit-log", {**dict.fromkeys(ROLES, 403), "admin": 200, "leader": 200}),
    ("GET", "/api/v1/api-keys", {**dict.fromkeys(ROLES, 403), "admin": 200, "analyst": 200, "api_client": 200}),
    ("PUT", "/api/v1/targets/150304/2025/econ.value_added",
     {**dict.fromkeys(ROLES, 403), "admin": 200, "leader": 200, "analyst": 200}),
    ("PUT", "/api/v1/leading-index/weights", {**dict.fromkeys(ROLES, 403), "admin": 200, "analyst": 200}),
]
BODIES = {"/api/v1/targets/150304/2025/econ.value_added": {"target_growth_pct": 6.5},
          "/api/v1/leading-index/weights": {"weights": {"coal.raw_output": 2.0}}}


def _api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) of the API, from the OpenAPI document (what clients see)."""
    return [(m.upper(), path) for path, ops in app.openapi()["paths"].items() if path.startswith("/api/v1")
            for m in ops]


def test_every_api_endpoint_refuses_a_call_without_credentials(client: TestClient, app: FastAPI):
    routes = _api_routes(app)
    assert len(routes) >= 25
    for method, path in routes:
        if path == "/api/v1/auth/login":
            continue
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        r = client.request(method, concrete, json={})
        assert r.status_code == 401, (method, path, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["status"] == 401


def test_every_api_endpoint_refuses_a_forged_token(client: TestClient):
    r = client.get("/api/v1/districts", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401
    r = client.get("/api/v1/districts", headers={"Authorization": "Bearer yj_abcdefgh_forged"})
    assert r.status_code == 401


def test_health_and_the_api_docs_need_no_authentication(client: TestClient):
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200
    assert client.get("/health").status_code in (200, 503)


def test_every_guarded_case_is_in_the_matrix(app: FastAPI):
    covered = {(m, p.split("?")[0]) for m, p, _ in CASES}
    mine = ("/api/v1/auth", "/api/v1/users", "/api/v1/api-keys", "/api/v1/audit-log", "/api/v1/districts",
            "/api/v1/parks", "/api/v1/industries", "/api/v1/enterprises", "/api/v1/indicators", "/api/v1/units",
            "/api/v1/series", "/api/v1/targets", "/api/v1/leading-index")
    for method, path in _api_routes(app):
        if method != "GET" or "{" in path or not path.startswith(mine):
            continue
        assert (method, path) in covered, f"add {method} {path} to CASES"


@pytest.mark.parametrize("method,path,expected", CASES, ids=[f"{m} {p}" for m, p, _ in CASES])
def test_each_role_gets_exactly_what_it_may(client: TestClient, method: str, path: str, expected: dict[str, int]):
    for role in ROLES:
        user = ADMIN if role == "admin" else role
        r = client.request(method, path, headers=auth(client, user), json=BODIES.get(path.split("?")[0]))
        assert r.status_code == expected[role], (role, method, path, r.text)


def _enterprise_in(session: Session, district_code: str) -> int:
    return int(session.execute(text(
        "SELECT v.enterprise_id FROM enterprise_version v JOIN district d ON d.id = v.district_id "
        "WHERE d.code = :c AND v.enterprise_id NOT IN (SELECT enterprise_id FROM enterprise_version v2 "
        "JOIN district d2 ON d2.id = v2.district_id WHERE d2.code <> :c) ORDER BY 1 LIMIT 1"),
        {"c": district_code}).scalar_one())


def test_a_district_officer_gets_404_for_another_districts_enterprise_and_never_its_data(client: TestClient,
                                                                                        db_session: Session):
    other = _enterprise_in(db_session, "150303")
    own = _enterprise_in(db_session, "150304")
    h = auth(client, "wuda_duty")
    assert client.get(f"/api/v1/enterprises/{other}", headers=h).status_code == 404
    assert client.get(f"/api/v1/enterprises/{own}", headers=h).status_code == 200
    r = client.get(f"/api/v1/series?{Q}&enterprise={other}", headers=h)
    assert r.status_code == 404 and "coal.raw_output" not in r.text
    assert client.get(f"/api/v1/series?{Q}&enterprise={own}", headers=h).status_code == 200
    listed = client.get("/api/v1/enterprises?limit=1000", headers=h).json()["items"]
    assert listed and other not in {e["id"] for e in listed}
    assert all(e["district_code"] == "150304" for e in listed if e["id"] != other)
    assert client.get("/api/v1/enterprises?district=150303", headers=h).status_code == 403
    # a city duty officer sees both
    hc = auth(client, "duty")
    assert client.get(f"/api/v1/enterprises/{other}", headers=hc).status_code == 200


def test_an_enterprise_reporter_sees_only_its_own_enterprise(client: TestClient, db_session: Session):
    own = db_session.execute(text("SELECT enterprise_id FROM app_user WHERE username = 'reporter'")).scalar_one()
    h = auth(client, "reporter")
    listed = client.get("/api/v1/enterprises", headers=h).json()
    assert [e["id"] for e in listed["items"]] == [own] and listed["total"] == 1
    assert client.get(f"/api/v1/enterprises/{own + 1}", headers=h).status_code == 404
    assert client.get(f"/api/v1/series?{Q}&enterprise={own}", headers=h).status_code == 200
