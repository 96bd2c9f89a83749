"""The leaders' daily digest and the e-mail text."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backend.alerts.models import Alert
from backend.notifications import render
from backend.notifications import service as notifications_service
from backend.notifications.models import Notification
from tests.alerts.conftest import START, add_user

TZ = ZoneInfo("Asia/Shanghai")


def _alert(session: Session, level: str, district_id: int, due_hours: float, state: str = "open") -> Alert:
    a = Alert(series_id=None, indicator_code="coal.raw_output", entity_kind="district", entity_id=district_id,
              district_id=district_id, level=level, peak_level=level, level_since=START, state=state,
              episode_started_at=START, opened_at=START, checks=["drift"], explanation_zh="", explanation_en="",
              importance=1.0, severity=0.9, is_group=False, due_at=START + timedelta(hours=due_hours))
    session.add(a)
    session.flush()
    return a


def test_the_daily_digest_goes_once_a_day_after_its_hour_with_overdue_items_first(db_session: Session):
    d1, d2 = db_session.execute(text("SELECT id FROM district ORDER BY id LIMIT 2")).scalars().all()
    add_user(db_session, "digest_leader", "leader", "digest@wuhai.example", position="bureau_leader", digest=True)
    add_user(db_session, "digest_en", "leader", "digest-en@wuhai.example", language="en", digest=True,
             district_id=d2)
    blue = _alert(db_session, "blue", d1, 72)
    late = _alert(db_session, "yellow", d1, 1)
    red = _alert(db_session, "red", d2, 10, state="acknowledged")
    _alert(db_session, "red", d2, 1, state="resolved")
    now = START + timedelta(hours=3)  # 03:00 local (START is local midnight)
    assert notifications_service.enqueue_digests(db_session, now, TZ, digest_hour=8) == 0
    morning = START + timedelta(hours=8, minutes=5)
    assert notifications_service.enqueue_digests(db_session, morning, TZ, digest_hour=8) == 2
    assert notifications_service.enqueue_digests(db_session, morning + timedelta(hours=2), TZ, digest_hour=8) == 0
    rows = {n.email: n for n in db_session.scalars(select(Notification).where(Notification.kind == "digest"))}
    city = rows["digest@wuhai.example"].context
    assert [it["id"] for it in city["items"]] == [late.id, red.id, blue.id]  # overdue, then by colour
    assert city["total"] == 3 and city["overdue"] == 1
    district_only = rows["digest-en@wuhai.example"].context
    assert [it["id"] for it in district_only["items"]] == [red.id]
    subject, body, page = render.render_digest({**city, "items": [{**i, "link": f"L{i['id']}"} for i in city["items"]]},
                                               "zh", TZ)
    assert subject.startswith("【运监】每日预警汇总") and "超时 1 条" in body
    assert body.index(f"#{late.id}") < body.index(f"#{red.id}") < body.index(f"#{blue.id}")
    assert "已确认" in page and "红色" in page


def test_an_alert_mail_reads_in_chinese_or_english():
    ctx = {"alert_id": 42, "kind": "escalation", "level": "orange", "state": "escalated", "indicator_zh": "工业用电量",
           "indicator_en": "Industrial electricity consumption", "unit_zh": "千瓦时", "unit_en": "kWh",
           "district_zh": "乌达区", "district_en": "Wuda District", "park_zh": "乌达工业园区", "park_en": "Wuda park",
           "enterprise_zh": "某洗煤厂", "enterprise_en": "A coal washery", "value": 309.2, "expected": 742.0,
           "lower": 670.0, "upper": 815.0, "checks": ["level_shift", "spike"], "explanation_zh": "低于预期区间",
           "explanation_en": "below the expected band", "episode_started_at": START.isoformat(),
           "opened_at": START.isoformat(), "due_at": (START + timedelta(hours=12)).isoformat(),
           "targets": ["bureau_leader"], "reason": "企业停产", "link": "http://127.0.0.1:8050/alerts/42"}
    subj, body, page = render.render_alert(ctx, "zh", TZ, has_chart=True)
    assert subj == "【预警升级·橙色】乌达区 · 乌达工业园区 · 某洗煤厂 工业用电量异常（#42）"
    assert "升级至: 局领导" in body and "升级原因: 企业停产" in body and "水平突变、尖峰" in body
    assert "cid:episode-chart" in page and "http://127.0.0.1:8050/alerts/42" in page
    subj_en, body_en, _ = render.render_alert(ctx, "en", TZ, has_chart=False)
    assert subj_en.startswith("[Escalated · ORANGE] Wuda District · Wuda park · A coal washery")
    assert "Escalated to: bureau leader" in body_en and "level shift, spike" in body_en
