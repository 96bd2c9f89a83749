"""Notification contacts (how a user is reached) and the outbox of notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base


class Contact(Base):
    """How and when a user is told: e-mail, language, position, lowest level, daily digest."""

    __tablename__ = "notification_contact"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # app_user.id (no FK: see 0005)
    email: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2), server_default="zh")  # zh | en
    # duty_officer | section_chief | bureau_leader | city_leader (see alerts.escalation)
    position: Mapped[str | None] = mapped_column(String(32))
    min_level: Mapped[str] = mapped_column(String(8), server_default="blue")
    daily_digest: Mapped[bool] = mapped_column(Boolean, server_default="false")
    enabled: Mapped[bool] = mapped_column(Boolean, server_default="true")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Notification(Base):
    """One message to one recipient, written before it is sent (the outbox)."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_due", "next_attempt_at", postgresql_where=text("status IN ('pending', 'sending')")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # alert | escalation | resolved | digest
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id", ondelete="SET NULL"), index=True)
    user_id: Mapped[int | None] = mapped_column(Integer)
    email: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2))
    reason: Mapped[str] = mapped_column(Text, server_default="")
    context: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    subject: Mapped[str | None] = mapped_column(Text)
    body_text: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    chart_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    message_id: Mapped[str | None] = mapped_column(Text)
    # pending | sending | sent | failed | suppressed
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
