"""SQL for notification contacts and the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from backend.notifications.models import Contact, Notification
from backend.notifications.recipients import Recipient


def recipients(session: Session) -> list[Recipient]:
    rows = session.execute(text("""
        SELECT u.id, u.username, u.display_name, u.role, u.district_id, c.email, c.language, c.position,
               c.min_level, c.daily_digest, (u.is_active AND c.enabled)
        FROM notification_contact c JOIN app_user u ON u.id = c.user_id ORDER BY u.id"""))
    return [Recipient(*r) for r in rows]


def upsert_contact(session: Session, values: dict[str, Any]) -> None:
    stmt = insert(Contact).values(**values)
    session.execute(stmt.on_conflict_do_update(
        index_elements=[Contact.user_id],
        set_={k: stmt.excluded[k] for k in values if k != "user_id"}))


def get_contact(session: Session, user_id: int) -> Contact | None:
    return session.get(Contact, user_id)


def insert_notifications(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Outbox rows; one with a dedup_key already written is skipped. Returns how many were new."""
    if not rows:
        return 0
    res = session.execute(insert(Notification).values(list(rows)).on_conflict_do_nothing(
        index_elements=[Notification.dedup_key]).returning(Notification.id))
    return len(res.all())


def claim(session: Session, now: datetime, limit: int, lease: timedelta) -> list[Notification]:
    """Rows due for (re)sending, locked so no other dispatcher takes them: pending ones whose
    time has come, and ones left 'sending' by a dispatcher that died (lease expired)."""
    q = (select(Notification)
         .where(or_((Notification.status == "pending") & (Notification.next_attempt_at <= now),
                    (Notification.status == "sending") & (Notification.claimed_at < now - lease)))
         .order_by(Notification.next_attempt_at, Notification.id).limit(limit)
         .with_for_update(skip_locked=True))
    return list(session.scalars(q))


def get(session: Session, notification_id: int) -> Notification | None:
    return session.get(Notification, notification_id)


def notified_users(session: Session, alert_id: int) -> list[tuple[int | None, str, str]]:
    """(user_id, email, language) of everyone told about this alert (not suppressed)."""
    rows = session.execute(select(Notification.user_id, Notification.email, Notification.language)
                           .where(Notification.alert_id == alert_id, Notification.kind != "resolved",
                                  Notification.status != "suppressed")
                           .distinct())
    return [(u, e, lang) for u, e, lang in rows]


def for_alert(session: Session, alert_id: int) -> list[Notification]:
    return list(session.scalars(select(Notification).where(Notification.alert_id == alert_id)
                                .order_by(Notification.id)))


def counts_by_status(session: Session) -> dict[str, int]:
    return {s: n for s, n in session.execute(text("SELECT status, count(*) FROM notification GROUP BY status"))}
