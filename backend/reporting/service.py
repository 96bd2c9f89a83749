"""Direct reporting: submitting an enterprise's monthly figures (push API or upload),
review flags, deadlines and completeness. Services flush, never commit.

A submission stores every valid value through the observations write path (series
`<indicator>/enterprise/<id>`, at the first instant of the local month, source
`direct:<channel>`; flagged values with quality 2), keeps what was sent in `report_item`
(completeness is judged on when values first arrived), and puts rejected values in the
shared quarantine (source `direct_report`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from backend.catalogue import repository as catalogue_repo
from backend.config import Settings
from backend.ingestion import repository as ingestion_repo
from backend.observations import repository as obs_repo
from backend.registry import repository as registry_repo
from backend.reporting import repository as repo
from backend.reporting import rules
from backend.reporting.models import ReportFlag
from backend.reporting.rules import REPORTED, Flag, ReportError, Status
from backend.reporting.upload import parse_upload
from backend.statistics.tables import read_table

QUARANTINE_SOURCE = "direct_report"


@dataclass(frozen=True)
class SubmittedValue:
    indicator: str  # code or form label
    value: object
    unit: str | None = None
    location: str = ""
    raw: str = ""


@dataclass(frozen=True)
class Rejected:
    location: str
    reason: str
    raw: str


@dataclass
class SubmissionResult:
    submission_id: int | None
    enterprise_id: int
    month: date
    status: str  # accepted | flagged | rejected
    stored: dict[str, float] = field(default_factory=dict)  # code -> value in storage unit
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    flags: list[Flag] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def _month_start(month: date, tz: str) -> datetime:
    return datetime.combine(month, time(), ZoneInfo(tz))


def _previous(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def submit(session: Session, settings: Settings, *, enterprise_id: int, month: date, values: list[SubmittedValue],
           channel: str, submitted_by: str, now: datetime, file_name: str | None = None) -> SubmissionResult:
    """Validate and store one enterprise's values for one month. Invalid values are
    rejected one by one (the valid ones are stored); suspicious ones are stored and flagged."""
    tz = settings.timezone
    result = SubmissionResult(None, enterprise_id, month, "rejected")
    try:
        rules.check_month_closed(month, now, tz)
    except ReportError as exc:
        result.rejected = [Rejected(v.location or v.indicator, str(exc), v.raw or f"{v.indicator}={v.value}")
                           for v in values]
        values = []
    indicators = {i.code: i for i in catalogue_repo.list_indicators(session) if i.code in REPORTED}
    units = catalogue_repo.unit_table(session)
    accepted: dict[str, tuple[float, SubmittedValue]] = {}
    for v in values:
        where, raw = v.location or v.indicator, v.raw or f"{v.indicator}={v.value} {v.unit or ''}".strip()
        code = rules.indicator_code(v.indicator)
        try:
            if code is None or code not in indicators:
                raise ReportError(f"不是直报指标 / not a reported indicator: {v.indicator!r} "
                                  f"(reported: {', '.join(REPORTED)})")
            stored = rules.validate_value(code, v.value, v.unit, indicators[code].unit_code, units)
            if code in accepted and accepted[code][0] != stored:
                raise ReportError(f"同一指标报送了两个不同的数值 / {code} given twice with different values")
        except ReportError as exc:
            result.rejected.append(Rejected(where, str(exc), raw))
            continue
        accepted[code] = (stored, v)

    sub = repo.add_submission(session, enterprise_id=enterprise_id, month=month, channel=channel,
                              submitted_by=submitted_by, submitted_at=now, status="rejected", file_name=file_name,
                              items=len(accepted), rejected=len(result.rejected))
    result.submission_id = sub.id
    if accepted:
        result.flags = _flags(session, settings, enterprise_id, month, {c: s for c, (s, _) in accepted.items()})
        flagged = {f.indicator_code for f in result.flags}
        repo.add_items(session, [{"submission_id": sub.id, "enterprise_id": enterprise_id, "month": month,
                                  "indicator_code": c, "value": s, "value_submitted": _as_float(v.value, s),
                                  "unit_submitted": v.unit or indicators[c].unit_code, "created_at": now}
                                 for c, (s, v) in accepted.items()])
        series = obs_repo.ensure_series(session, [(c, "enterprise", enterprise_id) for c in accepted])
        t = _month_start(month, tz)
        rows = [obs_repo.ObservationRow(series[(c, "enterprise", enterprise_id)], t, s, f"direct:{channel}",
                                        rules.QUALITY_SUSPECT if c in flagged else rules.QUALITY_OK)
                for c, (s, _) in accepted.items()]
        res = obs_repo.write_observations(session, rows, "period_observation", tz)
        result.inserted, result.updated, result.unchanged = res.inserted, res.updated, res.unchanged
        for f in result.flags:
            repo.upsert_flag(session, {"submission_id": sub.id, "enterprise_id": enterprise_id, "month": month,
                                       "indicator_code": f.indicator_code, "rule": f.rule.value, "message": f.message,
                                       "detail": f.detail, "status": "open", "created_at": now})
        repo.clear_flags(session, enterprise_id, month, {(f.indicator_code, f.rule.value) for f in result.flags},
                         set(accepted), now)
        result.stored = {c: s for c, (s, _) in accepted.items()}
        result.status = "flagged" if result.flags else "accepted"
    sub.status = result.status
    quarantine(session, f"report:{sub.id}", enterprise_id, result.rejected, now)
    session.flush()
    return result


def _as_float(value: object, fallback: float) -> float:
    try:
        return float(str(value).replace(",", "").strip())
    except ValueError:
        return fallback


def _flags(session: Session, settings: Settings, enterprise_id: int, month: date, new: dict[str, float]) -> list[Flag]:
    prev_month = _previous(month)
    stored = repo.month_values(session, enterprise_id, [month, prev_month], REPORTED, settings.timezone)
    current = {c: v for (m, c), v in stored.items() if m == month} | new
    previous = {c: v for (m, c), v in stored.items() if m == prev_month}
    power: dict[date, float] = {}
    # Metering counts from the month after the first one with data: history loaded back to
    # some day may start mid-month, and months before it are unmetered, not zero.
    since = repo.metered_since(session, enterprise_id)
    if since is not None and month > since:
        power = repo.power_by_month(session, enterprise_id, [month, prev_month])
        power.setdefault(month, 0.0)  # metered, nothing recorded this month
        if prev_month <= since:
            power.pop(prev_month, None)
    flags = rules.review_flags(current, previous, power.get(month), power.get(prev_month),
                               jump_ratio=settings.reporting_jump_ratio, power_ratio=settings.reporting_power_ratio)
    # Only flags about what this submission carried (or cross-checks involving it).
    return [f for f in flags if f.indicator_code in new or f.rule == rules.Rule.VALUE_ADDED_ABOVE_OUTPUT]


def quarantine(session: Session, batch: str, enterprise_id: int | None, rejected: list[Rejected],
               now: datetime) -> int:
    rows = [{"source_name": QUARANTINE_SOURCE, "batch_id": batch, "raw_text": r.raw,
             "raw_json": {"enterprise_id": enterprise_id, "location": r.location}, "reason": r.reason,
             "content_hash": hashlib.sha256(f"{enterprise_id}|{r.location}|{r.reason}|{r.raw}".encode()).hexdigest(),
             "received_at": now, "last_seen_at": now} for r in rejected]
    return ingestion_repo.quarantine(session, rows)


@dataclass
class UploadResult:
    file_name: str
    submissions: list[SubmissionResult]
    rejected: list[Rejected]  # rows that belong to no submission (unknown enterprise, bad month …)


def upload(session: Session, settings: Settings, *, data: bytes, file_name: str, submitted_by: str, now: datetime,
           enterprise_id: int | None = None) -> UploadResult:
    """A CSV/XLSX reporting form: one submission per enterprise and month in it. With
    `enterprise_id` (an enterprise reporter), rows for any other enterprise are rejected
    and the credit-code column may be left out."""
    grid, _ = read_table(data, file_name)
    values, problems = parse_upload(grid)
    rejected = [Rejected(p.location, p.reason, p.raw) for p in problems]
    ids = repo.enterprise_ids_by_uscc(session, sorted({v.uscc for v in values if v.uscc}))
    groups: dict[tuple[int, date], list[SubmittedValue]] = {}
    for v in values:
        try:
            if v.uscc:
                if v.uscc not in ids:
                    raise ReportError(f"企业不在名录中 / no enterprise with credit code {v.uscc}")
                eid = ids[v.uscc]
                if enterprise_id is not None and eid != enterprise_id:
                    raise ReportError(f"只能报送本企业数据 / you may only report for your own enterprise, not {v.uscc}")
            elif enterprise_id is not None:
                eid = enterprise_id
            else:
                raise ReportError("缺少统一社会信用代码 / no credit code (统一社会信用代码) in the row")
            month = rules.month_of(v.month)
        except ReportError as exc:
            rejected.append(Rejected(v.location, str(exc), v.raw))
            continue
        groups.setdefault((eid, month), []).append(
            SubmittedValue(v.indicator_code, v.value, v.unit, v.location, v.raw))
    results = [submit(session, settings, enterprise_id=eid, month=month, values=vals, channel="upload",
                      submitted_by=submitted_by, now=now, file_name=file_name)
               for (eid, month), vals in sorted(groups.items())]
    quarantine(session, f"upload:{hashlib.sha256(data).hexdigest()[:16]}", enterprise_id, rejected, now)
    return UploadResult(file_name, results, rejected)


def due_at(session: Session, settings: Settings, month: date) -> datetime:
    """The deadline for `month`: its report_period row, else day N of the next month."""
    period = repo.get_period(session, month)
    if period is not None:
        return period.due_at
    return rules.default_due_at(month, settings.reporting_deadline_day, settings.timezone)


@dataclass(frozen=True)
class EnterpriseCompleteness:
    enterprise_id: int
    uscc: str
    name_zh: str
    status: Status
    completed_at: datetime | None
    missing: list[str]


@dataclass
class Completeness:
    month: date
    due_at: datetime
    due: int  # 应报
    counts: dict[str, int]  # reported / late / missing / pending
    enterprises: list[EnterpriseCompleteness]


def completeness(session: Session, settings: Settings, month: date, now: datetime,
                 district_id: int | None = None) -> Completeness:
    """应报 / 已报 / 迟报 / 未报 (and 待报 before the deadline) for a month. Due (应报): every
    above-scale enterprise registered on the month's last day (optionally in one district).
    Judged as of `now`: submissions after it are not counted."""
    deadline = due_at(session, settings, month)
    last_day = date.fromordinal(rules.next_month(month).toordinal() - 1)
    due_ids = registry_repo.enterprise_ids_in(session, last_day, above_scale=True, district_id=district_id)
    firsts = repo.first_submissions(session, month, due_ids, now)
    names = repo.enterprise_names(session, due_ids)
    rows = []
    for eid in due_ids:
        got = firsts.get(eid, {})
        done = rules.completed_at(got)
        rows.append(EnterpriseCompleteness(eid, names[eid][0], names[eid][1], rules.classify(done, deadline, now),
                                           done, [c for c in REPORTED if c not in got]))
    counts = {s.value: sum(1 for r in rows if r.status == s) for s in Status}
    return Completeness(month, deadline, len(rows), counts, rows)


def set_deadline(session: Session, month: date, due: datetime, note: str | None) -> datetime:
    return repo.set_period(session, month, due, note).due_at


def list_flags(session: Session, *, month: date | None, status: str | None, enterprise_id: int | None,
               limit: int, offset: int) -> list[ReportFlag]:
    return repo.list_flags(session, month=month, status=status, enterprise_id=enterprise_id, limit=limit,
                           offset=offset)[1]


class FlagNotFound(LookupError):
    pass


def resolve_flag(session: Session, flag_id: int, status: str, by: str, now: datetime) -> None:
    """Close a review flag: `confirmed` (the figure was checked and is right) or
    `dismissed`. The stored value keeps quality 2 until the enterprise resubmits it."""
    if status not in ("confirmed", "dismissed"):
        raise ValueError("status must be confirmed or dismissed")
    flag = repo.get_flag(session, flag_id)
    if flag is None:
        raise FlagNotFound(flag_id)
    repo.resolve_flag(session, flag_id, status, by, now)
    session.flush()
