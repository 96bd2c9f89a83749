"""End to end on a real database and a real SMTP server: observations written through the
write path -> evaluation -> one alert -> outbox -> e-mails."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.alerts import repository as alerts_repo
from backend.alerts import service
from backend.alerts.models import Alert, AlertEvent
from backend.alerts.models import Silence as SilenceRow
from backend.db import make_engine, make_session_factory, transaction
from backend.notifications import service as notifications_service
from backend.notifications.models import Notification
from backend.observations import repository as obs_repo
from tests.alerts.conftest import (
    START,
    STEP,
    SmtpServer,
    add_people,
    dispatch_config,
    park_with_enterprises,
    series_for,
    values,
    write,
)

HISTORY = 10 * 96  # ten days of 15-minute points
CYCLE = 4  # one ingest cycle delivers the last hour


def _setup(factory: sessionmaker[Session], n_enterprises: int = 1):
    with transaction(factory) as s:
        place = park_with_enterprises(s, n_enterprises)
        people = add_people(s, place.other_district_id)
        sids = [series_for(s, e) for e in place.enterprise_ids]
        for k, sid in enumerate(sids):
            write(s, values(sid, START, HISTORY, seed=k + 1))
        report = service.evaluate(s, START + HISTORY * STEP)
    return place, people, sids, report


def _cycle(factory: sessionmaker[Session], sids: list[int], first: int, factor: float, seed: int,
           n: int = CYCLE) -> service.EvaluationReport:
    """One ingest cycle: n new points per series, then the evaluation the ingest job triggers."""
    t0 = START + first * STEP
    with transaction(factory) as s:
        for k, sid in enumerate(sids):
            write(s, values(sid, t0, n, seed=seed * 100 + k, factor=factor))
        return service.evaluate(s, t0 + n * STEP, series_ids=sids)


def _factory(url: str) -> sessionmaker[Session]:
    return make_session_factory(make_engine(url))


def test_a_level_shift_raises_exactly_one_alert_and_mails_the_right_people(
        fresh_database_url: str, smtp_server: SmtpServer, output_dir: Path):
    factory = _factory(fresh_database_url)
    place, people, sids, warm = _setup(factory)
    assert warm.series == 1 and warm.points == HISTORY
    assert warm.opened == [], "ten quiet days must not raise an alert"
    # Normal operation for a cycle, then the enterprise's consumption drops by 60 %.
    assert _cycle(factory, sids, HISTORY, 1.0, seed=7).opened == []
    report = _cycle(factory, sids, HISTORY + CYCLE, 0.4, seed=8)
    assert len(report.opened) == 1
    alert_id = report.opened[0]
    cfg = dispatch_config(smtp_server.port)
    now = START + (HISTORY + 2 * CYCLE) * STEP
    sent = notifications_service.dispatch_due(factory, cfg, now + timedelta(seconds=5))
    # The episode continues for two more cycles: still one alert, no more mail.
    for c in range(2, 4):
        again = _cycle(factory, sids, HISTORY + c * CYCLE, 0.4, seed=9 + c)
        assert again.opened == []
    more = notifications_service.dispatch_due(factory, cfg, now + timedelta(hours=1))
    assert more.claimed == 0
    with factory() as s:
        alerts = list(s.scalars(select(Alert)))
        assert [a.id for a in alerts] == [alert_id]
        alert = alerts[0]
        assert alert.level == "red"  # a key enterprise's power consumption collapsing
        assert alert.state == "open" and alert.enterprise_id == place.enterprise_ids[0]
        assert alert.park_id == place.park_id and alert.district_id == place.district_id
        assert alert.checks and alert.explanation_zh.startswith("低于预期区间")
        assert alert.value is not None and alert.upper is not None and alert.value < alert.lower
        kinds = [e.kind for e in s.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert_id))]
        assert kinds[0] == "opened" and "notified" in kinds
        assert len(alerts_repo.points(s, alert_id)) >= 2 * CYCLE
    # Red: the duty officer and the bureau leaders at once; nobody else.
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(
        ["duty@wuhai.example", "bureau@wuhai.example", "bureau-en@wuhai.example"])
    assert len(sent.sent) == 3
    zh = smtp_server.to("bureau@wuhai.example")[0]
    assert "红色预警" in zh["Subject"] and f"#{alert_id}" in zh["Subject"]
    html = zh.get_body(("html",)).get_content()
    plain = zh.get_body(("plain",)).get_content()
    assert f"http://127.0.0.1:8050/alerts/{alert_id}" in html and f"http://127.0.0.1:8050/alerts/{alert_id}" in plain
    assert "红色" in html and "触发检查" in html and "园区" in html and "企业" in html
    images = [p for p in zh.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0].get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'src="cid:episode-chart"' in html
    en = smtp_server.to("bureau-en@wuhai.example")[0]
    assert en["Subject"].startswith("[RED alert]") and "Open the alert in Yunjian" in en.get_body(("html",)).get_content()
    (output_dir / "alert-email-zh.html").write_text(html.replace("cid:episode-chart", "alert-chart.png"), "utf-8")
    (output_dir / "alert-email-en.html").write_text(
        en.get_body(("html",)).get_content().replace("cid:episode-chart", "alert-chart.png"), "utf-8")
    (output_dir / "alert-email-zh.txt").write_text(plain, "utf-8")
    (output_dir / "alert-chart.png").write_bytes(images[0].get_content())
    (output_dir / "alert-email-zh.eml").write_bytes(zh.as_bytes())


def test_mail_waits_while_the_smtp_server_is_down_and_arrives_once_when_it_is_back(
        fresh_database_url: str, smtp_server: SmtpServer):
    factory = _factory(fresh_database_url)
    _place, _people, sids, _ = _setup(factory)
    smtp_server.stop()
    report = _cycle(factory, sids, HISTORY, 0.4, seed=3)
    assert len(report.opened) == 1
    cfg = dispatch_config(smtp_server.port, backoff_base_s=60.0)
    now = START + (HISTORY + CYCLE) * STEP
    down = notifications_service.dispatch_due(factory, cfg, now)
    # One refused connection; the other two go back untried rather than each waiting to fail.
    assert down.sent == [] and len(down.retry) == 1 and len(down.deferred) == 2
    # Still down a minute later: retried, not lost.
    down2 = notifications_service.dispatch_due(factory, cfg, now + timedelta(seconds=61))
    assert down2.sent == [] and len(down2.retry) == 1 and len(down2.deferred) == 2
    with factory() as s:
        rows = list(s.scalars(select(Notification)))
        assert {r.status for r in rows} == {"pending"} and sum(r.attempts for r in rows) == 2
        assert any("ConnectionRefused" in (r.last_error or "") for r in rows)
    smtp_server.start()
    # Before the backoff has passed nothing is tried; after it, everything goes out once.
    assert notifications_service.dispatch_due(factory, cfg, now + timedelta(seconds=90)).claimed == 0
    up = notifications_service.dispatch_due(factory, cfg, now + timedelta(minutes=5))
    assert len(up.sent) == 3
    assert notifications_service.dispatch_due(factory, cfg, now + timedelta(hours=2)).claimed == 0
    msgs = smtp_server.messages
    assert len(msgs) == 3 and len({m["Message-ID"] for m in msgs}) == 3
    with factory() as s:
        assert {r.status for r in s.scalars(select(Notification))} == {"sent"}


def test_a_permanent_smtp_rejection_is_recorded_and_not_retried(fresh_database_url: str, smtp_server: SmtpServer):
    factory = _factory(fresh_database_url)
    _place, _people, sids, _ = _setup(factory)

    async def reject(server: object, session: object, envelope: object, address: str, rcpt_options: list) -> str:
        if address.startswith("duty@"):
            return "550 5.1.1 mailbox unknown"
        envelope.rcpt_tos.append(address)  # type: ignore[attr-defined]
        return "250 OK"

    smtp_server.handler.handle_RCPT = reject  # type: ignore[attr-defined]
    _cycle(factory, sids, HISTORY, 0.4, seed=3)
    cfg = dispatch_config(smtp_server.port)
    now = START + (HISTORY + CYCLE) * STEP
    report = notifications_service.dispatch_due(factory, cfg, now)
    assert len(report.sent) == 2 and len(report.failed) == 1
    assert notifications_service.dispatch_due(factory, cfg, now + timedelta(hours=3)).claimed == 0
    with factory() as s:
        failed = s.scalars(select(Notification).where(Notification.status == "failed")).one()
        assert failed.email == "duty@wuhai.example" and "550" in (failed.last_error or "")
        assert failed.attempts == 1


def test_a_silence_suppresses_the_mail_but_the_alert_is_still_raised(fresh_database_url: str,
                                                                      smtp_server: SmtpServer):
    factory = _factory(fresh_database_url)
    place, _people, sids, _ = _setup(factory)
    t = START + HISTORY * STEP
    with transaction(factory) as s:
        service.create_silence(s, kind="silence", starts_at=t, ends_at=t + timedelta(days=1),
                               reason="计划检修，已报备", created_by=None, entity_kind="enterprise",
                               entity_id=place.enterprise_ids[0])
    report = _cycle(factory, sids, HISTORY, 0.4, seed=3)
    assert len(report.opened) == 1
    notifications_service.dispatch_due(factory, dispatch_config(smtp_server.port), t + timedelta(hours=2))
    assert smtp_server.messages == []
    with factory() as s:
        alert = s.get(Alert, report.opened[0])
        assert alert is not None and alert.silenced_by is not None and alert.state == "open"
        statuses = list(s.scalars(select(Notification.status)))
        assert statuses and set(statuses) == {"suppressed"}


def test_a_maintenance_window_raises_no_alert_until_it_is_over(fresh_database_url: str, smtp_server: SmtpServer):
    factory = _factory(fresh_database_url)
    place, _people, sids, _ = _setup(factory)
    t = START + HISTORY * STEP
    with transaction(factory) as s:
        service.create_silence(s, kind="maintenance", starts_at=t, ends_at=t + timedelta(hours=2, minutes=30),
                               reason="停产检修", created_by=None, park_id=place.park_id)
    assert _cycle(factory, sids, HISTORY, 0.4, seed=3).opened == []
    assert _cycle(factory, sids, HISTORY + CYCLE, 0.4, seed=4).opened == []
    # The window has closed and the enterprise is still down: now it is an alert.
    assert len(_cycle(factory, sids, HISTORY + 2 * CYCLE, 0.4, seed=5).opened) == 1


def test_enterprises_of_one_park_dropping_together_become_one_park_alert(fresh_database_url: str,
                                                                        smtp_server: SmtpServer):
    factory = _factory(fresh_database_url)
    place, _people, sids, _ = _setup(factory, n_enterprises=3)
    report = _cycle(factory, sids, HISTORY, 0.4, seed=3)
    assert len(report.opened) == 3 and len(report.groups) == 1
    notifications_service.dispatch_due(factory, dispatch_config(smtp_server.port), START + (HISTORY + 5) * STEP)
    with factory() as s:
        group = s.get(Alert, report.groups[0])
        assert group is not None and group.is_group and group.entity_kind == "park"
        assert group.entity_id == place.park_id
        members = alerts_repo.members(s, group.id)
        assert sorted(m.id for m in members) == sorted(report.opened)
        assert s.scalar(select(func.count()).select_from(Notification).where(
            Notification.alert_id != group.id)) == 0
    # One message per recipient, about the park, listing its enterprises.
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(
        ["duty@wuhai.example", "bureau@wuhai.example", "bureau-en@wuhai.example"])
    html = smtp_server.to("bureau@wuhai.example")[0].get_body(("html",)).get_content()
    assert "涉及企业" in html and f"/alerts/{group.id}" in html


def test_resolving_an_alert_tells_everyone_who_was_told(fresh_database_url: str, smtp_server: SmtpServer):
    factory = _factory(fresh_database_url)
    _place, people, sids, _ = _setup(factory)
    report = _cycle(factory, sids, HISTORY, 0.4, seed=3)
    cfg = dispatch_config(smtp_server.port)
    t = START + (HISTORY + CYCLE) * STEP
    notifications_service.dispatch_due(factory, cfg, t)
    actor = service.Actor(people.duty, "t_duty")
    with transaction(factory) as s:
        service.acknowledge(s, report.opened[0], actor, t + timedelta(minutes=5))
        service.resolve(s, report.opened[0], actor, t + timedelta(hours=1),
                        "已联系企业：变压器故障，抢修后恢复供电；建议加强设备巡检")
    notifications_service.dispatch_due(factory, cfg, t + timedelta(hours=1, minutes=1))
    resolved = [m for m in smtp_server.messages if "办结" in m["Subject"] or "Resolved" in m["Subject"]]
    assert sorted(m["To"] for m in resolved) == sorted(
        ["duty@wuhai.example", "bureau@wuhai.example", "bureau-en@wuhai.example"])
    assert "变压器故障" in smtp_server.to("bureau@wuhai.example")[-1].get_body(("html",)).get_content()


def test_silence_rows_need_a_matcher(db_session: Session):
    import pytest

    from backend.api.problems import InvalidRequest

    t = START
    with pytest.raises(InvalidRequest):
        service.create_silence(db_session, kind="silence", starts_at=t, ends_at=t + timedelta(hours=1),
                               reason="x", created_by=None)
    s = service.create_silence(db_session, kind="silence", starts_at=t, ends_at=t + timedelta(hours=1),
                               reason="全市演练", created_by=None, everything=True)
    assert db_session.get(SilenceRow, s.id) is not None


def test_a_series_wavering_around_the_band_edge_raises_one_alert_not_a_stream(fresh_database_url: str,
                                                                            smtp_server: SmtpServer):
    factory = _factory(fresh_database_url)
    _place, _people, sids, _ = _setup(factory)
    opened: list[int] = []
    # A day of cycles alternating between normal and 12 % low, noise 2 %: a borderline series.
    for c in range(24):
        factor = 0.88 if (c // 2) % 2 else 1.0
        opened += _cycle(factory, sids, HISTORY + c * CYCLE, factor, seed=50 + c).opened
    with factory() as s:
        n_alerts = s.scalar(select(func.count()).select_from(Alert))
        changes = s.scalar(select(func.count()).select_from(AlertEvent).where(
            AlertEvent.kind.in_(["level_raised", "level_lowered", "signal_recurred"])))
    assert len(opened) <= 1 and n_alerts == len(opened)
    assert (changes or 0) <= 6


def test_an_episode_that_comes_back_before_the_alert_is_closed_reuses_the_alert(fresh_database_url: str,
                                                                              smtp_server: SmtpServer):
    factory = _factory(fresh_database_url)
    _place, _people, sids, _ = _setup(factory)
    first = _cycle(factory, sids, HISTORY, 0.4, seed=3).opened
    assert len(first) == 1
    # Back to normal for six hours: the signal ends, the alert (red) stays for a person to close.
    for c in range(1, 7):
        _cycle(factory, sids, HISTORY + c * CYCLE, 1.0, seed=20 + c)
    with factory() as s:
        a = s.get(Alert, first[0])
        assert a is not None and a.signal_ended_at is not None and a.state == "open"
    again = [x for c in range(7, 9) for x in _cycle(factory, sids, HISTORY + c * CYCLE, 0.3, seed=40 + c).opened]
    assert again == []
    with factory() as s:
        a = s.get(Alert, first[0])
        assert a is not None and a.signal_ended_at is None
        kinds = [e.kind for e in alerts_repo.events(s, a.id)]
        assert "signal_ended" in kinds and "signal_recurred" in kinds
        assert s.scalar(select(func.count()).select_from(Alert)) == 1


def test_a_meter_that_stops_reporting_raises_one_missing_data_alert_until_it_reports_again(
        fresh_database_url: str, smtp_server: SmtpServer, output_dir: Path):
    factory = _factory(fresh_database_url)
    _place, _people, sids, _ = _setup(factory)
    last = START + (HISTORY - 1) * STEP
    with transaction(factory) as s:
        assert service.check_missing(s, last + timedelta(minutes=70)) == []  # deadline: +15 min +1 h grace
        opened = service.check_missing(s, last + timedelta(hours=2))
        assert len(opened) == 1
        assert service.check_missing(s, last + timedelta(hours=3)) == []  # one alert, not one per run
        a = s.get(Alert, opened[0])
        assert a is not None and a.checks == ["missing"] and a.explanation_zh.startswith("未按时报送")
        assert a.level == "orange"  # a key enterprise's meter
    # The mail shows the last reports and the silence since (there are no scored points to draw).
    sent_at = last + timedelta(hours=2, minutes=30)  # before the next step (60 min unacknowledged)
    with transaction(factory) as s:
        service.run_escalations(s, sent_at)  # the first step: the duty officer and the section chief
    notifications_service.dispatch_due(factory, dispatch_config(smtp_server.port), sent_at)
    zh = smtp_server.to("chief@wuhai.example")[0]
    assert "未按时报送" in zh["Subject"]
    images = [p for p in zh.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0].get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    html = zh.get_body(("html",)).get_content()
    assert 'src="cid:episode-chart"' in html and "此后未报送" in html
    (output_dir / "missing-report-chart.png").write_bytes(images[0].get_content())
    (output_dir / "missing-report-email-zh.html").write_text(
        html.replace("cid:episode-chart", "missing-report-chart.png"), "utf-8")
    with factory() as s:
        a = s.get(Alert, opened[0])
        assert a is not None
        data = service.chart_data(s, a, sent_at)
        assert data is not None and data.gap == (last, sent_at)
        assert data.times[-1] == last and len(data.times) == service.MISSING_CHART_POINTS
        assert all(e is None for e in data.expected)
    # Reports resume (normal values): the missing-data signal ends, the alert waits for a person.
    # (Stored but not yet scored is not missing: see the restart test below.)
    _cycle(factory, sids, HISTORY + 8, 1.0, seed=5)
    with factory() as s:
        a = s.get(Alert, opened[0])
        assert a is not None and a.signal_ended_at is not None and a.state == "open"
        # The silence on the chart now ends at the first report after it.
        data = service.chart_data(s, a, sent_at + timedelta(days=1))
        assert data is not None and data.gap == (last, START + (HISTORY + 8) * STEP)
        assert data.times[-1] > data.gap[1]


def test_a_silence_found_at_a_restart_stays_open_when_the_reports_from_before_it_are_scored(
        fresh_database_url: str, smtp_server: SmtpServer):
    """Found live on the demo: stopped with a report stored but not yet scored, restarted two
    hours later. The missing-report check ran first and opened an alert; then the evaluation
    scored the old report, took it for "reports resumed", ended the signal and (blue) closed
    the alert, and a minute later a second alert opened for the same silence. The old report
    must leave the alert as it is; the first report after the silence ends it."""
    factory = _factory(fresh_database_url)
    _place, _people, sids, _ = _setup(factory)
    last = START + HISTORY * STEP  # stored, not scored, then nothing
    with transaction(factory) as s:
        write(s, values(sids[0], last, 1, seed=3))
    restart = last + timedelta(hours=2)
    with transaction(factory) as s:
        opened = service.check_missing(s, restart)
        assert len(opened) == 1
        service.evaluate(s, restart, series_ids=sids)  # scores the report from before the silence
        a = s.get(Alert, opened[0])
        assert a is not None and a.signal_ended_at is None and a.state == "open"
        assert service.check_missing(s, restart + timedelta(minutes=1)) == []  # still the one alert
        assert s.scalar(select(func.count()).select_from(Alert)) == 1
    back = last + 9 * STEP
    with transaction(factory) as s:
        write(s, values(sids[0], back, 4, seed=4))
        service.evaluate(s, back + 4 * STEP, series_ids=sids)
        a = s.get(Alert, opened[0])
        assert a is not None and a.signal_ended_at == back


def test_points_stored_but_not_yet_scored_are_not_missing_after_a_restart(
        fresh_database_url: str, smtp_server: SmtpServer):
    """After a restart the data stored while scoring was behind must not raise 缺报 alerts."""
    factory = _factory(fresh_database_url)
    _place, _people, sids, _ = _setup(factory)
    last = START + (HISTORY - 1) * STEP
    later = [last + k * STEP for k in range(1, 9)]  # two hours stored, not scored
    with transaction(factory) as s:
        obs_repo.write_observations(s, [obs_repo.ObservationRow(sid, t, 100.0, "test") for sid in sids
                                        for t in later], "observation", "Asia/Shanghai")
    with transaction(factory) as s:
        assert service.check_missing(s, later[-1] + timedelta(minutes=30)) == []
        assert len(service.check_missing(s, later[-1] + timedelta(hours=2))) == 1  # then it is late

