"""Ingest state: per-source status and watermark, leases, job runs, quarantined rows.

- `IngestSource`: one row per upstream source: its watermark (fetched up to here), the
  newest data time stored, last success and error, running totals, the worker's heartbeat.
- `IngestLease`: who may run a source right now. A worker claims it with an UPDATE that only
  succeeds when the lease is free or expired, so two ingest processes never run the same
  source at once; the store transaction re-checks it (a fencing check) before writing.
- `IngestJobRun`: one row per attempt of a scheduled or backfill run, with its outcome.
- `QuarantineRow`: every rejected input row with its reason and raw content. Generic: used by
  the scheduled sources, direct reporting and the statistics importer alike. The same raw
  content with the same reason from the same source is kept once (seen_count counts repeats).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base

QUARANTINE_STATUSES = ("open", "resolved", "dismissed")
RUN_STATUSES = ("running", "ok", "failed", "skipped")


class IngestSource(Base):
    __tablename__ = "ingest_source"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    family: Mapped[str] = mapped_column(String(16))
    title_zh: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    interval_s: Mapped[int] = mapped_column(Integer)
    expected_lag_s: Mapped[int] = mapped_column(Integer)  # lag beyond this (x2) counts as late
    watermark_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    latest_data_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    rows_stored: Mapped[int] = mapped_column(BigInteger, default=0)  # inserted + corrected, all time
    rows_rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    last_rows_stored: Mapped[int] = mapped_column(Integer, default=0)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class IngestLease(Base):
    __tablename__ = "ingest_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(Text)
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IngestJobRun(Base):
    __tablename__ = "ingest_job_run"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source_name: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # scheduled | backfill
    holder: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # running | ok | failed | skipped
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    window_start_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    window_end_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rows_received: Mapped[int] = mapped_column(Integer, default=0)
    rows_stored: Mapped[int] = mapped_column(Integer, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # store attempts (retried on a lost connection)
    error: Mapped[str | None] = mapped_column(Text)


class QuarantineRow(Base):
    __tablename__ = "ingest_quarantine"
    __table_args__ = (UniqueConstraint("source_name", "content_hash"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source_name: Mapped[str] = mapped_column(String(64))
    batch_id: Mapped[str] = mapped_column(String(64))
    raw_text: Mapped[str] = mapped_column(Text)
    raw_json: Mapped[Any | None] = mapped_column(JSONB)
    reason: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))  # sha256 of reason and raw_text
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seen_count: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed_by: Mapped[str | None] = mapped_column(Text)
    review_note: Mapped[str | None] = mapped_column(Text)
