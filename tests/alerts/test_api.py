"""The alerts API: filters, district scope, handling with its timeline, role checks, silences,
rules and escalation policies."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backend.alerts.models import Alert
from backend.notifications.models import Notification
from tests.alerts.conftest import START, STEP, add_user, series_for, values, write
from tests.api.support import ADMIN, auth

WUDA = "150304"


def _alert(session: Session, level: str = "red", district_code: str = WUDA) -> Alert:
    did = session.execute(text("SELECT id FROM district WHERE code = :c"), {"c": district_code}).scalar_one()
    a = Alert(series_id=None, indicator_code="power.consumption", entity_kind="enterprise", entity_id=1,
              district_id=did, park_id=None, enterprise_id=1, level=level, peak_level=level, level_since=START,
              state="open", episode_started_at=START, opened_at=START, checks=["level_shift"],
              explanation_zh="低于预期区间", explanation_en="below the expected band", importance=1.0, severity=0.97,
              is_group=False, due_at=START + timedelta(hours=4))
    session.add(a)
    session.flush()
    return a


def test_alerts_are_filtered_and_scoped_to_the_callers_district(client: TestClient, db_session: Session):
    a = _alert(db_session)
    b = _alert(db_session, "blue", "150303")
    duty = auth(client, "duty")
    r = client.get("/api/v1/alerts", headers=duty)
    assert r.status_code == 200 and {x["id"] for x in r.json()["items"]} >= {a.id, b.id}
    r = client.get("/api/v1/alerts", params={"level": "red", "district": WUDA}, headers=duty)
    assert [x["id"] for x in r.json()["items"]] == [a.id] and r.json()["items"][0]["overdue"] is True
    hainan = auth(client, "hainan_duty")
    ids = [x["id"] for x in client.get("/api/v1/alerts", headers=hainan).json()["items"]]
    assert b.id in ids and a.id not in ids
    assert client.get(f"/api/v1/alerts/{a.id}", headers=hainan).status_code == 404
    assert client.get("/api/v1/alerts", headers=auth(client, "reporter")).status_code == 403


def test_handling_an_alert_through_the_api_builds_its_timeline_and_sends_nothing_itself(
        client: TestClient, db_session: Session):
    a = _alert(db_session)
    add_user(db_session, "api_chief", "leader", "chief-api@wuhai.example", position="section_chief")
    duty, leader = auth(client, "duty"), auth(client, "leader")
    assert client.post(f"/api/v1/alerts/{a.id}/acknowledge", json={}, headers=auth(client, "analyst")).status_code == 403
    r = client.post(f"/api/v1/alerts/{a.id}/acknowledge", json={"note": "收到"}, headers=duty)
    assert r.status_code == 200 and r.json()["state"] == "acknowledged" and r.json()["acknowledged_by"] is not None
    assert client.post(f"/api/v1/alerts/{a.id}/acknowledge", json={}, headers=duty).status_code == 409
    r = client.post(f"/api/v1/alerts/{a.id}/comments", json={"text": "企业反映主变跳闸"}, headers=auth(client, "analyst"))
    assert r.status_code == 201 and r.json()["kind"] == "comment"
    r = client.post(f"/api/v1/alerts/{a.id}/assign", json={"department": "市工信局运行科"}, headers=duty)
    assert r.status_code == 200 and r.json()["department"] == "市工信局运行科"
    r = client.post(f"/api/v1/alerts/{a.id}/escalate", json={"targets": ["section_chief"], "reason": "需协调供电"},
                    headers=duty)
    assert r.status_code == 200 and r.json()["state"] == "escalated"
    r = client.post(f"/api/v1/alerts/{a.id}/resolve", json={"countermeasures": ""}, headers=leader)
    assert r.status_code == 422
    r = client.post(f"/api/v1/alerts/{a.id}/resolve", json={"countermeasures": "协调供电公司抢修，已恢复生产"},
                    headers=leader)
    assert r.status_code == 200 and r.json()["state"] == "resolved"
    detail = client.get(f"/api/v1/alerts/{a.id}", headers=duty).json()
    assert [(e["kind"], e["actor"]) for e in detail["timeline"]] == [
        ("acknowledged", "duty"), ("comment", "analyst"), ("assigned", "duty"), ("escalated", "duty"),
        ("resolved", "leader")]
    names = dict(db_session.execute(text("SELECT username, display_name FROM app_user "
                                         "WHERE username IN ('duty', 'analyst', 'leader')")).tuples().all())
    assert [e["actor_name"] for e in detail["timeline"]] == [
        names["duty"], names["analyst"], names["duty"], names["duty"], names["leader"]]
    assert all(n and n != u for u, n in names.items())  # display names, not usernames
    assert detail["countermeasures"] == "协调供电公司抢修，已恢复生产"
    # The escalation mail and the resolved mail are in the outbox, not sent by the request.
    rows = db_session.execute(select(Notification.kind, Notification.status)
                              .where(Notification.alert_id == a.id)).all()
    assert sorted(rows) == [("escalation", "pending"), ("resolved", "pending")]
    audit = db_session.execute(text("SELECT action FROM audit_log WHERE object_type = 'alert' AND object_id = :i "
                                    "ORDER BY id"), {"i": str(a.id)}).scalars().all()
    assert audit == ["alert.acknowledge", "alert.comment", "alert.assign", "alert.escalate", "alert.resolve"]


def test_silences_rules_and_policies_are_role_checked(client: TestClient, db_session: Session):
    duty, analyst, leader = auth(client, "duty"), auth(client, "analyst"), auth(client, "leader")
    body = {"kind": "silence", "starts_at": START.isoformat(), "ends_at": (START + timedelta(hours=2)).isoformat(),
            "reason": "计划检修", "park_id": 1}
    assert client.post("/api/v1/alerts/silences", json=body, headers=analyst).status_code == 403
    r = client.post("/api/v1/alerts/silences", json=body, headers=duty)
    assert r.status_code == 201
    sid = r.json()["id"]
    assert client.delete(f"/api/v1/alerts/silences/{sid}", headers=duty).json()["cancelled_at"] is not None
    bad = {**body, "park_id": None}
    assert client.post("/api/v1/alerts/silences", json=bad, headers=duty).status_code == 422
    rule = {"name": "用电量下限", "indicator_code": "power.consumption", "kind": "threshold", "params": {"lower": 10}}
    assert client.post("/api/v1/alerts/rules", json=rule, headers=duty).status_code == 403
    r = client.post("/api/v1/alerts/rules", json=rule, headers=analyst)
    assert r.status_code == 201
    rid = r.json()["id"]
    assert client.put(f"/api/v1/alerts/rules/{rid}", json={**rule, "params": {}}, headers=analyst).status_code == 422
    assert client.delete(f"/api/v1/alerts/rules/{rid}", headers=analyst).status_code == 204
    yoy = {"name": "产值同比下滑", "indicator_code": "econ.value_added", "kind": "yoy", "params": {"min_pct": -20}}
    r = client.post("/api/v1/alerts/rules", json=yoy, headers=analyst)
    assert r.status_code == 201 and r.json()["kind"] == "yoy"
    assert client.put(f"/api/v1/alerts/rules/{r.json()['id']}", json={**yoy, "params": {}},
                      headers=analyst).status_code == 422
    too_late = {"resolve_within_hours": 8, "steps": [{"after_minutes": 1e12, "condition": "always",
                                                      "targets": ["duty_officer"]}]}
    assert client.put("/api/v1/alerts/escalation-policies/yellow", json=too_late, headers=leader).status_code == 422
    policy = {"resolve_within_hours": 8, "steps": [
        {"after_minutes": 0, "condition": "always", "targets": ["duty_officer"]},
        {"after_minutes": 15, "condition": "unacknowledged", "targets": ["section_chief"], "escalate": True}]}
    assert client.put("/api/v1/alerts/escalation-policies/yellow", json=policy, headers=duty).status_code == 403
    r = client.put("/api/v1/alerts/escalation-policies/yellow", json=policy, headers=leader)
    assert r.status_code == 200 and r.json()["configured"] is True and r.json()["steps"][1]["after_minutes"] == 15
    listed = {p["level"]: p for p in client.get("/api/v1/alerts/escalation-policies", headers=duty).json()}
    assert listed["yellow"]["configured"] and not listed["red"]["configured"]
    assert listed["red"]["steps"][1]["targets"] == ["city_leader"]
    r = client.delete("/api/v1/alerts/escalation-policies/yellow", headers=leader)
    assert r.json()["configured"] is False


def test_an_admin_sets_a_users_notification_contact(client: TestClient, db_session: Session):
    admin = auth(client, ADMIN)
    uid = db_session.execute(text("SELECT id FROM app_user WHERE username = 'leader'")).scalar_one()
    body = {"email": "leader@wuhai.example", "language": "en", "position": "bureau_leader", "daily_digest": True}
    r = client.put(f"/api/v1/alerts/contacts/{uid}", json=body, headers=admin)
    assert r.status_code == 200 and r.json()["position"] == "bureau_leader"
    assert client.get(f"/api/v1/alerts/contacts/{uid}", headers=auth(client, "leader")).json()["language"] == "en"
    assert client.put(f"/api/v1/alerts/contacts/{uid}", json=body, headers=auth(client, "duty")).status_code == 403


def test_the_chart_of_a_silent_meter_shows_its_last_reports_and_one_without_data_is_a_404(
        client: TestClient, db_session: Session):
    """A missing-report alert has no scored points; its chart is the last reports and the
    silence since. An alert with nothing to draw is a 404 with a reason."""
    eid = db_session.execute(text("SELECT min(id) FROM enterprise")).scalar_one()
    sid = series_for(db_session, eid)
    write(db_session, values(sid, START, 40, seed=3))
    last = START + 39 * STEP
    silent = _alert(db_session, "orange")
    silent.series_id, silent.checks, silent.episode_started_at, silent.last_point_at = sid, ["missing"], last + STEP, last
    bare = _alert(db_session, "yellow")
    db_session.flush()
    duty = auth(client, "duty")
    r = client.get(f"/api/v1/alerts/{silent.id}/chart.png", headers=duty)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png" and r.content[:4] == b"\x89PNG"
    detail = client.get(f"/api/v1/alerts/{silent.id}", headers=duty).json()
    assert detail["report_gap"]["since"].startswith(last.isoformat()[:16]) and len(detail["points"]) == 40
    assert all(p["expected"] is None for p in detail["points"])
    assert client.get(f"/api/v1/alerts/{bare.id}", headers=duty).json()["report_gap"] is None
    r = client.get(f"/api/v1/alerts/{bare.id}/chart.png", headers=duty)
    assert r.status_code == 404 and "no chart data" in r.json()["detail"]
    assert client.get(f"/api/v1/alerts/{silent.id}/chart.png", headers=auth(client, "hainan_duty")).status_code == 404


def test_silences_are_listed_with_the_name_of_what_they_match(client: TestClient, db_session: Session):
    eid, name_zh = db_session.execute(text("SELECT id, name_zh FROM enterprise ORDER BY id LIMIT 1")).one()
    wuda = db_session.execute(text("SELECT id FROM district WHERE code = :c"), {"c": WUDA}).scalar_one()
    admin = auth(client, ADMIN)
    body = {"kind": "maintenance", "starts_at": "2026-11-28T00:00:00+08:00", "ends_at": "2099-01-01T00:00:00+08:00",
            "reason": "计划检修", "indicator_code": "power.consumption", "entity_kind": "enterprise", "entity_id": eid}
    assert client.post("/api/v1/alerts/silences", json=body, headers=admin).status_code == 201
    body = {**body, "entity_kind": "district", "entity_id": wuda, "kind": "silence"}
    assert client.post("/api/v1/alerts/silences", json=body, headers=admin).status_code == 201
    listed = client.get("/api/v1/alerts/silences", headers=admin).json()
    named = {(s["entity_kind"], s["entity_name_zh"]) for s in listed}
    assert ("enterprise", name_zh) in named and ("district", "乌达区") in named


def test_a_silence_made_from_an_alert_is_on_its_timeline_and_needs_the_alert_to_be_visible(
        client: TestClient, db_session: Session):
    a = _alert(db_session, "orange")
    body = {"kind": "silence", "starts_at": "2026-11-28T00:00:00+08:00", "ends_at": "2026-11-28T08:00:00+08:00",
            "reason": "已电话核实", "indicator_code": a.indicator_code, "entity_kind": a.entity_kind,
            "entity_id": a.entity_id, "district_id": a.district_id, "alert_id": a.id}
    assert client.post("/api/v1/alerts/silences", json=body, headers=auth(client, "duty")).status_code == 201
    events = client.get(f"/api/v1/alerts/{a.id}", headers=auth(client, "duty")).json()["timeline"]
    silenced = [e for e in events if e["kind"] == "silenced"]
    assert len(silenced) == 1 and silenced[0]["text"] == "静默（不发邮件）至 2026-11-28 08:00：已电话核实"
    assert silenced[0]["actor"] == "duty"
    # another district's officer cannot use an alert it cannot see, even to silence its own district
    hainan = auth(client, "hainan_duty")
    hd = db_session.execute(text("SELECT id FROM district WHERE code = '150303'")).scalar_one()
    r = client.post("/api/v1/alerts/silences", json={**body, "district_id": hd}, headers=hainan)
    assert r.status_code == 404


def test_an_alert_covered_by_a_silence_says_until_when_no_mail_goes_out(client: TestClient, db_session: Session):
    a = _alert(db_session, "red")
    other = _alert(db_session, "red", "150303")
    duty = auth(client, "duty")
    assert client.get(f"/api/v1/alerts/{a.id}", headers=duty).json()["silenced_until"] is None
    body = {"kind": "silence", "starts_at": "2026-01-01T00:00:00+08:00", "ends_at": "2099-01-01T00:00:00+08:00",
            "reason": "会议期间", "indicator_code": a.indicator_code, "entity_kind": a.entity_kind,
            "entity_id": a.entity_id, "district_id": a.district_id}
    assert client.post("/api/v1/alerts/silences", json=body, headers=duty).status_code == 201
    assert client.get(f"/api/v1/alerts/{a.id}", headers=duty).json()["silenced_until"].startswith("2098-12-31T16:00")
    listed = {x["id"]: x for x in client.get("/api/v1/alerts", headers=duty).json()["items"]}
    assert listed[a.id]["silenced_until"] is not None and listed[other.id]["silenced_until"] is None
