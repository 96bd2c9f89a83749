"""`GET /auth/me` lists the caller's alert permissions, and they are exactly what the alerts
API admits: a client that offers actions by them never offers one the API refuses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.alerts.models import Alert
from backend.alerts.permissions import AlertPermission, granted
from backend.auth.rules import Principal, Role
from tests.api.support import ADMIN, auth

START = text("SELECT now() - interval '1 day'")


def _wuda(session: Session) -> int:
    return int(session.execute(text("SELECT id FROM district WHERE code = '150304'")).scalar_one())


def _alert(session: Session) -> int:
    at = session.execute(START).scalar_one()
    did = session.execute(text("SELECT id FROM district WHERE code = '150304'")).scalar_one()
    a = Alert(series_id=None, indicator_code="power.consumption", entity_kind="district", entity_id=did,
              district_id=did, level="yellow", peak_level="yellow", level_since=at, state="open",
              episode_started_at=at, opened_at=at, checks=["level_shift"], explanation_zh="低于预期",
              explanation_en="below expected", importance=1.0, severity=0.5, is_group=False,
              due_at=at + timedelta(hours=8))
    session.add(a)
    session.flush()
    return a.id


def _admitted(client: TestClient, headers: dict[str, str], alert_id: int, user_id: int, district_id: int) -> set[str]:
    """The alert permissions the API admits, found by calling each endpoint (403 = refused)."""
    calls = {
        AlertPermission.read: ("GET", "/api/v1/alerts", None),
        AlertPermission.comment: ("POST", f"/api/v1/alerts/{alert_id}/comments", {"text": "已电话核实"}),
        AlertPermission.acknowledge: ("POST", f"/api/v1/alerts/{alert_id}/acknowledge", {}),
        AlertPermission.assign: ("POST", f"/api/v1/alerts/{alert_id}/assign", {"department": "运行科"}),
        AlertPermission.escalate: ("POST", f"/api/v1/alerts/{alert_id}/escalate",
                                   {"targets": ["section_chief"], "reason": "需协调"}),
        AlertPermission.manage_rules: ("POST", "/api/v1/alerts/rules",
                                       {"name": "下限", "indicator_code": "power.consumption", "kind": "threshold",
                                        "params": {"lower": 1}}),
        AlertPermission.silence: ("POST", "/api/v1/alerts/silences",
                                  {"starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-01T02:00:00Z",
                                   "reason": "检修", "district_id": district_id}),
        AlertPermission.manage_policies: ("DELETE", "/api/v1/alerts/escalation-policies/blue", None),
        AlertPermission.close: ("POST", f"/api/v1/alerts/{alert_id}/close", {"reason": "表计故障"}),
        AlertPermission.resolve: ("POST", f"/api/v1/alerts/{alert_id}/resolve", {"countermeasures": "已恢复"}),
        AlertPermission.manage_contacts: ("PUT", f"/api/v1/alerts/contacts/{user_id}", {"email": "me@wuhai.example"}),
    }
    assert set(calls) == set(AlertPermission)
    out = set()
    for perm, (method, path, body) in calls.items():
        r = client.request(method, path, json=body, headers=headers)
        assert r.status_code != 401, r.text
        if r.status_code != 403:
            out.add(perm.value)
    return out


@pytest.mark.parametrize("username", ["duty", "wuda_duty", "analyst", "leader", "api_client", "reporter", ADMIN])
def test_the_alert_permissions_in_me_are_exactly_what_the_alerts_api_admits(
        client: TestClient, db_session: Session, username: str):
    headers = auth(client, username)
    me = client.get("/api/v1/auth/me", headers=headers).json()
    listed = {p for p in me["permissions"] if p.startswith("alert.")}
    admitted = _admitted(client, headers, _alert(db_session), me["user"]["id"], _wuda(db_session))
    assert admitted == listed


def test_a_duty_officer_may_handle_alerts_and_an_analyst_only_comment(client: TestClient):
    duty = set(client.get("/api/v1/auth/me", headers=auth(client, "duty")).json()["permissions"])
    analyst = set(client.get("/api/v1/auth/me", headers=auth(client, "analyst")).json()["permissions"])
    assert {"alert.acknowledge", "alert.escalate", "alert.resolve", "alert.comment"} <= duty
    assert "alert.manage_rules" not in duty
    assert {"alert.read", "alert.comment", "alert.manage_rules"} <= analyst
    assert not {"alert.acknowledge", "alert.escalate", "alert.resolve"} & analyst


def test_a_read_scoped_key_lists_no_alert_write_permission_and_the_api_refuses_its_writes(
        client: TestClient, db_session: Session):
    h = auth(client, ADMIN)
    key = client.post("/api/v1/api-keys", json={"name": "ro", "scopes": ["read"]}, headers=h).json()["key"]
    kh = {"Authorization": f"Bearer {key}"}
    perms = {p for p in client.get("/api/v1/auth/me", headers=kh).json()["permissions"] if p.startswith("alert.")}
    assert perms == {"alert.read"}
    me = client.get("/api/v1/auth/me", headers=kh).json()
    assert _admitted(client, kh, _alert(db_session), me["user"]["id"], _wuda(db_session)) == {"alert.read"}


def test_granted_follows_role_and_key_scope():
    duty = Principal(1, "d", Role.duty_officer)
    assert "alert.acknowledge" in granted(duty)
    assert granted(Principal(1, "d", Role.duty_officer, scopes=frozenset({"read"}))) == ["alert.read"]
    assert granted(Principal(2, "r", Role.enterprise_reporter)) == []
    assert granted(Principal(3, "a", Role.admin)) == sorted(p.value for p in AlertPermission)
