"""Escalation runs on an injected clock against the real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.alerts import repository as repo
from backend.alerts import service
from backend.alerts.models import Alert
from backend.api.problems import Conflict
from backend.notifications.models import Notification
from tests.alerts.conftest import START, add_people, park_with_enterprises


def _alert(session: Session, level: str, district_id: int) -> Alert:
    a = Alert(series_id=None, indicator_code="power.consumption", entity_kind="enterprise", entity_id=1,
              district_id=district_id, park_id=None, enterprise_id=1, level=level, peak_level=level,
              level_since=START, state="open", episode_started_at=START, opened_at=START, checks=["level_shift"],
              explanation_zh="低于预期区间", explanation_en="below the expected band", importance=1.0, severity=0.9,
              is_group=False, due_at=START + timedelta(hours=24))
    session.add(a)
    session.flush()
    return a


def _emails(session: Session, alert_id: int) -> list[str]:
    return sorted(session.scalars(select(Notification.email).where(Notification.alert_id == alert_id)))


def test_a_yellow_alert_nobody_acknowledges_goes_to_the_section_chief_after_30_minutes(db_session: Session):
    place = park_with_enterprises(db_session)
    add_people(db_session, place.other_district_id)
    a = _alert(db_session, "yellow", place.district_id)
    # Minute 0: the duty officer's queue (no mail for yellow).
    service.run_escalations(db_session, START)
    assert _emails(db_session, a.id) == []
    service.run_escalations(db_session, START + timedelta(minutes=29))
    assert a.state == "open" and _emails(db_session, a.id) == []
    service.run_escalations(db_session, START + timedelta(minutes=31))
    assert a.state == "escalated" and a.escalated_at == START + timedelta(minutes=31)
    assert _emails(db_session, a.id) == ["chief@wuhai.example"]
    # Running again writes nothing new.
    service.run_escalations(db_session, START + timedelta(minutes=45))
    assert _emails(db_session, a.id) == ["chief@wuhai.example"]
    kinds = [e.kind for e in repo.events(db_session, a.id)]
    assert kinds == ["notified", "escalated"]


def test_an_acknowledged_yellow_alert_is_not_escalated(db_session: Session):
    place = park_with_enterprises(db_session)
    people = add_people(db_session, place.other_district_id)
    a = _alert(db_session, "yellow", place.district_id)
    service.acknowledge(db_session, a.id, service.Actor(people.duty, "t_duty"), START + timedelta(minutes=10))
    service.run_escalations(db_session, START + timedelta(hours=2))
    assert a.state == "acknowledged" and _emails(db_session, a.id) == []


def test_a_red_alert_goes_to_the_city_government_when_unresolved_after_the_set_hours(db_session: Session):
    place = park_with_enterprises(db_session)
    people = add_people(db_session, place.other_district_id)
    a = _alert(db_session, "red", place.district_id)
    service.run_escalations(db_session, START)
    assert _emails(db_session, a.id) == ["bureau-en@wuhai.example", "bureau@wuhai.example", "duty@wuhai.example"]
    # Acknowledged but not resolved: the city government is still told after 4 hours (上报市政府).
    service.acknowledge(db_session, a.id, service.Actor(people.duty, "t_duty"), START + timedelta(minutes=5))
    service.run_escalations(db_session, START + timedelta(hours=3, minutes=59))
    assert "city@wuhai.example" not in _emails(db_session, a.id)
    service.run_escalations(db_session, START + timedelta(hours=4, minutes=1))
    assert "city@wuhai.example" in _emails(db_session, a.id) and a.state == "escalated"
    timeline = [(e.kind, e.from_state, e.to_state) for e in repo.events(db_session, a.id)]
    assert timeline == [("notified", None, None), ("acknowledged", "open", "acknowledged"),
                        ("escalated", "acknowledged", "escalated")]


def test_a_district_officer_only_hears_about_their_own_district(db_session: Session):
    place = park_with_enterprises(db_session)
    add_people(db_session, place.other_district_id)
    a = _alert(db_session, "red", place.other_district_id)
    service.run_escalations(db_session, START)
    assert "other-duty@wuhai.example" in _emails(db_session, a.id)
    b = _alert(db_session, "red", place.district_id)
    b.series_id = None
    service.run_escalations(db_session, START)
    assert "other-duty@wuhai.example" not in _emails(db_session, b.id)


def test_a_configured_policy_replaces_the_default(db_session: Session):
    place = park_with_enterprises(db_session)
    add_people(db_session, place.other_district_id)
    service.set_policy(db_session, "yellow", [
        {"after_minutes": 0, "condition": "always", "targets": ["duty_officer"], "email": True},
        {"after_minutes": 10, "condition": "unacknowledged", "targets": ["bureau_leader"], "escalate": True},
    ], resolve_within_hours=8, user_id=None, now=START)
    a = _alert(db_session, "yellow", place.district_id)
    service.run_escalations(db_session, START)
    assert _emails(db_session, a.id) == ["duty@wuhai.example"]
    service.run_escalations(db_session, START + timedelta(minutes=11))
    assert "bureau@wuhai.example" in _emails(db_session, a.id) and a.state == "escalated"


def test_the_timeline_records_ack_escalation_comment_assignment_and_resolution(db_session: Session):
    place = park_with_enterprises(db_session)
    people = add_people(db_session, place.other_district_id)
    a = _alert(db_session, "orange", place.district_id)
    duty = service.Actor(people.duty, "t_duty")
    chief = service.Actor(people.chief, "t_chief")
    t = START
    service.acknowledge(db_session, a.id, duty, t + timedelta(minutes=3))
    service.assign(db_session, a.id, duty, t + timedelta(minutes=4), "市工信局运行科")
    service.comment(db_session, a.id, duty, t + timedelta(minutes=5), "已电话联系企业，反映设备检修")
    service.escalate(db_session, a.id, duty, t + timedelta(minutes=20), ["section_chief"], "需协调电力公司")
    with pytest.raises(Conflict):
        service.resolve(db_session, a.id, chief, t + timedelta(minutes=30), "  ")
    service.resolve(db_session, a.id, chief, t + timedelta(hours=2), "协调电力公司恢复供电，企业已复产")
    with pytest.raises(Conflict):
        service.acknowledge(db_session, a.id, chief, t + timedelta(hours=3))
    rows = [(e.kind, e.actor, e.from_state, e.to_state, e.text) for e in repo.events(db_session, a.id)]
    assert rows == [
        ("acknowledged", "t_duty", "open", "acknowledged", None),
        ("assigned", "t_duty", None, None, "市工信局运行科"),
        ("comment", "t_duty", None, None, "已电话联系企业，反映设备检修"),
        ("escalated", "t_duty", "acknowledged", "escalated", "需协调电力公司"),
        ("resolved", "t_chief", "escalated", "resolved", "协调电力公司恢复供电，企业已复产"),
    ]
    assert a.acknowledged_by == people.duty and a.resolved_by == people.chief
    assert a.countermeasures == "协调电力公司恢复供电，企业已复产" and a.department == "市工信局运行科"
    # The section chief was told of the manual escalation, then of the resolution; nobody else.
    told = sorted(db_session.execute(select(Notification.email, Notification.kind)
                                     .where(Notification.alert_id == a.id)).all())
    assert told == [("chief@wuhai.example", "escalation"), ("chief@wuhai.example", "resolved")]
