"""What a client did not mean is refused, not guessed: a JSON `false` is not the figure 0, a
bare number is not a date, and the OpenAPI document says what the API answers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from backend.api.problems import PROBLEM_JSON
from tests.api.support import ADMIN, DEMO_PASSWORD, auth


def test_a_boolean_is_not_a_reported_figure(client: TestClient) -> None:
    h = auth(client, ADMIN)
    ent = client.get("/api/v1/enterprises?limit=1", headers=h).json()["items"][0]["id"]
    for value in (False, True):
        r = client.post(f"/api/v1/reporting/enterprises/{ent}/reports", headers=h,
                        json={"period": "2026-10", "values": [{"indicator": "econ.gross_output", "value": value}]})
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["loc"][-1] in ("float", "str", "value"), r.json()
    r = client.put("/api/v1/targets/150304/2026/econ.value_added", headers=h, json={"target_growth_pct": True})
    assert r.status_code == 422, r.text


def test_a_number_is_not_a_date_or_time(client: TestClient) -> None:
    h = auth(client, ADMIN)
    for url in ("/api/v1/alerts?opened_to=0.5", "/api/v1/audit-log?since=1600000000",
                "/api/v1/enterprises?on=0", "/api/v1/ingest/quarantine?seen_to=0.5"):
        r = client.get(url, headers=h)
        assert r.status_code == 422 and "ISO 8601" in r.json()["detail"], (url, r.text)
    r = client.post("/api/v1/api-keys", headers=h, json={"name": "x", "expires_at": 0})
    assert r.status_code == 422 and "ISO 8601" in r.json()["detail"], r.text
    # Real dates still work, and a date out of range says so in plain dates.
    assert client.get("/api/v1/enterprises?on=2026-01-31", headers=h).status_code == 200
    r = client.get("/api/v1/enterprises?on=0900-01-01", headers=h)
    assert r.status_code == 422 and "1900-01-01" in r.json()["detail"], r.text


def test_a_rule_with_params_the_evaluation_cannot_read_is_refused(client: TestClient) -> None:
    h = auth(client, ADMIN)
    for params, says in (({"lower": "abc"}, "lower"), ({"lowr": 5}, "lowr"), ({"lower": 9, "upper": 1}, "above")):
        r = client.post("/api/v1/alerts/rules", headers=h,
                        json={"name": "x", "indicator_code": "power.consumption", "kind": "threshold", "params": params})
        assert r.status_code == 422 and says in r.text, r.text
    r = client.post("/api/v1/alerts/rules", headers=h,
                    json={"name": "x", "indicator_code": "nope", "kind": "threshold", "params": {"lower": 1}})
    assert r.status_code == 422 and "unknown indicator 'nope'" in r.json()["detail"], r.text
    r = client.post("/api/v1/alerts/rules", headers=h,
                    json={"name": "x", "indicator_code": "power.consumption", "kind": "threshold",
                          "params": {"lower": 1, "upper": None}, "enabled": 0})
    assert r.status_code == 422, r.text
    r = client.post("/api/v1/alerts/rules", headers=h,
                    json={"name": "x", "indicator_code": "power.consumption", "kind": "threshold",
                          "params": {"lower": 1, "upper": None}})
    assert r.status_code == 201 and r.json()["params"] == {"lower": 1.0}, r.text


def test_method_not_allowed_names_every_method_of_the_path(client: TestClient) -> None:
    h = auth(client, ADMIN)
    r = client.request("OPTIONS", "/api/v1/alerts/rules", headers=h)
    assert r.status_code == 405 and r.headers["content-type"].startswith(PROBLEM_JSON)
    assert r.headers["allow"] == "GET, POST"
    r = client.delete("/api/v1/districts", headers=h)
    assert r.status_code == 405 and r.headers["allow"] == "GET"


def test_the_document_describes_errors_as_problem_json(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for code, answer in op["responses"].items():
                if code.startswith(("4", "5")) and path.startswith("/api/v1"):
                    assert list(answer.get("content", {})) == [PROBLEM_JSON], (method, path, code)
            if "requestBody" in op:
                assert "400" in op["responses"], (method, path)
    update = spec["components"]["schemas"]["UserUpdate"]["properties"]
    assert "anyOf" not in update["role"] and update["is_active"]["type"] == "boolean"


def test_the_dashboard_tells_a_throttled_login_how_long_to_wait(client: TestClient) -> None:
    """Through the dashboard's own API client against the real app: after five wrong passwords
    the right one is refused too (429), and the login page says how many minutes remain."""
    from dashboard.client import ApiClient, ApiError
    from dashboard.i18n import login_refusal

    api = ApiClient(client)
    for _ in range(5):
        with pytest.raises(ApiError) as wrong:
            api.login("analyst", "not-the-password")
        assert wrong.value.status == 401
    with pytest.raises(ApiError) as held:
        api.login("analyst", DEMO_PASSWORD)
    assert held.value.status == 429 and held.value.retry_after_s and held.value.retry_after_s > 60
    assert "分钟后再试" in login_refusal(held.value.status, held.value.retry_after_s, "zh")
