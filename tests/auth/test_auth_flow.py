"""Login, throttling, sessions, API keys and the audit log, through the API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.api.support import ADMIN, DEMO_PASSWORD, auth


def test_passwords_are_stored_as_argon2_hashes(db_session: Session):
    h = db_session.execute(text("SELECT password_hash FROM app_user WHERE username = :u"), {"u": ADMIN}).scalar_one()
    assert h.startswith("$argon2id$") and DEMO_PASSWORD not in h


def test_a_wrong_password_is_401_and_repeated_failures_are_throttled_even_for_the_right_password(
        client: TestClient):
    for _ in range(5):
        r = client.post("/api/v1/auth/login", json={"username": "analyst", "password": "wrong-password"})
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")
    r = client.post("/api/v1/auth/login", json={"username": "analyst", "password": DEMO_PASSWORD})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    # another user is not affected
    assert client.post("/api/v1/auth/login", json={"username": "leader", "password": DEMO_PASSWORD}).status_code == 200


def test_the_session_cookie_works_like_the_bearer_token_and_logout_revokes_it(client: TestClient):
    r = client.post("/api/v1/auth/login", json={"username": "leader", "password": DEMO_PASSWORD})
    token = r.json()["token"]
    assert client.cookies.get("yunjian_session") == token
    assert client.get("/api/v1/auth/me").status_code == 200  # cookie only
    assert client.post("/api/v1/auth/logout").status_code == 204
    client.cookies.clear()
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_an_api_key_is_shown_once_stored_hashed_scoped_and_revocable(client: TestClient, db_session: Session):
    h = auth(client, "api_client")
    r = client.post("/api/v1/api-keys", json={"name": "import", "scopes": ["read"]}, headers=h)
    assert r.status_code == 201
    key, key_id = r.json()["key"], r.json()["id"]
    stored = db_session.execute(text("SELECT key_hash FROM api_key WHERE id = :i"), {"i": key_id}).scalar_one()
    assert key not in stored
    listed = client.get("/api/v1/api-keys", headers=h).json()
    assert all("key" not in k for k in listed)
    kh = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/districts", headers=kh).status_code == 200
    me = client.get("/api/v1/auth/me", headers=kh).json()
    assert me["api_key_id"] == key_id and me["scopes"] == ["read"]
    assert client.delete(f"/api/v1/api-keys/{key_id}", headers=h).status_code == 200
    assert client.get("/api/v1/districts", headers=kh).status_code == 401


def test_a_read_scoped_key_of_an_admin_cannot_write(client: TestClient):
    h = auth(client, ADMIN)
    key = client.post("/api/v1/api-keys", json={"name": "ro", "scopes": ["read"]}, headers=h).json()["key"]
    r = client.put("/api/v1/targets/150304/2025/econ.value_added", json={"target_growth_pct": 5.0},
                   headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 403


def test_every_write_is_in_the_audit_log_with_who_what_and_where(client: TestClient):
    h = auth(client, "analyst")
    assert client.put("/api/v1/targets/150304/2025/econ.value_added", json={"target_growth_pct": 6.5},
                      headers=h).status_code == 200
    assert client.put("/api/v1/targets/150304/2025/econ.value_added", json={"target_growth_pct": 7.0},
                      headers=h).status_code == 200
    ha = auth(client, ADMIN)
    r = client.post("/api/v1/users", json={"username": "new_officer", "display_name": "新值班员",
                                           "password": "long-enough-1", "role": "duty_officer",
                                           "district_id": 1}, headers=ha)
    assert r.status_code == 201
    log = client.get("/api/v1/audit-log?limit=50", headers=ha).json()["items"]
    actions = [(e["actor"], e["action"]) for e in log]
    assert ("analyst", "target.upsert") in actions and (ADMIN, "user.create") in actions
    target = next(e for e in log if e["action"] == "target.upsert" and e["detail"]["after"] == 7.0)
    assert target["detail"]["before"] == 6.5 and target["ip"] and target["at"]
    assert client.post("/api/v1/users", json={"username": "new_officer", "display_name": "x", "password": "12345678x",
                                              "role": "analyst"}, headers=ha).status_code == 409


def test_a_deactivated_user_loses_access_at_once(client: TestClient, db_session: Session):
    h = auth(client, "duty")
    uid = db_session.execute(text("SELECT id FROM app_user WHERE username = 'duty'")).scalar_one()
    assert client.patch(f"/api/v1/users/{uid}", json={"is_active": False}, headers=auth(client, ADMIN)).status_code == 200
    assert client.get("/api/v1/districts", headers=h).status_code == 401


@pytest.mark.parametrize("field", ["role", "display_name", "is_active"])
def test_an_explicit_null_for_a_required_user_field_is_a_clear_422_not_a_server_error(
        client: TestClient, db_session: Session, field: str):
    uid = db_session.execute(text("SELECT id FROM app_user WHERE username = 'duty'")).scalar_one()
    r = client.patch(f"/api/v1/users/{uid}", json={field: None}, headers=auth(client, ADMIN))
    assert r.status_code == 422 and field in r.json()["detail"]
    assert r.headers["content-type"].startswith("application/problem+json")


def test_an_expired_key_or_session_is_refused_and_a_key_records_its_use_at_most_once_a_minute(
        client: TestClient, db_session: Session):
    h = auth(client, "api_client")
    created = client.post("/api/v1/api-keys", json={"name": "short", "scopes": ["read"]}, headers=h).json()
    kh = {"Authorization": f"Bearer {created['key']}"}
    assert client.get("/api/v1/districts", headers=kh).status_code == 200
    used = "SELECT last_used_at FROM api_key WHERE id = :i"
    first = db_session.execute(text(used), {"i": created["id"]}).scalar_one()
    assert first is not None
    assert client.get("/api/v1/districts", headers=kh).status_code == 200
    assert db_session.execute(text(used), {"i": created["id"]}).scalar_one() == first  # not rewritten within a minute
    db_session.execute(text("UPDATE api_key SET last_used_at = now() - interval '2 minutes' WHERE id = :i"),
                       {"i": created["id"]})
    assert client.get("/api/v1/districts", headers=kh).status_code == 200
    assert db_session.execute(text(used), {"i": created["id"]}).scalar_one() > first
    db_session.execute(text("UPDATE api_key SET expires_at = now() - interval '1 second' WHERE id = :i"),
                       {"i": created["id"]})
    assert client.get("/api/v1/districts", headers=kh).status_code == 401
    token = h["Authorization"].split()[1]
    db_session.execute(text("UPDATE auth_session SET expires_at = now() - interval '1 second' "
                            "WHERE token_hash = encode(sha256(convert_to(:t, 'UTF8')), 'hex')"), {"t": token})
    assert client.get("/api/v1/districts", headers=h).status_code == 401
