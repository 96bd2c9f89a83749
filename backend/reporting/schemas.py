"""Request and response bodies of the direct-reporting API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from backend.api.types import Instant, Number


class ValueIn(BaseModel):
    indicator: str = Field(description="Indicator code (econ.gross_output, econ.revenue, econ.value_added, "
                                       "energy.consumption, econ.main_product_output) or its form label (工业总产值)",
                           examples=["econ.gross_output"])
    value: Number | str = Field(description="The figure; a string may carry thousands separators", examples=[1234.5])
    unit: str | None = Field(default=None, description="Unit as written (万元, 亿元, 吨, 万吨, 吨标准煤); default: "
                                                       "the indicator's storage unit", examples=["万元"])


class ReportIn(BaseModel):
    period: str = Field(description="The month reported on", examples=["2026-10"])
    values: list[ValueIn] = Field(min_length=1, max_length=50)


class FlagOut(BaseModel):
    indicator_code: str
    rule: str
    message: str
    detail: dict[str, Any]


class RejectedOut(BaseModel):
    location: str
    reason: str
    raw: str


class SubmissionOut(BaseModel):
    submission_id: int | None
    enterprise_id: int
    period: str
    status: Literal["accepted", "flagged", "rejected"] = Field(
        description="accepted: stored; flagged: stored and marked for review; rejected: nothing stored")
    stored: dict[str, float] = Field(description="indicator -> value stored, in the indicator's unit")
    inserted: int
    updated: int = Field(description="corrected values (the previous value is kept as a revision)")
    unchanged: int
    flags: list[FlagOut]
    rejected: list[RejectedOut]


class UploadOut(BaseModel):
    file_name: str
    submissions: list[SubmissionOut]
    rejected: list[RejectedOut] = Field(description="rows that belong to no submission (unknown enterprise …)")


class EnterpriseCompletenessOut(BaseModel):
    enterprise_id: int
    uscc: str
    name_zh: str
    status: Literal["reported", "late", "missing", "pending"]
    status_zh: str = Field(description="已报 / 迟报 / 未报 / 待报")
    completed_at: datetime | None
    missing: list[str]


class CompletenessOut(BaseModel):
    period: str
    due_at: datetime
    due: int = Field(description="应报: above-scale enterprises registered in the month")
    reported: int = Field(description="已报: complete by the deadline")
    late: int = Field(description="迟报: complete after the deadline")
    missing: int = Field(description="未报: deadline passed, not complete")
    pending: int = Field(description="待报: deadline not reached, not complete yet")
    enterprises: list[EnterpriseCompletenessOut]


class FlagRecordOut(BaseModel):
    id: int
    submission_id: int
    enterprise_id: int
    month: date
    indicator_code: str
    rule: str
    message: str
    detail: dict[str, Any]
    status: str
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None

    model_config = {"from_attributes": True}


class FlagResolveIn(BaseModel):
    status: Literal["confirmed", "dismissed"]


class DeadlineIn(BaseModel):
    due_at: Instant = Field(description="Reports are due before this instant (with time zone)")
    note: str | None = None


class DeadlineOut(BaseModel):
    period: str
    due_at: datetime
