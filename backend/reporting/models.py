"""Enterprise direct reporting (企业直报): report periods and their deadlines, submissions
(one per push or upload), the values each carried and review flags. Rejected rows go to
the shared quarantine (`ingest_quarantine`, backend/ingestion), tagged with the submission.

The values themselves are stored in `period_observation` through the observations write
path; `report_item` keeps what was submitted when, which is what completeness (已报 / 迟报)
is judged on."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base


class ReportPeriod(Base):
    """A reporting month whose deadline differs from the default (the Nth of the next month)."""

    __tablename__ = "report_period"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # the 1st of the month reported on
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ReportSubmission(Base):
    __tablename__ = "report_submission"
    __table_args__ = (Index("ix_report_submission_month", "month", "enterprise_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    month: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(16))  # api | upload
    submitted_by: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    status: Mapped[str] = mapped_column(String(16))  # accepted | flagged | rejected
    file_name: Mapped[str | None] = mapped_column(Text)
    items: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)


class ReportItem(Base):
    __tablename__ = "report_item"
    __table_args__ = (Index("ix_report_item_month", "month", "enterprise_id", "indicator_code"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("report_submission.id", ondelete="CASCADE"), index=True)
    enterprise_id: Mapped[int] = mapped_column(Integer)
    month: Mapped[date] = mapped_column(Date)
    indicator_code: Mapped[str] = mapped_column(ForeignKey("indicator.code"))
    value: Mapped[float] = mapped_column(Double)  # in the indicator's storage unit
    value_submitted: Mapped[float] = mapped_column(Double)
    unit_submitted: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ReportFlag(Base):
    """A value accepted but to be reviewed (环比 jump, mismatch with electricity use ...)."""

    __tablename__ = "report_flag"
    __table_args__ = (UniqueConstraint("enterprise_id", "month", "indicator_code", "rule"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("report_submission.id", ondelete="CASCADE"), index=True)
    enterprise_id: Mapped[int] = mapped_column(Integer)
    month: Mapped[date] = mapped_column(Date)
    indicator_code: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | confirmed | dismissed | cleared
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(Text)
