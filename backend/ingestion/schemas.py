"""API shapes for ingest status and the quarantine."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.api.types import AwareInstant, Number


class SourceStatusOut(BaseModel):
    """One upstream source: how fresh its data is and how its last runs went."""

    name: str = Field(examples=["power_metering"])
    family: str = Field(examples=["power"])
    title_zh: str = Field(examples=["电力公司计量系统：企业15分钟用电量"])
    title_en: str
    state: str = Field(description="ok | late | failing | never", examples=["ok"])
    interval_s: int
    expected_lag_s: int
    lag_s: float | None = Field(description="Seconds between now and the newest data time stored.")
    watermark_at: datetime | None
    latest_data_at: datetime | None
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    rows_stored: int
    rows_rejected: int
    last_rows_stored: int
    heartbeat_at: datetime | None


class JobRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    source_name: str
    kind: str
    holder: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    window_start_at: datetime | None
    window_end_at: datetime | None
    rows_received: int
    rows_stored: int
    rows_unchanged: int
    rows_rejected: int
    attempts: int
    error: str | None


class QuarantineOut(BaseModel):
    """A rejected input row: where it came from, why, and its raw content."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    source_name: str
    batch_id: str
    reason: str = Field(examples=["数值无法解析 / value is not a number: 'N/A'"])
    raw_text: str
    raw_json: Any | None
    received_at: datetime
    last_seen_at: datetime
    seen_count: int
    status: str = Field(description="open | resolved | dismissed")
    reviewed_at: datetime | None
    reviewed_by: str | None
    review_note: str | None


class QuarantineReviewIn(BaseModel):
    """A review decision on a quarantined row."""

    status: Literal["open", "resolved", "dismissed"] = Field(
        description="resolved (fixed or no longer relevant), dismissed (not worth fixing), open (reopen)")
    note: str | None = Field(default=None, max_length=2000)


class QuarantineResubmitIn(BaseModel):
    """A corrected version of a quarantined row, stored under the row's source."""

    indicator: str = Field(max_length=64, examples=["power.consumption"])
    entity_kind: Literal["city", "district", "park", "enterprise"]
    entity_code: str = Field(default="", max_length=32, description="USCC, district or park code; empty for the city")
    time: AwareInstant = Field(description="start of the period, with its UTC offset")
    value: Number = Field(ge=0, allow_inf_nan=False)
    unit: str = Field(max_length=32, examples=["kWh", "万吨"])
    note: str | None = Field(default=None, max_length=2000)


class QuarantineResubmitOut(BaseModel):
    row: QuarantineOut
    inserted: int
    updated: int = Field(description="1 when the correction replaced a stored value (kept as a revision)")
