"""The OpenAPI document validates, and a property-based client finds no server error."""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from openapi_spec_validator import validate
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.config import Settings
from backend.main import create_app
from tests.api.support import ADMIN, DEMO_PASSWORD

EXAMPLES = 25
CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]


def test_the_openapi_document_is_valid_and_every_operation_is_described(client: TestClient):
    spec = client.get("/openapi.json").json()
    validate(spec)
    schemes = spec["components"]["securitySchemes"]
    assert {"bearer", "session_cookie"} <= set(schemes)
    for path, ops in spec["paths"].items():
        if not path.startswith("/api/v1"):
            continue
        for method, op in ops.items():
            assert op.get("summary"), f"{method} {path} has no summary"
            if path != "/api/v1/auth/login":
                assert "401" in op["responses"], f"{method} {path} does not document 401"


def test_errors_are_problem_json_with_a_clear_detail(client: TestClient):
    from tests.api.support import auth

    h = auth(client, ADMIN)
    r = client.get("/api/v1/series?indicator=nope&start=2025-01-01&end=2025-02-01", headers=h)
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["title"] == "Not found" and "nope" in body["detail"] and body["instance"] == "/api/v1/series"
    r = client.get("/api/v1/series?indicator=coal.raw_output&start=2025-02-01&end=2025-01-01", headers=h)
    assert r.status_code == 422 and "before start" in r.json()["detail"]
    r = client.get("/api/v1/enterprises?limit=0", headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"][-1] == "limit"


def test_no_generated_request_causes_a_server_error(fresh_database_url: str):
    """schemathesis generates requests for every operation from the OpenAPI document (valid and
    edge-case parameters and bodies), authenticated as the demo admin, in-process against the
    app on a fresh database; none may get a 5xx, and every answer must be one the document
    lists, with its content type and schema (a client generated from the document expects it). (Driven through hypothesis directly: the
    schemathesis pytest plugin does not support pytest 9 yet.)"""
    app = create_app(Settings(database_url=fresh_database_url))
    failures: list[str] = []
    calls = 0
    statuses: dict[int, int] = {}
    with TestClient(app) as c:  # runs the lifespan: engine and session factory on app.state
        token = c.post("/api/v1/auth/login", json={"username": ADMIN, "password": DEMO_PASSWORD}).json()["token"]
        # An API key, not the session token: generated calls to /auth/logout must not log the run out.
        created = c.post("/api/v1/api-keys", json={"name": "schemathesis", "scopes": ["read", "write"]},
                         headers={"Authorization": f"Bearer {token}"}).json()
        headers = {"Authorization": f"Bearer {created['key']}"}
        keep = {("user_id", 1), ("key_id", created["id"])}  # the admin and the run's key stay usable
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        for result in schema.get_all_operations():
            operation = result.ok()  # type: ignore[union-attr]

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                      phases=[Phase.explicit, Phase.generate])
            def run(case: Any) -> None:
                nonlocal calls
                if keep & set((case.path_parameters or {}).items()):
                    return
                calls += 1
                response = case.call(headers=headers)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} {case.query} -> "
                                    f"{response.status_code} {response.text[:300]}")
                    return
                try:  # the answer is what the document says: its status, content type and schema
                    case.validate_response(response, checks=CONFORMANCE)
                except FailureGroup as exc:  # names each check that failed
                    failures.append(f"{case.method} {case.formatted_path} {case.query} -> "
                                    f"{response.status_code}: {str(exc).split('Reproduce with')[0][:600]}")

            run()
    print("schemathesis: calls by status", dict(sorted(statuses.items())))
    assert calls > 200 and statuses.get(200, 0) > 50
    assert failures == [], "\n\n".join(failures)
