"""Alerts: one row per episode of a series (or per park group), its timeline, the detector
and episode state per series, silences and maintenance windows, rules and escalation policies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    DateTime,
    Double,
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

ACTIVE_STATES_SQL = "state IN ('open', 'acknowledged', 'escalated')"


class SeriesState(Base):
    """Per series: how far it has been scored, the detector's state and the episode tracker."""

    __tablename__ = "alert_series_state"

    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), primary_key=True)
    scored_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    points: Mapped[int] = mapped_column(BigInteger, server_default="0")
    detector_layout: Mapped[str | None] = mapped_column(String(64))
    detector_state: Mapped[bytes | None] = mapped_column(LargeBinary)
    tracker: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    alert_id: Mapped[int | None] = mapped_column(BigInteger)  # the alert of the current episode
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # The first point the detector state learned from (migration 0008); NULL for older states.
    learned_from: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True),
        comment="The first point the current detector state learned from (NULL: before migration 0008)")


class Alert(Base):
    __tablename__ = "alert"
    __table_args__ = (
        # One active alert per series: a continuing episode never raises a duplicate.
        Index("uq_alert_series_id_active", "series_id", unique=True, postgresql_where=text(ACTIVE_STATES_SQL)),
        Index("uq_alert_group_active", "park_id", "indicator_code", unique=True,
              postgresql_where=text(f"is_group AND {ACTIVE_STATES_SQL}")),
        Index("ix_alert_state_level", "state", "level"),
        Index("ix_alert_district_id", "district_id"),
        Index("ix_alert_parent_id", "parent_id"),
        Index("ix_alert_opened_at", "opened_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id", ondelete="SET NULL"))
    is_group: Mapped[bool] = mapped_column(Boolean, server_default="false")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id", ondelete="SET NULL"))
    indicator_code: Mapped[str] = mapped_column(ForeignKey("indicator.code"))
    entity_kind: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(Integer)
    district_id: Mapped[int | None] = mapped_column(Integer)
    park_id: Mapped[int | None] = mapped_column(Integer)
    enterprise_id: Mapped[int | None] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(8))
    peak_level: Mapped[str] = mapped_column(String(8))
    level_since: Mapped[datetime] = mapped_column("level_since_at", DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(16), server_default="open")
    episode_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_point_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signal_ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    value: Mapped[float | None] = mapped_column(Double)
    expected: Mapped[float | None] = mapped_column(Double)
    lower: Mapped[float | None] = mapped_column(Double)
    upper: Mapped[float | None] = mapped_column(Double)
    severity: Mapped[float] = mapped_column(Double, server_default="0")
    importance: Mapped[float] = mapped_column(Double, server_default="1")
    checks: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    explanation_zh: Mapped[str] = mapped_column(Text, server_default="")
    explanation_en: Mapped[str] = mapped_column(Text, server_default="")
    department: Mapped[str | None] = mapped_column(Text)
    assignee_user_id: Mapped[int | None] = mapped_column(Integer)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[int | None] = mapped_column(Integer)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[int | None] = mapped_column(Integer)
    countermeasures: Mapped[str | None] = mapped_column(Text)
    close_reason: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    silenced_by: Mapped[int | None] = mapped_column(BigInteger)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AlertEvent(Base):
    """The timeline: every change to an alert, by whom (NULL user: the system), and why."""

    __tablename__ = "alert_event"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column("occurred_at", DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(32))
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(Text)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    level: Mapped[str | None] = mapped_column(String(8))
    text: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")


class AlertPoint(Base):
    """The series around an alert with its expected band, for charts (kept with the alert)."""

    __tablename__ = "alert_point"

    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"), primary_key=True)
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    value: Mapped[float] = mapped_column(Double)
    expected: Mapped[float | None] = mapped_column(Double)
    lower: Mapped[float | None] = mapped_column(Double)
    upper: Mapped[float | None] = mapped_column(Double)
    severity: Mapped[float] = mapped_column(Double)


class Silence(Base):
    """A silence (mail suppressed; alerts still raised) or a maintenance window (no alerts)."""

    __tablename__ = "alert_silence"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), server_default="silence")  # silence | maintenance
    indicator_code: Mapped[str | None] = mapped_column(String(64))
    entity_kind: Mapped[str | None] = mapped_column(String(16))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    district_id: Mapped[int | None] = mapped_column(Integer)
    park_id: Mapped[int | None] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Rule(Base):
    """A rule for an indicator (optionally one entity): threshold, 同比 or target limits, and
    the importance weight of that indicator/entity."""

    __tablename__ = "alert_rule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    indicator_code: Mapped[str] = mapped_column(ForeignKey("indicator.code"))
    entity_kind: Mapped[str | None] = mapped_column(String(16))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # threshold | yoy | target | importance
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    importance: Mapped[float | None] = mapped_column(Double)
    enabled: Mapped[bool] = mapped_column(Boolean, server_default="true")
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class EscalationPolicy(Base):
    """Overrides the default escalation policy of one level."""

    __tablename__ = "alert_escalation_policy"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[str] = mapped_column(String(8), unique=True)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    resolve_within_hours: Mapped[float] = mapped_column(Double)
    updated_by: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class EscalationFired(Base):
    """An escalation step that has fired for an alert (each fires once)."""

    __tablename__ = "alert_escalation_fired"

    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"), primary_key=True)
    step_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    fired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
