"""Request and response bodies of the alerts API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from backend.api.types import Instant, Number

LevelName = Literal["blue", "yellow", "orange", "red"]
StateName = Literal["open", "acknowledged", "escalated", "resolved", "false_alarm"]
PositionName = Literal["duty_officer", "section_chief", "bureau_leader", "city_leader"]


class AlertOut(BaseModel):
    """An alert: one episode of one series, or a park-level group of enterprise alerts."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    level: LevelName = Field(description="Current colour: red 红 (major), orange 橙, yellow 黄, blue 蓝 (watch).")
    peak_level: LevelName
    state: StateName
    is_group: bool
    parent_id: int | None = Field(description="The park group this alert belongs to, if any.")
    series_id: int | None
    indicator_code: str
    entity_kind: str
    entity_id: int
    district_id: int | None
    park_id: int | None
    enterprise_id: int | None
    entity_name_zh: str | None = Field(default=None, description="The alerted place or enterprise: 乌海市, a "
                                       "district, a park or an enterprise.")
    entity_name_en: str | None = Field(default=None, description="Its English name, where the registry has one.")
    district_name_zh: str | None = None
    district_name_en: str | None = None
    park_name_zh: str | None = None
    park_name_en: str | None = None
    enterprise_name_zh: str | None = None
    enterprise_name_en: str | None = None
    episode_started_at: datetime
    opened_at: datetime
    level_since: datetime
    last_point_at: datetime | None
    signal_ended_at: datetime | None = Field(description="When the data returned to normal (alert still to be closed).")
    value: float | None
    expected: float | None
    lower: float | None
    upper: float | None
    severity: float
    importance: float
    checks: list[str]
    explanation_zh: str
    explanation_en: str
    department: str | None
    assignee_user_id: int | None
    acknowledged_at: datetime | None
    acknowledged_by: int | None
    escalated_at: datetime | None
    resolved_at: datetime | None
    resolved_by: int | None
    countermeasures: str | None
    close_reason: str | None
    due_at: datetime | None
    overdue: bool = False
    silenced_by: int | None
    silenced_until: datetime | None = Field(default=None, description="While a silence covers this alert now: when "
                                            "it ends (no mail until then).")


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    kind: str = Field(examples=["acknowledged"])
    actor: str = Field(description="Username (with the API key id when a key acted), or `system`.")
    actor_user_id: int | None
    actor_name: str | None = Field(default=None, description="The acting user's display name (e.g. 值班员（乌达区）); "
                                   "null for the system.")
    from_state: str | None
    to_state: str | None
    level: str | None
    text: str | None
    detail: dict[str, Any]


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    email: str
    language: str
    reason: str
    status: str = Field(description="pending, sending, sent, failed or suppressed (silenced).")
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None


class PointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    time: datetime
    value: float
    expected: float | None
    lower: float | None
    upper: float | None
    severity: float


class ReportGapOut(BaseModel):
    """A missing-report alert's silence: from the last report before it to the first after it
    (or now, while it lasts)."""

    since: datetime
    until: datetime


class AlertDetail(AlertOut):
    timeline: list[EventOut]
    members: list[AlertOut] = Field(default_factory=list)
    notifications: list[NotificationOut] = Field(default_factory=list)
    points: list[PointOut] = Field(default_factory=list, description=(
        "The chart's points: the scored points around the episode with the expected value and band; while the "
        "values stay far below the level where the episode began (a shutdown: the alert's `expected` is that "
        "level, with no band), the episode's points carry the expectation and band from before it, at the same "
        "time of day (the detector itself soon follows a shutdown down); for a missing-report alert (缺报), the "
        "meter's last reports around `report_gap` (no expected value)."))
    report_gap: ReportGapOut | None = Field(default=None, description="For a missing-report alert: the silence "
                                            "the chart shades.")


class AcknowledgeIn(BaseModel):
    note: str | None = Field(default=None, max_length=4000)


class EscalateIn(BaseModel):
    targets: list[PositionName] = Field(min_length=1, examples=[["bureau_leader"]])
    reason: str = Field(min_length=1, max_length=4000, examples=["需协调电力公司恢复供电"])


class ResolveIn(BaseModel):
    countermeasures: str = Field(min_length=1, max_length=8000, description="对策建议: what was done or proposed.")


class CloseIn(BaseModel):
    reason: str = Field(min_length=1, max_length=4000, examples=["表计故障，数据已更正"])


class CommentIn(BaseModel):
    text: str = Field(min_length=1, max_length=8000)


class AssignIn(BaseModel):
    department: str = Field(min_length=1, max_length=200, examples=["市工信局运行科"])
    assignee_user_id: int | None = None


class SilenceIn(BaseModel):
    kind: Literal["silence", "maintenance"] = Field(
        default="silence", description="silence: alerts are raised but no mail is sent; maintenance: no alerts.")
    starts_at: Instant
    ends_at: Instant
    reason: str = Field(min_length=1, max_length=2000)
    indicator_code: str | None = None
    entity_kind: Literal["city", "district", "park", "enterprise"] | None = None
    entity_id: int | None = None
    district_id: int | None = None
    park_id: int | None = None
    everything: StrictBool = Field(default=False, description="Must be true to silence every alert (no matcher).")
    alert_id: int | None = Field(default=None, ge=1, le=2_147_483_647, description="The alert this was made from (optional): its "
                                 "timeline then records who silenced it, until when and why.")


class SilenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    indicator_code: str | None
    entity_kind: str | None
    entity_id: int | None
    district_id: int | None
    park_id: int | None
    created_by: int | None
    created_at: datetime
    entity_name_zh: str | None = Field(default=None, description="The matched district, park or enterprise's name.")
    entity_name_en: str | None = None
    cancelled_at: datetime | None


class RuleParams(BaseModel):
    """What a rule compares with; each kind takes its own (others are refused)."""

    model_config = ConfigDict(extra="forbid")

    lower: Number | None = Field(default=None, description="threshold: alarm below this, in the indicator's unit.")
    upper: Number | None = Field(default=None, description="threshold: alarm above this.")
    min_pct: Number | None = Field(default=None, description="yoy: alarm when 同比 (% against the same period a "
                                                             "year earlier) is below this.", examples=[-20.0])
    max_pct: Number | None = Field(default=None, description="yoy: alarm when 同比 is above this.")
    target: Number | None = Field(default=None, description="target: the value aimed at.")
    tolerance_pct: Number | None = Field(default=None, ge=0, description="target: the shortfall allowed, % "
                                                                         "(default 10).")
    two_sided: StrictBool | None = Field(default=None, description="target: also alarm when above target by more "
                                                                   "than the tolerance (default false).")


class RuleIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    indicator_code: str = Field(min_length=1, max_length=64, examples=["power.consumption"],
                                description="An indicator code (GET /api/v1/indicators).")
    kind: Literal["threshold", "yoy", "target", "importance"]
    params: RuleParams = Field(default_factory=RuleParams, examples=[{"lower": 100.0}],
                               description="threshold: lower and/or upper; yoy: min_pct and/or max_pct; target: "
                                           "target, tolerance_pct, two_sided; importance: none.")
    entity_kind: Literal["city", "district", "park", "enterprise"] | None = None
    entity_id: int | None = None
    importance: Number | None = Field(default=None, ge=0.1, le=5)
    enabled: StrictBool = True


class RuleOut(RuleIn):
    model_config = ConfigDict(from_attributes=True)

    params: dict[str, Any] = Field(description="As stored (only what was given).")  # type: ignore[assignment]
    id: int
    created_at: datetime
    updated_at: datetime


class StepIO(BaseModel):
    after_minutes: Number = Field(ge=0, le=43200, description="Minutes after the alert reached this level "
                                 "(at most 30 days).")
    condition: Literal["always", "unacknowledged", "unresolved"]
    targets: list[PositionName] = Field(min_length=1)
    escalate: StrictBool = False
    email: StrictBool = True


class PolicyIn(BaseModel):
    steps: list[StepIO]
    resolve_within_hours: Number = Field(gt=0, le=8760, description="办结时限: hours to resolve (at most a year).")


class PolicyOut(PolicyIn):
    level: LevelName
    configured: bool = Field(description="False: the built-in default is in force.")


class ContactIn(BaseModel):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    language: Literal["zh", "en"] = "zh"
    position: PositionName | None = None
    min_level: LevelName = "blue"
    daily_digest: StrictBool = False
    enabled: StrictBool = True


class ContactOut(ContactIn):
    user_id: int
