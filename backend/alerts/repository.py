"""SQL for alerts, their timeline and points, per-series detector state, silences, rules and
escalation policies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
from sqlalchemy import Select, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, aliased

from backend.alerts.models import (
    Alert,
    AlertEvent,
    AlertPoint,
    EscalationFired,
    EscalationPolicy,
    Rule,
    SeriesState,
    Silence,
)
from backend.registry.models import District, Enterprise, Park

ACTIVE_STATES = ("open", "acknowledged", "escalated")


# --- which series have new data, and their state -------------------------------------------
def series_with_new_data(session: Session, since_day: date, only: Sequence[int] | None = None,
                         period_since_day: date | None = None) -> list[int]:
    """Series whose latest stored point (from the daily rollups the write path refreshes) is
    newer than what has been scored, among the days since `since_day`; for monthly indicators
    since `period_since_day` (a month's figure is dated its first day and arrives weeks later:
    with the sub-daily look-back it was never found)."""
    part = """
        SELECT r.series_id FROM rollup_daily r {join}
        LEFT JOIN alert_series_state s ON s.series_id = r.series_id
        WHERE r.day >= {since} {where} {only}
        GROUP BY r.series_id, s.scored_until
        HAVING s.scored_until IS NULL OR max(r.last_at) > s.scored_until"""
    only_sql = "AND r.series_id = ANY(:ids)" if only is not None else ""
    sql = part.format(join="", since=":d", where="", only=only_sql)
    params: dict[str, Any] = {"d": since_day}
    if period_since_day is not None and period_since_day < since_day:
        sql += " UNION " + part.format(
            join="JOIN series se ON se.id = r.series_id JOIN indicator i ON i.code = se.indicator_code",
            since=":pd", where="AND r.day < :d AND i.frequency = 'month'", only=only_sql)
        params["pd"] = period_since_day
    if only is not None:
        params["ids"] = list(only)
    return sorted(r[0] for r in session.execute(text(sql), params))


def lock_states(session: Session, series_ids: Sequence[int]) -> dict[int, SeriesState]:
    """The state rows of these series, created if missing, locked for this transaction.
    Rows another evaluator holds are skipped (they are picked up on its next run)."""
    if not series_ids:
        return {}
    session.execute(insert(SeriesState).values([{"series_id": i} for i in series_ids])
                    .on_conflict_do_nothing())
    rows = session.scalars(select(SeriesState).where(SeriesState.series_id.in_(series_ids))
                           .order_by(SeriesState.series_id).with_for_update(skip_locked=True)
                           .execution_options(populate_existing=True))
    return {r.series_id: r for r in rows}


@dataclass(frozen=True)
class SeriesMeta:
    series_id: int
    indicator_code: str
    indicator_zh: str
    indicator_en: str
    unit_zh: str
    frequency: str
    is_leading: bool
    good_direction: str
    entity_kind: str
    entity_id: int
    entity_zh: str
    entity_en: str
    district_id: int | None
    park_id: int | None
    enterprise_id: int | None
    key_enterprise: bool
    above_scale: bool
    unit_code: str = ""


def series_meta(session: Session, series_ids: Sequence[int], on: date) -> dict[int, SeriesMeta]:
    """Indicator and entity facts per series (an enterprise's district and park as valid on ``on``)."""
    if not series_ids:
        return {}
    rows = session.execute(text("""
        SELECT s.id, s.indicator_code, i.name_zh, i.name_en, u.name_zh, i.frequency, i.is_leading, i.good_direction,
               s.entity_kind, s.entity_id,
               COALESCE(e.name_zh, p.name_zh, d.name_zh, '乌海市'),
               COALESCE(e.name_en, e.name_zh, p.name_en, d.name_en, 'Wuhai'),
               COALESCE(ev.district_id, p.district_id, d.id), COALESCE(ev.park_id, p.id), e.id,
               COALESCE(ev.key_enterprise, false), COALESCE(ev.above_scale, false), i.unit_code
        FROM series s
        JOIN indicator i ON i.code = s.indicator_code
        JOIN unit u ON u.code = i.unit_code
        LEFT JOIN enterprise e ON s.entity_kind = 'enterprise' AND e.id = s.entity_id
        LEFT JOIN enterprise_version ev ON ev.enterprise_id = e.id AND ev.valid_from <= :on
             AND (ev.valid_to IS NULL OR ev.valid_to > :on)
        LEFT JOIN park p ON s.entity_kind = 'park' AND p.id = s.entity_id
        LEFT JOIN district d ON s.entity_kind = 'district' AND d.id = s.entity_id
        WHERE s.id = ANY(:ids)"""), {"ids": list(series_ids), "on": on})
    return {r[0]: SeriesMeta(*r) for r in rows}


def new_points(session: Session, starts: dict[int, datetime], until: datetime
               ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Points after each series' start (exclusive) up to ``until`` (inclusive), from both
    observation tables, in time order: (UTC epoch seconds, values)."""
    if not starts:
        return {}
    ids = list(starts)
    lo = min(starts.values())
    empty = np.zeros(0)
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {i: (empty, empty) for i in ids}
    # The driver's cursor: plain tuples straight into numpy (ORM rows cost seconds per 100k).
    conn = session.connection().connection.driver_connection
    for table in ("observation", "period_observation"):
        with conn.cursor() as cur:  # type: ignore[union-attr]
            cur.execute(f"""
                SELECT o.series_id, extract(epoch FROM o.time)::float8, o.value
                FROM {table} o JOIN unnest(%(ids)s::int[], %(starts)s::timestamptz[]) AS w(id, start)
                     ON o.series_id = w.id AND o.time > w.start
                WHERE o.time > %(lo)s AND o.time <= %(until)s
                ORDER BY o.series_id, o.time""",
                        {"ids": ids, "starts": [starts[i] for i in ids], "lo": lo, "until": until})
            res = cur.fetchall()
        if not res:
            continue
        arr = np.array(res, dtype=float)
        sid = arr[:, 0].astype(np.int64)
        cut = np.flatnonzero(np.diff(sid)) + 1
        for lo_i, hi_i in zip(np.r_[0, cut], np.r_[cut, len(sid)], strict=True):
            out[int(sid[lo_i])] = (arr[lo_i:hi_i, 1].copy(), arr[lo_i:hi_i, 2].copy())
    return out


def first_days(session: Session, since: dict[int, date]) -> dict[int, date]:
    """The first local day with data of each series, on or after its own `since` day (daily
    rollups)."""
    if not since:
        return {}
    ids = list(since)
    rows = session.execute(text("""
        SELECT r.series_id, min(r.day) FROM rollup_daily r
        JOIN unnest(CAST(:ids AS int[]), CAST(:days AS date[])) AS w(id, since) ON r.series_id = w.id AND r.day >= w.since
        GROUP BY r.series_id"""), {"ids": ids, "days": [since[i] for i in ids]})
    return {r[0]: r[1] for r in rows}


def save_states(session: Session, rows: Sequence[dict[str, Any]], now: datetime) -> None:
    """Bulk update of state rows: series_id, scored_until, points, detector_layout,
    detector_state, tracker, alert_id, learned_from."""
    if rows:
        session.execute(update(SeriesState), [{**r, "updated_at": now} for r in rows])


# --- rules, silences, policies ----------------------------------------------------------------
def rules_for(session: Session, indicator_codes: Iterable[str]) -> list[Rule]:
    return list(session.scalars(select(Rule).where(Rule.indicator_code.in_(list(set(indicator_codes))),
                                                   Rule.enabled.is_(True)).order_by(Rule.id)))


def list_rules(session: Session) -> list[Rule]:
    return list(session.scalars(select(Rule).order_by(Rule.id)))


def active_silences(session: Session, at: datetime, kind: str | None = None) -> list[Silence]:
    q = select(Silence).where(Silence.starts_at <= at, Silence.ends_at > at, Silence.cancelled_at.is_(None))
    if kind:
        q = q.where(Silence.kind == kind)
    return list(session.scalars(q.order_by(Silence.id)))


def silences_overlapping(session: Session, start: datetime, end: datetime) -> list[Silence]:
    """Silences and maintenance windows active at some time in [start, end]."""
    return list(session.scalars(select(Silence).where(Silence.starts_at <= end, Silence.ends_at > start,
                                                      Silence.cancelled_at.is_(None)).order_by(Silence.id)))


def list_silences(session: Session, include_past: bool, now: datetime) -> list[Silence]:
    q = select(Silence)
    if not include_past:
        q = q.where(Silence.ends_at > now, Silence.cancelled_at.is_(None))
    return list(session.scalars(q.order_by(Silence.starts_at.desc(), Silence.id.desc())))


def entity_names(session: Session, targets: Iterable[tuple[str, int]]) -> dict[tuple[str, int], tuple[str, str | None]]:
    """(name_zh, name_en) of districts, parks and enterprises given as (kind, id), in one query."""
    wanted = {(k, i) for k, i in targets if k in ("district", "park", "enterprise")}
    if not wanted:
        return {}
    rows = session.execute(text("""
        SELECT 'district', id, name_zh, name_en FROM district WHERE id = ANY(CAST(:d AS int[]))
        UNION ALL SELECT 'park', id, name_zh, name_en FROM park WHERE id = ANY(CAST(:p AS int[]))
        UNION ALL SELECT 'enterprise', id, name_zh, name_en FROM enterprise WHERE id = ANY(CAST(:e AS int[]))"""),
        {"d": [i for k, i in wanted if k == "district"], "p": [i for k, i in wanted if k == "park"],
         "e": [i for k, i in wanted if k == "enterprise"]}).all()
    return {(kind, int(i)): (zh, en) for kind, i, zh, en in rows}


def policies(session: Session) -> list[EscalationPolicy]:
    return list(session.scalars(select(EscalationPolicy).order_by(EscalationPolicy.id)))


# --- alerts -----------------------------------------------------------------------------------
def get_alert(session: Session, alert_id: int, lock: bool = False) -> Alert | None:
    q = select(Alert).where(Alert.id == alert_id)
    if lock:
        q = q.with_for_update()
    return session.scalars(q).one_or_none()


def alerts_by_id(session: Session, ids: Iterable[int]) -> dict[int, Alert]:
    ids = list(set(ids))
    if not ids:
        return {}
    return {a.id: a for a in session.scalars(select(Alert).where(Alert.id.in_(ids)))}


def active_alerts_for_series(session: Session, series_ids: Sequence[int]) -> dict[int, Alert]:
    if not series_ids:
        return {}
    q = select(Alert).where(Alert.series_id.in_(series_ids), Alert.state.in_(ACTIVE_STATES))
    return {a.series_id: a for a in session.scalars(q) if a.series_id is not None}


def add(session: Session, obj: object) -> None:
    session.add(obj)


def add_event(session: Session, event: AlertEvent) -> None:
    session.add(event)


def events(session: Session, alert_id: int) -> list[AlertEvent]:
    return list(session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert_id)
                                .order_by(AlertEvent.at, AlertEvent.id)))


def reports_around(session: Session, series_id: int, at: datetime, before: int, until: datetime, after: int
                   ) -> list[tuple[datetime, float]]:
    """A sub-daily series' stored values around a silence, oldest first: the last `before` at
    or before `at`, and the first `after` later ones up to `until`."""
    rows = session.execute(text("""
        (SELECT time, value FROM observation WHERE series_id = :s AND time <= :at ORDER BY time DESC LIMIT :nb)
        UNION ALL
        (SELECT time, value FROM observation WHERE series_id = :s AND time > :at AND time <= :u
         ORDER BY time LIMIT :na)
        ORDER BY 1"""), {"s": series_id, "at": at, "u": until, "nb": before, "na": after}).all()
    return [(t, float(v)) for t, v in rows]


def members(session: Session, group_id: int) -> list[Alert]:
    return list(session.scalars(select(Alert).where(Alert.parent_id == group_id).order_by(Alert.id)))


def ungrouped_enterprise_alerts(session: Session) -> list[Alert]:
    return list(session.scalars(select(Alert).where(
        Alert.state.in_(ACTIVE_STATES), Alert.entity_kind == "enterprise", Alert.parent_id.is_(None),
        Alert.is_group.is_(False), Alert.park_id.is_not(None), Alert.signal_ended_at.is_(None))))


def active_groups(session: Session) -> list[Alert]:
    return list(session.scalars(select(Alert).where(Alert.state.in_(ACTIVE_STATES), Alert.is_group.is_(True))))


def escalation_candidates(session: Session, only: Sequence[int] | None = None) -> list[Alert]:
    """Active top-level alerts (members of a group escalate through their group)."""
    q = select(Alert).where(Alert.state.in_(ACTIVE_STATES), Alert.parent_id.is_(None))
    if only is not None:
        q = q.where(Alert.id.in_(list(only)))
    return list(session.scalars(q.order_by(Alert.id).with_for_update(skip_locked=True)))


def fired_steps(session: Session, alert_ids: Sequence[int]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {i: set() for i in alert_ids}
    if alert_ids:
        for aid, key in session.execute(select(EscalationFired.alert_id, EscalationFired.step_key)
                                        .where(EscalationFired.alert_id.in_(list(alert_ids)))):
            out[aid].add(key)
    return out


def record_fired(session: Session, alert_id: int, step_key: str, at: datetime) -> bool:
    """True if this step had not fired for this alert before (and now has)."""
    res = session.execute(insert(EscalationFired).values(alert_id=alert_id, step_key=step_key, fired_at=at)
                          .on_conflict_do_nothing().returning(EscalationFired.alert_id))
    return res.first() is not None


def add_points(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Chart points (alert_id, time, value, expected, lower, upper, severity); existing ones kept."""
    if not rows:
        return
    # One statement over arrays: a multi-row VALUES of thousands of rows costs seconds to compile.
    cols = ("alert_id", "time", "value", "expected", "lower", "upper", "severity")
    session.execute(text("""
        INSERT INTO alert_point (alert_id, time, value, expected, lower, upper, severity)
        SELECT * FROM unnest(CAST(:alert_id AS bigint[]), CAST(:time AS timestamptz[]), CAST(:value AS float8[]),
                             CAST(:expected AS float8[]), CAST(:lower AS float8[]), CAST(:upper AS float8[]),
                             CAST(:severity AS float8[]))
        ON CONFLICT DO NOTHING"""), {c: [r[c] for r in rows] for c in cols})


def drop_points(session: Session, alert_id: int) -> None:
    """Forget an alert's chart points (a re-learned series scores them anew)."""
    session.execute(text("DELETE FROM alert_point WHERE alert_id = :a"), {"a": alert_id})


def points(session: Session, alert_id: int) -> list[AlertPoint]:
    return list(session.scalars(select(AlertPoint).where(AlertPoint.alert_id == alert_id).order_by(AlertPoint.time)))


@dataclass(frozen=True)
class AlertFilter:
    levels: Sequence[str] = ()
    states: Sequence[str] = ()
    district_id: int | None = None
    park_id: int | None = None
    enterprise_ids: Sequence[int] = ()
    indicator_code: str | None = None
    opened_from: datetime | None = None
    opened_to: datetime | None = None
    top_level_only: bool = False
    scope_district_id: int | None = None  # the caller's district scope


def _filtered(f: AlertFilter) -> Select[tuple[Alert]]:
    q = select(Alert)
    if f.levels:
        q = q.where(Alert.level.in_(list(f.levels)))
    if f.states:
        q = q.where(Alert.state.in_(list(f.states)))
    if f.district_id is not None:
        q = q.where(Alert.district_id == f.district_id)
    if f.scope_district_id is not None:
        q = q.where(Alert.district_id == f.scope_district_id)
    if f.park_id is not None:
        q = q.where(Alert.park_id == f.park_id)
    if f.enterprise_ids:
        q = q.where(Alert.enterprise_id.in_(list(f.enterprise_ids)))
    if f.indicator_code:
        q = q.where(Alert.indicator_code == f.indicator_code)
    if f.opened_from is not None:
        q = q.where(Alert.opened_at >= f.opened_from)
    if f.opened_to is not None:
        q = q.where(Alert.opened_at < f.opened_to)
    if f.top_level_only:
        q = q.where(Alert.parent_id.is_(None))
    return q


@dataclass(frozen=True)
class AlertNames:
    """The registry names of an alert's district, park and enterprise (None where it has none)."""

    district_zh: str | None = None
    district_en: str | None = None
    park_zh: str | None = None
    park_en: str | None = None
    enterprise_zh: str | None = None
    enterprise_en: str | None = None

    def entity(self, entity_kind: str) -> tuple[str | None, str | None]:
        """(Chinese, English) name of the alerted entity: the city, or its district, park or enterprise."""
        if entity_kind == "city":
            return CITY_NAME
        if entity_kind == "district":
            return self.district_zh, self.district_en
        if entity_kind == "park":
            return self.park_zh, self.park_en
        if entity_kind == "enterprise":
            return self.enterprise_zh, self.enterprise_en
        return None, None


CITY_NAME = ("乌海市", "Wuhai")


def _with_names(q: Select[Any]) -> Select[Any]:
    """Add the district, park and enterprise names to a query over `alert` (outer joins)."""
    d, p, e = aliased(District), aliased(Park), aliased(Enterprise)
    return (q.add_columns(d.name_zh, d.name_en, p.name_zh, p.name_en, e.name_zh, e.name_en)
            .outerjoin(d, d.id == Alert.district_id).outerjoin(p, p.id == Alert.park_id)
            .outerjoin(e, e.id == Alert.enterprise_id))


def list_alerts(session: Session, f: AlertFilter, order: Sequence[Any], limit: int, offset: int
                ) -> tuple[list[tuple[Alert, AlertNames]], int]:
    """One page of alerts with their names (one query), and the total matching `f`."""
    q = _filtered(f)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.execute(_with_names(q).order_by(*order).limit(limit).offset(offset)).all()
    return [(r[0], AlertNames(*r[1:])) for r in rows], int(total)


def names_for(session: Session, alert_ids: Iterable[int]) -> dict[int, AlertNames]:
    """The names of these alerts, in one query."""
    ids = list(set(alert_ids))
    if not ids:
        return {}
    rows = session.execute(_with_names(select(Alert.id)).where(Alert.id.in_(ids))).all()
    return {r[0]: AlertNames(*r[1:]) for r in rows}


def open_alerts_for_digest(session: Session) -> list[Alert]:
    return list(session.scalars(select(Alert).where(Alert.state.in_(ACTIVE_STATES), Alert.parent_id.is_(None))
                                .order_by(Alert.due_at.nulls_last(), Alert.id)))


def names(session: Session) -> tuple[dict[int, tuple[str, str]], dict[int, tuple[str, str]]]:
    """District and park names by id: (name_zh, name_en)."""
    d = {i: (zh, en) for i, zh, en in session.execute(text("SELECT id, name_zh, name_en FROM district"))}
    p = {i: (zh, en) for i, zh, en in session.execute(text("SELECT id, name_zh, name_en FROM park"))}
    return d, p


def values_at(session: Session, series_ids: Sequence[int], times: Sequence[datetime]
              ) -> list[tuple[int, datetime, float]]:
    """The stored values of (series_ids[i], times[i]) pairs, from either observation table."""
    out: list[tuple[int, datetime, float]] = []
    for table in ("observation", "period_observation"):
        rows = session.execute(text(f"""
            SELECT o.series_id, o.time, o.value
            FROM {table} o JOIN unnest(CAST(:ids AS int[]), CAST(:times AS timestamptz[])) AS w(id, t)
                 ON o.series_id = w.id AND o.time = w.t"""), {"ids": list(series_ids), "times": list(times)})
        out += [(int(sid), at, float(v)) for sid, at, v in rows]
    return out


def silent_series(session: Session, now: datetime, oldest: datetime) -> list[tuple[int, datetime, str]]:
    """Sub-daily series that have reported before (last point after ``oldest``) and have no
    active alert: (series_id, last point time, frequency). The last point is the last one
    *stored*, not the last one scored: after a restart the stored data run ahead of scoring
    until the next evaluation, and they are not missing."""
    rows = session.execute(text("""
        SELECT st.series_id, greatest(st.scored_until, stored.t) AS last_at, i.frequency
        FROM alert_series_state st
        JOIN series s ON s.id = st.series_id
        JOIN indicator i ON i.code = s.indicator_code
        LEFT JOIN LATERAL (SELECT max(o.time) AS t FROM observation o
                           WHERE o.series_id = st.series_id AND o.time > st.scored_until) stored ON true
        WHERE i.frequency IN ('15min', 'hour') AND st.scored_until IS NOT NULL
          AND st.scored_until > :oldest AND st.scored_until < :now
          AND NOT EXISTS (SELECT 1 FROM alert a WHERE a.series_id = st.series_id
                          AND a.state IN ('open', 'acknowledged', 'escalated'))"""),
        {"now": now, "oldest": oldest})
    return [(sid, t, f) for sid, t, f in rows]
