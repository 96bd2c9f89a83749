"""The leaders' daily digest and the e-mail text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
    # Every district the recipient oversees has a row, quiet ones too; a district's leader sees only theirs.
    n_districts = db_session.execute(text("SELECT count(*) FROM district")).scalar_one()
    assert len(city["districts"]) == n_districts and len(district_only["districts"]) == 1
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
    assert subj == "【预警升级·橙色】乌达区 · 乌达工业园区 · 某洗煤厂 工业用电量异常偏低（#42）"
    assert "升级至：局领导" in body and "升级原因：企业停产" in body and "水平突变、尖峰" in body
    assert "cid:episode-chart" in page and "http://127.0.0.1:8050/alerts/42" in page
    subj_en, body_en, _ = render.render_alert(ctx, "en", TZ, has_chart=False)
    assert subj_en.startswith("[Escalated · ORANGE] Wuda District · Wuda park · A coal washery")
    assert "Escalated to: bureau leader" in body_en and "level shift, spike" in body_en


def _ctx(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "alert_id": 7, "kind": "alert", "level": "red", "state": "open", "indicator_zh": "电网负荷",
        "indicator_en": "Grid load", "unit_zh": "兆瓦", "unit_en": "MW", "district_zh": "滨河新区",
        "district_en": "Binhe New Area", "value": 309.2, "expected": 742.0, "lower": 670.0, "upper": 815.0,
        "checks": ["level_shift"], "explanation_zh": "低于预期区间", "explanation_en": "below the expected band",
        "episode_started_at": START.isoformat(), "opened_at": START.isoformat(),
        "due_at": (START + timedelta(hours=4)).isoformat(), "last_point_at": (START + timedelta(hours=1, minutes=15)).isoformat(), "link": "http://x/alerts/7"}
    base.update(kw)
    return base


def test_an_alert_mail_says_how_far_the_value_is_from_expected_and_when_it_was_measured():
    _subj, body, page = render.render_alert(_ctx(), "zh", TZ, has_chart=False)
    local = (START + timedelta(hours=1, minutes=15)).astimezone(TZ).strftime("%Y-%m-%d %H:%M")
    assert f"最新值：309 兆瓦（{local}）" in body
    assert "预期值（区间）：742 兆瓦（670 – 815）" in body
    assert "偏离预期：-58.3%" in body and "-58.3%" in page
    subj_en, body_en, _p = render.render_alert(_ctx(), "en", TZ, has_chart=False)
    assert "Off expected by: -58.3%" in body_en
    assert subj_en == "[RED alert] Binhe New Area: Grid load below expected (#7)"
    assert render.subject(_ctx(value=900.0), "zh") == "【红色预警】滨河新区 电网负荷异常偏高（#7）"
    assert render.subject(_ctx(value=700.0), "zh") == "【红色预警】滨河新区 电网负荷异常（#7）"  # inside the band


def test_a_monthly_or_daily_figure_is_dated_by_its_period_not_by_midnight():
    # A monthly figure is stored at 00:00 local on the 1st: the leader reads 2026年10月.
    first = datetime(2026, 9, 30, 16, 0, tzinfo=UTC)  # 1 October 2026, 00:00 in Beijing
    ctx = _ctx(frequency="month", last_point_at=first.isoformat(), episode_started_at=first.isoformat())
    _s, body, page = render.render_alert(ctx, "zh", TZ, has_chart=False)
    assert "最新值：309 兆瓦（2026年10月）" in body and "异常开始：2026年10月" in body and "00:00" not in body.split("预警时间")[0]
    _s, body_en, _p = render.render_alert(ctx, "en", TZ, has_chart=False)
    assert "(Oct 2026)" in body_en and "Since: Oct 2026" in body_en
    _s, body_d, _p = render.render_alert({**ctx, "frequency": "day"}, "zh", TZ, has_chart=False)
    assert "（2026-10-01）" in body_d and "异常开始：2026-10-01\n" in body_d + "\n"


def test_a_growth_rate_mail_gives_the_deviation_in_percentage_points():
    # A 累计同比 growth of -13.5 % against 5.6 % expected: 19.1 points below, not "-341 %".
    ctx = _ctx(indicator_zh="规模以上工业增加值累计增速", unit_zh="%", unit_en="%", value=-13.5, expected=5.58,
               lower=3.07, upper=8.09)
    _subj, body, page = render.render_alert(ctx, "zh", TZ, has_chart=False)
    assert "偏离预期：-19.1 个百分点" in body and "-19.1 个百分点" in page and "341" not in body
    _s, body_en, _p = render.render_alert(ctx, "en", TZ, has_chart=False)
    assert "Off expected by: -19.1 percentage points" in body_en


def test_a_missing_report_mail_has_no_empty_value_rows_and_says_when_the_last_report_came():
    ctx = _ctx(value=None, expected=None, lower=None, upper=None, checks=["missing"])
    subj, body, page = render.render_alert(ctx, "zh", TZ, has_chart=False)
    assert subj == "【红色预警】滨河新区 电网负荷未按时报送（#7）"
    assert "最新值" not in body and "预期值" not in body and "偏离预期" not in body and "—" not in body
    local = (START + timedelta(hours=1, minutes=15)).astimezone(TZ).strftime("%Y-%m-%d %H:%M")
    assert f"最近一次报送：{local}" in body and "最近一次报送" in page
    subj_en, body_en, _ = render.render_alert(ctx, "en", TZ, has_chart=False)
    assert subj_en == "[RED alert] Binhe New Area: Grid load not reported (#7)"
    assert f"Last report: {local}" in body_en and "Latest value" not in body_en


def test_escalation_and_resolution_mails_name_who_acted(db_session: Session):
    from backend.alerts.models import AlertEvent

    d1 = db_session.execute(text("SELECT id FROM district ORDER BY id LIMIT 1")).scalar_one()
    uid = add_user(db_session, "mail_actor", "duty_officer", "actor@wuhai.example", position="duty_officer")
    db_session.execute(text("UPDATE app_user SET display_name = '张值班' WHERE id = :u"), {"u": uid})
    a = _alert(db_session, "orange", d1, 4, state="escalated")
    db_session.add(AlertEvent(alert_id=a.id, at=START, kind="escalated", actor="mail_actor", actor_user_id=uid,
                              from_state="open", to_state="escalated", text="需协调", detail={}))
    ctx = notifications_service.alert_context(db_session, a, "escalation", START, targets=["bureau_leader"],
                                              reason="需协调")
    assert ctx["actor_zh"] == "张值班"
    _s, body, _p = render.render_alert({**ctx, "link": "L"}, "zh", TZ, has_chart=False)
    assert "升级人：张值班" in body
    db_session.add(AlertEvent(alert_id=a.id, at=START + timedelta(hours=1), kind="resolved", actor="system",
                              actor_user_id=None, from_state="escalated", to_state="resolved", text="恢复", detail={}))
    a.state = "resolved"
    ctx = notifications_service.alert_context(db_session, a, "resolved", START + timedelta(hours=1))
    _s, body, _p = render.render_alert({**ctx, "link": "L"}, "zh", TZ, has_chart=False)
    assert "办结人：系统自动" in body
    # an alert mail (not an escalation or a closure) names nobody
    assert "actor_zh" not in notifications_service.alert_context(db_session, a, "alert", START)


def test_a_quiet_day_digest_says_so_and_still_lists_every_district():
    ctx = {"date": "2026-11-28", "districts": ["海勃湾区", "乌达区"], "total": 0, "overdue": 0, "counts": {},
           "items": [], "list_link": "http://d/alerts"}
    _subj, body, page = render.render_digest(ctx, "zh", TZ)
    assert "海勃湾区：无" in body and "乌达区：无" in body
    assert "明细（超时优先）：\n- 无：当前没有未办结的预警。" in body and "无：当前没有未办结的预警。</li>" in page
    _s, body_en, _p = render.render_digest(ctx, "en", TZ)
    assert "- none: no alert is open." in body_en


def test_a_long_digest_lists_the_first_items_with_their_place_and_check_and_counts_the_rest():
    items = [{"id": i, "level": "orange", "state": "open", "overdue": i == 1, "due_at": START.isoformat(),
              "title_zh": f"企业{i} 工业用电量", "title_en": f"Firm {i} power", "district_zh": "乌达区",
              "district_en": "Wuda District", "checks": ["missing"], "link": f"http://d/alerts/{i}"}
             for i in range(1, render.DIGEST_MAX_ITEMS + 6)]
    ctx = {"date": "2026-11-28", "districts": ["乌达区", "海南区"], "total": len(items), "overdue": 1,
           "counts": {"乌达区|orange|open": len(items) - 1, "海南区|orange|open": 1}, "items": items,
           "list_link": "http://d/alerts"}
    _subj, body, page = render.render_digest(ctx, "zh", TZ)
    assert "- 【超时】#1 橙色 乌达区 · 企业1 工业用电量（缺报）" in body
    assert f"#{render.DIGEST_MAX_ITEMS} " in body and f"#{render.DIGEST_MAX_ITEMS + 1} " not in body
    assert "另有 5 条未列出，请在运监系统中查看全部：http://d/alerts" in body
    assert 'href="http://d/alerts"' in page and "合计" in page and page.count("<li") == render.DIGEST_MAX_ITEMS
    _s, body_en, _p = render.render_digest(ctx, "en", TZ)
    assert "5 more not listed" in body_en and "(missing report)" in body_en
