"""SQL for direct reporting."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from backend.registry.models import Enterprise
from backend.reporting.models import ReportFlag, ReportItem, ReportPeriod, ReportSubmission


def get_period(session: Session, month: date) -> ReportPeriod | None:
    return session.get(ReportPeriod, month)


def set_period(session: Session, month: date, due_at: datetime, note: str | None) -> ReportPeriod:
    stmt = insert(ReportPeriod).values(month=month, due_at=due_at, note=note)
    session.execute(stmt.on_conflict_do_update(index_elements=[ReportPeriod.month],
                                               set_={"due_at": stmt.excluded.due_at, "note": stmt.excluded.note}))
    session.flush()
    period = session.get(ReportPeriod, month, populate_existing=True)
    assert period is not None
    return period


def enterprise_ids_by_uscc(session: Session, codes: Sequence[str]) -> dict[str, int]:
    if not codes:
        return {}
    return {u: i for i, u in session.execute(select(Enterprise.id, Enterprise.uscc).where(Enterprise.uscc.in_(codes)))}


def enterprise_names(session: Session, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    return {i: (u, n) for i, u, n in session.execute(
        select(Enterprise.id, Enterprise.uscc, Enterprise.name_zh).where(Enterprise.id.in_(ids)))}


def add_submission(session: Session, **values: Any) -> ReportSubmission:
    sub = ReportSubmission(**values)
    session.add(sub)
    session.flush()
    return sub


def add_items(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(ReportItem).values(rows))


def month_values(session: Session, enterprise_id: int, months: Sequence[date], codes: Sequence[str],
                 tz: str) -> dict[tuple[date, str], float]:
    """Stored monthly values (period_observation) of an enterprise: (month, code) -> value."""
    res = session.execute(text("""
        SELECT (o.time AT TIME ZONE :tz)::date, s.indicator_code, o.value
        FROM series s JOIN period_observation o ON o.series_id = s.id
        WHERE s.entity_kind = 'enterprise' AND s.entity_id = :e AND s.indicator_code = ANY(:codes)
          AND (o.time AT TIME ZONE :tz)::date = ANY(:months)"""),
                          {"tz": tz, "e": enterprise_id, "codes": list(codes), "months": list(months)})
    return {(m, c): v for m, c, v in res}


def power_by_month(session: Session, enterprise_id: int, months: Sequence[date]) -> dict[date, float]:
    """Metered electricity (power.consumption monthly rollup, kWh) of an enterprise."""
    res = session.execute(text("""
        SELECT r.month, r.sum FROM series s JOIN rollup_monthly r ON r.series_id = s.id
        WHERE s.indicator_code = 'power.consumption' AND s.entity_kind = 'enterprise' AND s.entity_id = :e
          AND r.month = ANY(:months)"""), {"e": enterprise_id, "months": list(months)})
    return {m: v for m, v in res}


def upsert_flag(session: Session, values: dict[str, Any]) -> None:
    """One flag per (enterprise, month, indicator, rule); a new value reopens it."""
    stmt = insert(ReportFlag).values(**values)
    session.execute(stmt.on_conflict_do_update(
        constraint="uq_report_flag_enterprise_id",
        set_={"submission_id": stmt.excluded.submission_id, "message": stmt.excluded.message,
              "detail": stmt.excluded.detail, "created_at": stmt.excluded.created_at,
              "status": text("CASE WHEN report_flag.detail->'value' = excluded.detail->'value' "
                             "AND report_flag.status <> 'cleared' THEN report_flag.status ELSE 'open' END"),
              "resolved_at": text("CASE WHEN report_flag.detail->'value' = excluded.detail->'value' "
                                  "AND report_flag.status <> 'cleared' THEN report_flag.resolved_at END"),
              "resolved_by": text("CASE WHEN report_flag.detail->'value' = excluded.detail->'value' "
                                  "AND report_flag.status <> 'cleared' THEN report_flag.resolved_by END")}))


def clear_flags(session: Session, enterprise_id: int, month: date, keep: set[tuple[str, str]], codes: set[str],
                now: datetime) -> None:
    """Open flags on `codes` of this enterprise-month that no longer apply become 'cleared'."""
    flags = session.scalars(select(ReportFlag).where(
        ReportFlag.enterprise_id == enterprise_id, ReportFlag.month == month, ReportFlag.status == "open"))
    for f in flags:
        if (f.indicator_code, f.rule) not in keep and (f.indicator_code in codes or f.rule == "va_above_output"):
            f.status, f.resolved_at, f.resolved_by = "cleared", now, "system"


def list_flags(session: Session, *, month: date | None, status: str | None, enterprise_id: int | None,
               limit: int, offset: int) -> tuple[int, list[ReportFlag]]:
    q = select(ReportFlag)
    if month is not None:
        q = q.where(ReportFlag.month == month)
    if status:
        q = q.where(ReportFlag.status == status)
    if enterprise_id is not None:
        q = q.where(ReportFlag.enterprise_id == enterprise_id)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    return total, list(session.scalars(q.order_by(ReportFlag.id.desc()).limit(limit).offset(offset)))


def get_flag(session: Session, flag_id: int) -> ReportFlag | None:
    return session.get(ReportFlag, flag_id)


def resolve_flag(session: Session, flag_id: int, status: str, by: str, now: datetime) -> None:
    session.execute(update(ReportFlag).where(ReportFlag.id == flag_id)
                    .values(status=status, resolved_at=now, resolved_by=by))


def first_submissions(session: Session, month: date, enterprise_ids: Sequence[int],
                      as_of: datetime) -> dict[int, dict[str, datetime]]:
    """enterprise -> indicator -> when it was first submitted for `month` (up to `as_of`)."""
    res = session.execute(text("""
        SELECT i.enterprise_id, i.indicator_code, min(s.submitted_at)
        FROM report_item i JOIN report_submission s ON s.id = i.submission_id
        WHERE i.month = :m AND i.enterprise_id = ANY(:ids) AND s.submitted_at <= :as_of
        GROUP BY i.enterprise_id, i.indicator_code"""), {"m": month, "ids": list(enterprise_ids), "as_of": as_of})
    out: dict[int, dict[str, datetime]] = {}
    for e, c, t in res:
        out.setdefault(e, {})[c] = t
    return out


def submissions(session: Session, enterprise_id: int, month: date | None) -> list[ReportSubmission]:
    q = select(ReportSubmission).where(ReportSubmission.enterprise_id == enterprise_id)
    if month is not None:
        q = q.where(ReportSubmission.month == month)
    return list(session.scalars(q.order_by(ReportSubmission.id)))


def submission_times(session: Session, submitted_by: str) -> set[tuple[int, date, datetime]]:
    """(enterprise, month, submitted_at) of every submission made by `submitted_by`."""
    return {(e, m, t) for e, m, t in session.execute(
        select(ReportSubmission.enterprise_id, ReportSubmission.month, ReportSubmission.submitted_at)
        .where(ReportSubmission.submitted_by == submitted_by))}


def open_flag_ids_before(session: Session, month: date) -> list[int]:
    return list(session.scalars(select(ReportFlag.id).where(ReportFlag.status == "open", ReportFlag.month < month)
                                .order_by(ReportFlag.id)))


def metered_since(session: Session, enterprise_id: int) -> date | None:
    """The first month with metered electricity (power.consumption rollup) of an enterprise."""
    return session.execute(text("""
        SELECT min(r.month) FROM series s JOIN rollup_monthly r ON r.series_id = s.id
        WHERE s.indicator_code = 'power.consumption' AND s.entity_kind = 'enterprise' AND s.entity_id = :e"""),
                           {"e": enterprise_id}).scalar()
