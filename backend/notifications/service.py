"""Notifications through an outbox: writing them (in the caller's transaction) and sending
them (the dispatcher, in its own process/job; never inside an API request).

Writing: one `notification` row per recipient and reason, with a unique dedup key, so an
evaluation or escalation run that is repeated writes nothing twice. A row for an alert
covered by a silence is written as ``suppressed`` (the record shows what was not sent, and
why); the alert itself exists as usual.

Sending (`dispatch_due`): claim due rows with FOR UPDATE SKIP LOCKED and mark them
``sending`` (committed), render the message once (stored on the row, so a retry sends the
same bytes with the same Message-ID), send over SMTP, then record ``sent``; a temporary
failure puts the row back to ``pending`` with exponential backoff, a permanent one (or too
many attempts) records ``failed`` with the error. After a temporary failure the rest of the
batch goes back untried (one timeout per round, not one per message). A dispatcher that dies mid-send leaves the
row ``sending``; after the lease it is claimed again (at-least-once; the stable Message-ID
lets mail systems drop the rare duplicate).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session, sessionmaker

from backend.alerts import repository as alerts_repo
from backend.alerts.levels import LEVEL_HEX, Level
from backend.alerts.models import Alert
from backend.alerts.silences import Target, first_covering
from backend.db import transaction
from backend.notifications import chart, render, smtp
from backend.notifications import recipients as rcpt
from backend.notifications import repository as repo
from backend.notifications.models import Notification

log = logging.getLogger("yunjian.notifications")


# --- writing -------------------------------------------------------------------------------------
_IND_SQL = sql_text(
    "SELECT i.name_zh, i.name_en, u.name_zh, u.name_en, i.frequency FROM indicator i JOIN unit u ON u.code = i.unit_code "
    "WHERE i.code = :c")


def alert_context(session: Session, alert: Alert, kind: str, now: datetime, **extra: Any) -> dict[str, Any]:
    """Everything an e-mail about ``alert`` says, as it stands now (JSON-able)."""
    districts, parks = alerts_repo.names(session)
    meta = alerts_repo.series_meta(session, [alert.series_id], now.date()).get(alert.series_id) \
        if alert.series_id is not None else None
    ind = session.execute(_IND_SQL, {"c": alert.indicator_code}).one()
    c: dict[str, Any] = {
        "alert_id": alert.id, "kind": kind, "level": alert.level, "state": alert.state, "is_group": alert.is_group,
        "indicator_zh": ind[0], "indicator_en": ind[1], "unit_zh": ind[2], "unit_en": ind[3], "frequency": ind[4],
        "district_zh": districts.get(alert.district_id, (None, None))[0] if alert.district_id else None,
        "district_en": districts.get(alert.district_id, (None, None))[1] if alert.district_id else None,
        "park_zh": parks.get(alert.park_id, (None, None))[0] if alert.park_id else None,
        "park_en": parks.get(alert.park_id, (None, None))[1] if alert.park_id else None,
        "enterprise_zh": meta.entity_zh if meta and meta.entity_kind == "enterprise" else None,
        "enterprise_en": meta.entity_en if meta and meta.entity_kind == "enterprise" else None,
        "value": alert.value, "expected": alert.expected, "lower": alert.lower, "upper": alert.upper,
        "checks": list(alert.checks or []), "explanation_zh": alert.explanation_zh,
        "explanation_en": alert.explanation_en,
        "episode_started_at": alert.episode_started_at.isoformat(), "opened_at": alert.opened_at.isoformat(),
        "due_at": alert.due_at.isoformat() if alert.due_at else None,
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        "countermeasures": alert.countermeasures, "close_reason": alert.close_reason,
        "series_id": alert.series_id,
        "last_point_at": alert.last_point_at.isoformat() if alert.last_point_at else None,
    }
    if kind in ("escalation", "resolved"):
        c.update(_last_actor(session, alert.id, ("escalated",) if kind == "escalation" else ("resolved", "false_alarm")))
    if alert.is_group:
        members = alerts_repo.members(session, alert.id)
        metas = alerts_repo.series_meta(session, [m.series_id for m in members if m.series_id], now.date())
        c["members"] = [{"alert_id": m.id, "level": m.level,
                         "name_zh": metas[m.series_id].entity_zh if m.series_id in metas else f"#{m.id}",
                         "name_en": metas[m.series_id].entity_en if m.series_id in metas else f"#{m.id}"}
                        for m in members]
    c.update(extra)
    return c


_ACTOR_SQL = sql_text(
    "SELECT e.actor_user_id, u.display_name FROM alert_event e LEFT JOIN app_user u ON u.id = e.actor_user_id "
    "WHERE e.alert_id = :a AND e.kind = ANY(:k) ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1")


def _last_actor(session: Session, alert_id: int, kinds: Sequence[str]) -> dict[str, str]:
    """Who escalated or closed the alert (the latest such timeline entry): a person, or the system."""
    session.flush()  # the caller has just added the timeline entry (sessions do not autoflush)
    row = session.execute(_ACTOR_SQL, {"a": alert_id, "k": list(kinds)}).first()
    if row is None:
        return {}
    if row[0] is None:
        return {"actor_zh": "系统自动", "actor_en": "the system (automatic)"}
    return {"actor_zh": row[1] or "—", "actor_en": row[1] or "—"}


def _silenced(session: Session, alert: Alert, now: datetime) -> int | None:
    from backend.alerts.service import _windows

    windows = _windows(alerts_repo.active_silences(session, now, "silence"))
    target = Target(alert.indicator_code, alert.entity_kind, alert.entity_id, alert.district_id, alert.park_id)
    w = first_covering(windows, target, now, "silence")
    return w.id if w else None


def enqueue_for_alert(session: Session, alert: Alert, positions: Sequence[str], *, kind: str, key: str,
                      now: datetime, reason: str | None = None) -> int:
    """Write one notification per recipient holding one of ``positions``; returns how many are new."""
    chosen = rcpt.select(repo.recipients(session), positions, alert.district_id, Level.parse(alert.level))
    if not chosen:
        log.warning("alert %s (%s): no enabled contact holds %s for its district and level; no e-mail written",
                    alert.id, kind, ", ".join(positions))
        return 0
    silence = _silenced(session, alert, now)
    ctx = alert_context(session, alert, kind, now, targets=list(positions), reason=reason)
    rows = [_row(f"{kind}:{alert.id}:{key}:{r.user_id}", kind, alert.id, r, ctx, now,
                 f"{key} → {', '.join(positions)}", silence) for r in chosen]
    return repo.insert_notifications(session, rows)


def enqueue_resolved(session: Session, alert: Alert, now: datetime) -> int:
    """Tell everyone who was told about the alert that it is closed, and how."""
    told = repo.notified_users(session, alert.id)
    if not told:
        return 0
    ctx = alert_context(session, alert, "resolved", now)
    silence = _silenced(session, alert, now)
    rows = []
    for user_id, email, language in told:
        r = rcpt.Recipient(user_id or 0, "", "", "", None, email, language, None, "blue", False)
        rows.append(_row(f"resolved:{alert.id}:{user_id or email}", "resolved", alert.id, r, ctx, now,
                         "alert closed", silence, user_id=user_id))
    return repo.insert_notifications(session, rows)


def _row(dedup: str, kind: str, alert_id: int | None, r: rcpt.Recipient, ctx: dict[str, Any], now: datetime,
         reason: str, silence: int | None, user_id: int | None = -1) -> dict[str, Any]:
    return {"dedup_key": dedup, "kind": kind, "alert_id": alert_id,
            "user_id": r.user_id if user_id == -1 else user_id, "email": r.email,
            "language": r.language if r.language in ("zh", "en") else "zh", "reason": reason, "context": ctx,
            "status": "suppressed" if silence else "pending", "next_attempt_at": now,
            "last_error": f"silenced by silence #{silence}" if silence else None}


def enqueue_digests(session: Session, now: datetime, tz: ZoneInfo, digest_hour: int) -> int:
    """Once a day after ``digest_hour`` (local), the open-alert digest to each digest recipient."""
    local = now.astimezone(tz)
    if local.hour < digest_hour:
        return 0
    chosen = rcpt.digest_recipients(repo.recipients(session))
    if not chosen:
        return 0
    day = local.date().isoformat()
    alerts = alerts_repo.open_alerts_for_digest(session)
    districts, _parks = alerts_repo.names(session)
    rows = []
    for r in chosen:
        visible = [a for a in alerts if r.district_id is None or a.district_id == r.district_id]
        ctx = digest_context(session, visible, districts, now, day, r.language, scope=r.district_id)
        rows.append(_row(f"digest:{day}:{r.user_id}", "digest", None, r, ctx, now, "daily digest", None))
    return repo.insert_notifications(session, rows)


def digest_context(session: Session, alerts: Sequence[Alert], districts: dict[int, tuple[str, str]],
                   now: datetime, day: str, language: str, scope: int | None = None) -> dict[str, Any]:
    """The digest of these alerts. Its table has a row for every district the recipient
    oversees (`scope`: one district, or None for all), quiet ones too ("无"), and one for
    city-level alerts when there are any."""
    en = language == "en"
    city = ("City-wide", "市级") if en else ("市级", "City-wide")

    def dname(a: Alert) -> str:
        if a.district_id is None or a.district_id not in districts:
            return city[0]
        zh, eng = districts[a.district_id]
        return eng if en else zh

    counts: Counter[str] = Counter(f"{dname(a)}|{a.level}|{a.state}" for a in alerts)
    series_ids = [a.series_id for a in alerts if a.series_id is not None]
    metas = alerts_repo.series_meta(session, series_ids, now.date())
    ind = {code: (zh, eng) for code, zh, eng in session.execute(
        sql_text("SELECT code, name_zh, name_en FROM indicator"))}

    def title(a: Alert, lang_en: bool) -> str:
        m = metas.get(a.series_id) if a.series_id is not None else None
        who = (m.entity_en if lang_en else m.entity_zh) if m else (dname(a) + (" park group" if lang_en else " 园区"))
        what = ind.get(a.indicator_code, (a.indicator_code, a.indicator_code))[1 if lang_en else 0]
        return f"{who} {what}"

    items: list[dict[str, Any]] = []
    for a in alerts:
        od = a.due_at is not None and now > a.due_at
        zh_name, en_name = districts.get(a.district_id, ("市级", "City-wide")) if a.district_id else ("市级", "City-wide")
        items.append({"id": a.id, "level": a.level, "state": a.state, "overdue": od,
                      "due_at": a.due_at.isoformat() if a.due_at else None,
                      "title_zh": title(a, False), "title_en": title(a, True),
                      "district_zh": zh_name, "district_en": en_name, "checks": list(a.checks or [])})
    items.sort(key=lambda it: (not it["overdue"], -Level.parse(it["level"]), it["due_at"] or "", it["id"]))
    names = [(eng if en else zh) for did, (zh, eng) in sorted(districts.items()) if scope is None or did == scope]
    rows = names + sorted({dname(a) for a in alerts} - set(names))
    return {"date": day, "districts": rows, "counts": dict(counts),
            "total": len(alerts), "overdue": sum(1 for it in items if it["overdue"]), "items": items}


# --- sending -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DispatchConfig:
    smtp: smtp.SmtpConfig
    sender: str
    dashboard_base_url: str
    tz: ZoneInfo
    batch: int = 50
    lease: timedelta = timedelta(minutes=5)
    max_attempts: int = 12
    backoff_base_s: float = 30.0
    backoff_cap_s: float = 1800.0


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)  # not tried: the server had just failed


def link(base: str, alert_id: int) -> str:
    return f"{base.rstrip('/')}/alerts/{alert_id}"


def render_row(session: Session, n: Notification, cfg: DispatchConfig, now: datetime | None = None) -> None:
    """Fill subject, bodies and chart of an outbox row (once; retries reuse them)."""
    from backend.alerts import service as alerts_service

    ctx = dict(n.context)
    if n.kind == "digest":
        for it in ctx.get("items", []):
            it["link"] = link(cfg.dashboard_base_url, it["id"])
        ctx["list_link"] = f"{cfg.dashboard_base_url.rstrip('/')}/alerts"
        n.subject, n.body_text, n.body_html = render.render_digest(ctx, n.language, cfg.tz)
        return
    ctx["link"] = link(cfg.dashboard_base_url, ctx["alert_id"])
    png = None
    alert = alerts_repo.get_alert(session, ctx["alert_id"])
    data = alerts_service.chart_data(session, alert, now or datetime.now(UTC)) if alert is not None else None
    if data is not None:
        png = chart.render_png(data.times, data.values, data.expected, data.lower, data.upper, data.episode_start,
                               LEVEL_HEX[Level.parse(ctx["level"])], cfg.tz,
                               unit=ctx.get("unit_en" if n.language == "en" else "unit_zh") or "", lang=n.language,
                               gap=data.gap)
    n.subject, n.body_text, n.body_html = render.render_alert(ctx, n.language, cfg.tz, png is not None,
                                                              stopped=data is not None and data.gap is not None)
    n.chart_png = png


def build_message(n: Notification, cfg: DispatchConfig, now: datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = cfg.sender
    msg["To"] = n.email
    msg["Subject"] = n.subject or ""
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = n.message_id or make_msgid()
    msg["X-Yunjian-Notification"] = str(n.id)
    if n.alert_id is not None:
        msg["X-Yunjian-Alert"] = str(n.alert_id)
    msg.set_content(n.body_text or "")
    msg.add_alternative(n.body_html or "", subtype="html")
    if n.chart_png:
        for part in msg.iter_parts():
            if part.get_content_type() == "text/html":
                part.add_related(n.chart_png, maintype="image", subtype="png", cid=f"<{render.CHART_CID}>",
                                 filename="chart.png")
    return msg


def dispatch_due(factory: sessionmaker[Session], cfg: DispatchConfig, now: datetime | Callable[[], datetime]
                 ) -> DispatchReport:
    """Send every notification that is due; each row in its own small transactions."""
    clock = now if callable(now) else (lambda: now)
    report = DispatchReport()
    while True:
        t = clock()
        with transaction(factory) as s:
            rows = repo.claim(s, t, cfg.batch, cfg.lease)
            todo: list[tuple[int, EmailMessage, int]] = []
            for n in rows:
                if n.subject is None:
                    render_row(s, n, cfg, t)
                if n.message_id is None:
                    domain = cfg.sender.rsplit("@", 1)[-1].rstrip(">") or "yunjian.local"
                    n.message_id = f"<yunjian-notification-{n.id}@{domain}>"
                n.status, n.claimed_at, n.attempts = "sending", t, n.attempts + 1
                todo.append((n.id, build_message(n, cfg, t), n.attempts))
        if not todo:
            return report
        report.claimed += len(todo)
        server_down_until: datetime | None = None
        for nid, msg, attempts in todo:
            if server_down_until is not None:
                # The server just failed temporarily: do not wait out one timeout per message;
                # put the rest back, untried, for the same time as the failed one.
                with transaction(factory) as s:
                    row = repo.get(s, nid)
                    assert row is not None
                    row.status, row.attempts, row.next_attempt_at = "pending", attempts - 1, server_down_until
                report.deferred.append(nid)
                continue
            error: smtp.DeliveryError | None = None
            try:
                smtp.send(cfg.smtp, msg)
            except smtp.DeliveryError as exc:
                error = exc
            t = clock()
            with transaction(factory) as s:
                row = repo.get(s, nid)
                assert row is not None
                if error is None:
                    row.status, row.sent_at, row.last_error = "sent", t, None
                    report.sent.append(nid)
                elif error.permanent or attempts >= cfg.max_attempts:
                    row.status, row.last_error = "failed", str(error)[:2000]
                    report.failed.append(nid)
                    log.warning("notification %s failed for good: %s", nid, error)
                else:
                    row.status, row.last_error = "pending", str(error)[:2000]
                    row.next_attempt_at = t + timedelta(
                        seconds=smtp.backoff_seconds(attempts, cfg.backoff_base_s, cfg.backoff_cap_s))
                    report.retry.append(nid)
                    server_down_until = row.next_attempt_at
        if len(todo) < cfg.batch or report.retry or report.failed:
            # Done, or the server is failing: the backoff decides when the next attempt is.
            return report


def config_from_settings(settings: Any) -> DispatchConfig:
    """The dispatcher's configuration from Settings (SMTP server, sender, dashboard links)."""
    return DispatchConfig(
        smtp=smtp.SmtpConfig(host=settings.smtp_host, port=settings.smtp_port, security=settings.smtp_security,
                             username=settings.smtp_username, password=settings.smtp_password,
                             timeout_s=settings.smtp_timeout_s),
        sender=settings.smtp_from, dashboard_base_url=settings.dashboard_base_url, tz=settings.tz)
