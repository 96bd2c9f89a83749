"""Alert rules: evaluating new observations into alerts, the lifecycle, escalation, grouping,
silences, rules and policies. Services flush, never commit: the job or request commits.

Evaluation (`evaluate`) is called by the ingest worker after new data was stored (and on a
timer, to catch anything missed). For every series with points newer than it has scored:

1. lock the series' state row (another evaluator's rows are skipped, not waited for);
2. score the new points with the production detector, resuming its saved state;
3. run the episode tracker (`levels`) and apply its events: open one alert per episode
   (an unresolved alert of the same series is reused), raise, lower, note the end;
4. group simultaneous enterprise alerts of one park into a park alert (`grouping`);
5. fire the escalation steps due now, which writes the notifications (outbox) — mail is
   sent later by the dispatcher, never here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.orm import Session

from backend.alerts import escalation, grouping, levels, scoring
from backend.alerts import repository as repo
from backend.alerts.lifecycle import ACTIVE, Action, State, TransitionError, transition
from backend.alerts.models import Alert, AlertEvent, EscalationPolicy, Rule, SeriesState, Silence
from backend.alerts.silences import Target, Window, first_covering
from backend.api.problems import Conflict, InvalidRequest, NotFound
from backend.detection import detectors
from backend.detection.engine import DetectorConfig
from backend.detection.rules import TargetRule, ThresholdRule, YoYRule

log = logging.getLogger("yunjian.alerts")

SYSTEM = "system"


@dataclass(frozen=True)
class EvaluationOptions:
    lookback_days: int = 2  # look for new data in rollups of the last days
    period_lookback_days: int = 400  # for monthly indicators, whose figures come weeks after the month
    history_days: int = 21  # a 15-minute or hourly series seen for the first time is scored from this far back
    # Daily series learn a year (holidays, the Spring Festival), monthly ones ten (their warm-up
    # is two years of months: from 21 days back a monthly indicator could not alarm for two
    # years after it was first met, whatever history the import had stored).
    daily_history_days: int = 400
    period_history_days: int = 3700
    stale_hours: float = 6.0  # an episode that started and ended before now - this raises no alert
    group_window: timedelta = timedelta(hours=2)
    group_min_members: int = 3
    detector: DetectorConfig = field(default_factory=DetectorConfig)

    def history(self, frequency: str) -> timedelta:
        """How far back a series of this frequency is learned from when first met."""
        days = {"15min": self.history_days, "hour": self.history_days, "day": self.daily_history_days}
        return timedelta(days=days.get(frequency, self.period_history_days))


@dataclass
class EvaluationReport:
    series: int = 0
    points: int = 0
    opened: list[int] = field(default_factory=list)
    raised: list[int] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)
    notifications: int = 0
    skipped_locked: int = 0
    relearned: list[int] = field(default_factory=list)  # series re-learned from history that arrived late


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _event(session: Session, alert: Alert, kind: str, at: datetime, *, actor: str = SYSTEM,
           actor_user_id: int | None = None, from_state: str | None = None, to_state: str | None = None,
           level: str | None = None, text: str | None = None, detail: dict[str, Any] | None = None) -> None:
    repo.add_event(session, AlertEvent(alert_id=alert.id, at=at, kind=kind, actor=actor, actor_user_id=actor_user_id,
                                       from_state=from_state, to_state=to_state, level=level, text=text,
                                       detail=detail or {}))


def _windows(rows: Sequence[Silence]) -> list[Window]:
    return [Window(id=s.id, kind=s.kind, starts_at=s.starts_at, ends_at=s.ends_at, indicator_code=s.indicator_code,
                   entity_kind=s.entity_kind, entity_id=s.entity_id, district_id=s.district_id, park_id=s.park_id,
                   cancelled=s.cancelled_at is not None) for s in rows]


def active_windows(session: Session, now: datetime) -> list[Window]:
    """The silences and maintenance windows in force now."""
    return _windows(repo.active_silences(session, now))


def silenced_until(windows: list[Window], alert: Alert, now: datetime) -> datetime | None:
    """When the silence covering `alert` now ends (None: no silence covers it)."""
    w = first_covering(windows, _target(alert), now, "silence")
    return None if w is None else w.ends_at


def _target(meta: repo.SeriesMeta | Alert) -> Target:
    return Target(indicator_code=meta.indicator_code, entity_kind=meta.entity_kind, entity_id=meta.entity_id,
                  district_id=meta.district_id, park_id=meta.park_id)


def effective_policies(session: Session) -> dict[levels.Level, escalation.Policy]:
    out = escalation.default_policies()
    for row in repo.policies(session):
        lvl = levels.Level.parse(row.level)
        out[lvl] = escalation.Policy(lvl, escalation.parse_steps(row.steps), row.resolve_within_hours)
    return out


def _rules_by_series(rules: Sequence[Rule], metas: dict[int, repo.SeriesMeta]
                     ) -> tuple[dict[int, scoring.RuleSet], dict[int, float]]:
    """Rules and importance overrides that apply to each series (entity-specific ones win)."""
    sets: dict[int, scoring.RuleSet] = {}
    imp: dict[int, float] = {}
    for sid, m in metas.items():
        th: list[ThresholdRule] = []
        tg: list[TargetRule] = []
        yy: list[YoYRule] = []
        best_imp: tuple[int, float] | None = None
        for r in rules:
            if r.indicator_code != m.indicator_code:
                continue
            if r.entity_kind is not None and (r.entity_kind != m.entity_kind or
                                              (r.entity_id is not None and r.entity_id != m.entity_id)):
                continue
            specificity = (r.entity_kind is not None) + (r.entity_id is not None)
            if r.importance is not None and (best_imp is None or specificity >= best_imp[0]):
                best_imp = (specificity, r.importance)
            try:
                p = clean_rule_params(r.kind, r.params or {}) if r.kind in RULE_PARAMS else {}
            except InvalidRequest as exc:  # stored before the check, or written by hand
                if r.id not in _warned_rules:
                    _warned_rules.add(r.id)
                    log.warning("alert rule %s (%s) ignored: %s", r.id, r.name, exc.detail)
                continue
            if r.kind == "threshold":
                th.append(ThresholdRule(lower=p.get("lower"), upper=p.get("upper")))
            elif r.kind == "target" and p.get("target") is not None:
                tg.append(TargetRule(target=p["target"], tolerance_pct=p.get("tolerance_pct", 10.0),
                                     two_sided=p.get("two_sided", False)))
            elif r.kind == "yoy" and (p.get("min_pct") is not None or p.get("max_pct") is not None):
                yy.append(YoYRule(min_pct=p.get("min_pct"), max_pct=p.get("max_pct")))
        sets[sid] = scoring.RuleSet(tuple(th), tuple(tg), tuple(yy))
        if best_imp is not None:
            imp[sid] = best_imp[1]
    return sets, imp


_warned_rules: set[int] = set()  # one warning per unreadable rule and process, not one a minute


def _year_earlier(t: float) -> datetime | None:
    """The same wall-clock time (Beijing) a year before UTC epoch second t; None for 29 February
    (同比 of a leap day has no same day a year earlier)."""
    local = datetime.fromtimestamp(t, detectors.LOCAL_TZ)
    try:
        return local.replace(year=local.year - 1)
    except ValueError:
        return None


def last_year_values(session: Session, points: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """For each series, the values stored for the same period a year before each of its points
    (UTC epoch seconds), NaN where none is stored."""
    out = {sid: np.full(len(t), np.nan) for sid, t in points.items()}
    ids: list[int] = []
    times: list[datetime] = []
    where: dict[tuple[int, float], list[int]] = {}
    for sid, ts in points.items():
        for k, t in enumerate(ts.tolist()):
            prev = _year_earlier(t)
            if prev is None:
                continue
            ids.append(sid)
            times.append(prev)
            where.setdefault((sid, prev.timestamp()), []).append(k)
    if not ids:
        return out
    for sid, at, value in repo.values_at(session, ids, times):
        for k in where.get((sid, at.timestamp()), []):
            out[sid][k] = value
    return out


# --- evaluation -----------------------------------------------------------------------------
def _history_arrived(session: Session, states: dict[int, SeriesState], horizons: dict[int, datetime],
                     active: dict[int, Alert]) -> set[int]:
    """Series to re-learn: their detector started after their horizon (the history a new series
    of that frequency is learned from), and data older than its start has been stored since.

    A series is first scored from what is stored when the evaluation first meets it. When its
    history arrives later (a backfill running newest first, as `yunjian demo` and any
    onboarding do), the detector has learned only the last day or two, and an incident that
    began there (a plant shut down since yesterday) was taken for its normal level in the
    warm-up: it would never be flagged. Such a series is scored again from `horizon` with a
    fresh detector, as if met for the first time (an episode over by then raises nothing, an
    ongoing one its alert). Not while it has an active alert someone is handling (acknowledged,
    assigned, escalated): an alert nobody has touched yet is re-judged with the series
    (`_relearned_alert`), since the first, short learning may have raised it (the demo: a coke
    plant's daily series first learned from six weeks, three of them days after a 10-day level
    shift, expected a dip every Thursday and Friday and raised an alert on two ordinary days).
    """
    tz = detectors.LOCAL_TZ
    started = {i: t.astimezone(tz).date() for i, h in horizons.items()
               if (t := states[i].learned_from) is not None and t > h + timedelta(days=1)}
    young = sorted(started)
    if not young:
        return set()
    # From the day after the horizon's: every point found is one a re-learning scores, so each
    # re-learning moves `learned_from` back and none repeats itself.
    first = repo.first_days(session, {i: horizons[i].astimezone(tz).date() + timedelta(days=1) for i in young})
    older = [i for i in young if i in first and first[i] < started[i]]
    return {i for i in older if i not in active or untouched(active[i])}


def _new_layout(states: dict[int, SeriesState], lay: scoring.Layout, active: dict[int, Alert]) -> set[int]:
    """Series whose saved detector state is of another layout (a new detector version, see
    `scoring.layout`): re-learned from their history now, as `_history_arrived` does, rather
    than started cold on the new points (blind for their warm-up, and learned from too little:
    a detector that changed what it learns, say how it reads a monthly series, would otherwise
    keep what the old one had learned for ever). Not while a person handles their alert; those
    start cold, and are re-learned once their alert is closed and older data are found."""
    return {i for i, st in states.items()
            if st.detector_state is not None and st.detector_layout != lay.digest
            and (i not in active or untouched(active[i]))}


def _no_ring() -> list[tuple[float, float, float, float, float]]:
    return []  # a re-learned batch holds the series' whole history


def untouched(alert: Alert) -> bool:
    """An alert the system raised that no person has acted on yet: open, not acknowledged,
    assigned or given to a department."""
    return (alert.state == State.open.value and alert.acknowledged_at is None and alert.assignee_user_id is None
            and not alert.department)


def _relearned_alert(session: Session, now: datetime, alert: Alert, tracker: levels.TrackerState,
                     sc: scoring.Scored, policies: dict[levels.Level, escalation.Policy],
                     report: EvaluationReport) -> None:
    """A series re-learned from its history while it had an untouched alert: the alert follows
    what the re-learned detector finds *now*, not how it got there. The history's episodes, and
    the rises and falls of the running one, are not replayed on it (a backfill re-learns a
    series once per chunk, and replayed they wrote a raise and a fall into the timeline, and
    mailed, every minute). If an episode is running at the end, the alert takes its start
    (`_onset` of it, an event `relearned`) and its level when that is higher (one raise), and a
    signal that had ended recurs. If none is running, the alert's signal ends at the last point,
    unless it is a missing-report alert, whose own check decides; a blue one is closed later, by
    the first evaluation of new data that is not a re-learning (see `evaluate`)."""
    if tracker.level and tracker.episode_start is not None:
        start = _onset(sc, _no_ring, tracker.episode_start)
        if start != alert.episode_started_at:
            old_t, new_t = (t.astimezone(detectors.LOCAL_TZ) for t in (alert.episode_started_at, start))
            was, new = (detectors.stamp(t, sc.monthly) for t in (old_t, new_t))
            was_en, new_en = (detectors.stamp(t, sc.monthly, en=True) for t in (old_t, new_t))
            _event(session, alert, "relearned", now, level=alert.level,
                   text=f"事件开始时间更正为 {new}（原为 {was}） / episode start corrected to {new_en} (was {was_en})",
                   detail={"episode_started_at": start.isoformat(), "was": alert.episode_started_at.isoformat()})
            alert.episode_started_at = start
        if alert.signal_ended_at is not None:
            alert.signal_ended_at = None
            _event(session, alert, "signal_recurred", now, level=alert.level, detail={"relearned": True})
        # Raised when the re-learned level is higher; never lowered here: the verdict moves a
        # little with each chunk of history (the demo's alert #3 went orange, yellow, orange,
        # one chunk a minute), and lowering is left to the live evaluation's hysteresis.
        lvl = levels.Level(tracker.level)
        if lvl > levels.Level.parse(alert.level):
            _raise(session, alert, lvl, now, policies, report)
    elif "missing" not in (alert.checks or []) and alert.signal_ended_at is None:
        _event(session, alert, "relearned", now, level=alert.level,
               text="按完整历史重新研判：当前不构成持续异常 / judged again on the full history: no ongoing episode now",
               detail={"episode_started_at": None})
        # A blue alert is not closed by a re-learning: the next chunk of a backfill may find the
        # episode again (the demo closed #34 and opened #39 for the same decline two minutes
        # later). It closes at the first evaluation of new data that is not a re-learning.
        _end_signal(session, alert, sc.at(len(sc.t) - 1), now, report, close_blue=False)


def _ended_periods(t: np.ndarray, x: np.ndarray, frequency: str, now: datetime) -> tuple[np.ndarray, np.ndarray]:
    """Only the points whose period is over: today's figure of a daily series (and this month's
    of a monthly one) is a partial total that grows through the day, and scored as a whole day
    it is "below the band" every morning (found when daily series first learned a year: a red
    alert on every coal mine at once). It is scored once its day has ended."""
    if frequency == "day":
        keep = t + 86400.0 <= now.timestamp()  # Beijing has no daylight saving
    elif frequency == "month":
        local = now.astimezone(detectors.LOCAL_TZ)
        month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        keep = t < month_start.timestamp()
    else:
        return t, x
    return (t, x) if keep.all() else (t[keep], x[keep])


def evaluate(session: Session, now: datetime, opts: EvaluationOptions | None = None,
             series_ids: Sequence[int] | None = None) -> EvaluationReport:
    """Score every point stored since the last run (up to ``now``) and turn episodes into alerts."""
    from backend.notifications import service as notifications_service

    opts = opts or EvaluationOptions()
    report = EvaluationReport()
    candidates = repo.series_with_new_data(session, (now - timedelta(days=opts.lookback_days)).date(), series_ids,
                                           (now - timedelta(days=opts.period_lookback_days)).date())
    states = repo.lock_states(session, candidates)
    report.skipped_locked = len(candidates) - len(states)
    if not states:
        return report
    ids = sorted(states)
    metas = repo.series_meta(session, ids, now.date())
    ids = [i for i in ids if i in metas]
    existing = repo.active_alerts_for_series(session, ids)
    horizons = {i: now - opts.history(metas[i].frequency) for i in ids}
    lay = scoring.layout(opts.detector)
    relearn = _history_arrived(session, states, horizons, existing) | _new_layout(states, lay, existing)
    report.relearned = sorted(relearn)
    starts = {i: horizons[i] if i in relearn else (states[i].scored_until or horizons[i]) for i in ids}
    pts = repo.new_points(session, starts, now)
    pts = {i: _ended_periods(t, x, metas[i].frequency, now) for i, (t, x) in pts.items()}
    ids = [i for i in ids if len(pts[i][0])]
    report.series = len(ids)
    if not ids:
        return report
    blobs = [states[i].detector_state if states[i].detector_layout == lay.digest and i not in relearn else None
             for i in ids]
    bank = scoring.load_bank(blobs, opts.detector, lay,
                             [scoring.declared_ytd_growth(metas[i].indicator_code, metas[i].unit_code) for i in ids])
    rule_sets, imp_override = _rules_by_series(repo.rules_for(session, {metas[i].indicator_code for i in ids}), metas)
    yoy_ids = {i: pts[i][0] for i in ids if rule_sets[i].yoys}
    prev = last_year_values(session, yoy_ids) if yoy_ids else {}
    scored = scoring.score_batch(bank, [pts[i] for i in ids], [rule_sets[i] for i in ids], opts.detector,
                                 [prev.get(i) for i in ids])
    blobs_out = scoring.dump_bank(bank, lay)
    t0 = _utc(min(float(s.t[0]) for s in scored))
    windows = _windows(repo.silences_overlapping(session, min(t0, now), now))
    policies = effective_policies(session)
    touched: list[int] = []
    point_rows: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for k, sid in enumerate(ids):
        meta, sc, st = metas[sid], scored[k], states[sid]
        report.points += len(sc.t)
        imp = levels.importance(is_leading=meta.is_leading, entity_kind=meta.entity_kind,
                                key_enterprise=meta.key_enterprise, above_scale=meta.above_scale,
                                override=imp_override.get(sid))
        policy = levels.SUBDAILY_POLICY if meta.frequency in ("15min", "hour") else levels.PERIOD_POLICY
        tracker, events = _track(levels.TrackerState() if sid in relearn else levels.TrackerState.from_json(st.tracker),
                                 sc, imp, meta.good_direction, policy)
        alert = existing.get(sid)
        relearned_alert = sid in relearn and alert is not None
        if alert is not None and relearned_alert:
            _relearned_alert(session, now, alert, tracker, sc, policies, report)
            events = []
        alert, opened_now = _apply_events(session, now, opts, meta, sc, events, tracker, alert, imp, windows,
                                          policies, rule_sets[sid], report, partial(scoring.ring_points, bank, k))
        if alert is not None and not relearned_alert and alert.signal_ended_at is not None and not tracker.level:
            _close_blue(session, alert, now)  # its signal ended in a re-learning, and new data agree
        if alert is not None:
            touched.append(alert.id)
            if alert.state in ACTIVE or opened_now:  # (an episode found over in the batch that raised it, too)
                _refresh_facts(alert, sc, rule_sets[sid], tracker)
            lo = sc.t[0] if not opened_now else -np.inf
            ring = scoring.ring_points(bank, k) if opened_now else []
            if relearned_alert:
                # The chart anew, as the re-learned detector scored it: the episode and the RING
                # points before it (or the last RING points), one stretch with no holes.
                first = int(np.searchsorted(sc.t, alert.episode_started_at.timestamp()))
                lo = float(sc.t[max(0, min(first, len(sc.t) - 1) - scoring.RING)])
                repo.drop_points(session, alert.id)
            seen: set[float] = set()
            for t, x, e, h, s in [*ring, *zip(sc.t.tolist(), sc.x.tolist(), sc.expected.tolist(), sc.half.tolist(),
                                              sc.severity.tolist(), strict=True)]:
                if t < lo or t in seen:
                    continue
                seen.add(t)
                fin = bool(np.isfinite(e) and np.isfinite(h))
                point_rows.append({"alert_id": alert.id, "time": _utc(t), "value": x,
                                   "expected": e if fin else None, "lower": e - h if fin else None,
                                   "upper": e + h if fin else None, "severity": s})
        updates.append({"series_id": sid, "scored_until": _utc(float(sc.t[-1])),
                        "points": (0 if sid in relearn else st.points) + len(sc.t), "detector_layout": lay.digest,
                        "detector_state": blobs_out[k], "tracker": tracker.to_json(),
                        "alert_id": alert.id if alert is not None and alert.state in ACTIVE and tracker.level
                        else None,
                        # a detector that starts here (new, re-learned, or a new state layout)
                        "learned_from": _utc(float(sc.t[0])) if blobs[k] is None else st.learned_from})
    session.flush()
    repo.save_states(session, updates, now)
    repo.add_points(session, point_rows)
    report.groups = _group(session, now, opts, policies)
    due = sorted(set(report.opened) | set(report.raised) | set(report.groups))
    if due:
        report.notifications = run_escalations(session, now, only=due, notify=notifications_service)
    return report


def _onset(sc: scoring.Scored, ring: Callable[[], list[tuple[float, float, float, float, float]]],
           start: datetime) -> datetime:
    """The episode's real beginning (`levels.onset`) over the series' last scored points: the
    ring from before this batch and the batch itself."""
    pts = {t: (x, e, h) for t, x, e, h, _ in ring()}
    pts.update(zip(sc.t.tolist(), zip(sc.x.tolist(), sc.expected.tolist(), sc.half.tolist(), strict=True),
                   strict=True))
    times = sorted(pts)
    found = levels.onset(times, [pts[t][0] for t in times], [pts[t][1] for t in times], [pts[t][2] for t in times],
                         start.timestamp())
    return start if found == start.timestamp() else datetime.fromtimestamp(found, UTC)


def _track(state: levels.TrackerState, sc: scoring.Scored, imp: float, good_direction: str,
           policy: levels.LevelPolicy) -> tuple[levels.TrackerState, list[levels.LevelEvent]]:
    """Run the episode tracker over the new points; quiet series take a vectorised shortcut."""
    sev = sc.severity
    if state.level == 0 and state.run == 0 and not bool((sev >= policy.activation).any()):
        tail = slice(max(0, len(sev) - policy.hold_points), len(sev))
        held = tuple(levels.priority(float(s), imp) for s in sev[tail])
        return levels.TrackerState(held=(*state.held, *held)[-policy.hold_points:]), []
    events: list[levels.LevelEvent] = []
    for i in range(len(sev)):
        w = levels.directional_importance(imp, good_direction, float(sc.x[i]), float(sc.expected[i]))
        res = levels.step(state, sc.at(i), float(sev[i]), w, policy,
                          None if sc.sustain is None else float(sc.sustain[i]), float(sc.x[i]),
                          float(sc.expected[i]))
        state = res.state
        events.extend(res.events)
    return state, events


def _in_window(windows: list[Window], meta: repo.SeriesMeta, at: datetime, kind: str) -> Window | None:
    return first_covering(windows, _target(meta), at, kind)


def _apply_events(session: Session, now: datetime, opts: EvaluationOptions, meta: repo.SeriesMeta,
                  sc: scoring.Scored, events: list[levels.LevelEvent], tracker: levels.TrackerState,
                  alert: Alert | None, imp: float, windows: list[Window],
                  policies: dict[levels.Level, escalation.Policy], rules: scoring.RuleSet,
                  report: EvaluationReport, ring: Callable[[], list[tuple[float, float, float, float, float]]]
                  ) -> tuple[Alert | None, bool]:
    opened_now = False
    stale = now - timedelta(hours=opts.stale_hours)
    for n, ev in enumerate(events):
        if ev.kind == "opened":
            if alert is not None:
                if alert.signal_ended_at is not None:
                    alert.signal_ended_at = None
                    _event(session, alert, "signal_recurred", now, level=alert.level,
                           detail={"data_at": ev.at.isoformat()})
                if ev.level is not None and ev.level > levels.Level.parse(alert.level):
                    _raise(session, alert, ev.level, now, policies, report)
                continue
            if _in_window(windows, meta, ev.at, "maintenance"):
                continue
            ended = next((e for e in events[n + 1:] if e.kind == "ended"), None)
            if ended is not None and ended.at < stale:
                continue  # an old episode that is already over: nothing to act on
            assert ev.level is not None
            alert = _open(session, now, meta, ev.level, _onset(sc, ring, ev.episode_start or ev.at), imp, windows,
                          policies)
            opened_now = True
            report.opened.append(alert.id)
        elif alert is None:
            continue
        elif ev.kind == "raised" and ev.level is not None:
            if ev.level > levels.Level.parse(alert.level):
                _raise(session, alert, ev.level, now, policies, report)
        elif ev.kind == "lowered" and ev.level is not None:
            if alert.state in ACTIVE and ev.level < levels.Level.parse(alert.level):
                _event(session, alert, "level_lowered", now, level=ev.level.name,
                       detail={"from": alert.level, "data_at": ev.at.isoformat()})
                alert.level = ev.level.name
        elif ev.kind == "ended":
            _end_signal(session, alert, ev.at, now, report)
    if alert is not None and "missing" in (alert.checks or []) and alert.signal_ended_at is None \
            and not tracker.level:
        # Reports have resumed and nothing else is wrong: the missing-data signal is over. Only
        # a report from after the silence began counts: after a restart the last reports before
        # it may be scored only now, and they say nothing about the silence.
        since = alert.episode_started_at.timestamp()
        resumed = next((k for k in range(len(sc.t)) if float(sc.t[k]) >= since), None)
        if resumed is not None:
            _end_signal(session, alert, sc.at(resumed), now, report)
    if alert is None and tracker.level and not _in_window(windows, meta, now, "maintenance"):
        # An episode still running after its maintenance window closed (or opened while
        # another evaluator held the series): raise it now.
        lvl = levels.Level(tracker.level)
        alert = _open(session, now, meta, lvl, tracker.episode_start or now, imp, windows, policies)
        opened_now = True
        report.opened.append(alert.id)
    return alert, opened_now


def _open(session: Session, now: datetime, meta: repo.SeriesMeta, lvl: levels.Level, started: datetime,
          imp: float, windows: list[Window], policies: dict[levels.Level, escalation.Policy]) -> Alert:
    alert = Alert(series_id=meta.series_id, indicator_code=meta.indicator_code, entity_kind=meta.entity_kind,
                  entity_id=meta.entity_id, district_id=meta.district_id, park_id=meta.park_id,
                  enterprise_id=meta.enterprise_id, level=lvl.name, peak_level=lvl.name, level_since=now,
                  state=State.open.value, episode_started_at=started, importance=imp, checks=[],
                  explanation_zh="", explanation_en="", severity=0.0, is_group=False,
                  due_at=policies[lvl].due_at(now), opened_at=now)
    repo.add(session, alert)
    session.flush()
    _event(session, alert, "opened", now, to_state=State.open.value, level=lvl.name,
           detail={"episode_started_at": started.isoformat(), "importance": round(imp, 3)})
    silence = first_covering(windows, _target(meta), now, "silence")
    if silence is not None:
        alert.silenced_by = silence.id
        _event(session, alert, "silenced", now, detail={"silence_id": silence.id})
    return alert


def _raise(session: Session, alert: Alert, lvl: levels.Level, now: datetime,
           policies: dict[levels.Level, escalation.Policy], report: EvaluationReport) -> None:
    _event(session, alert, "level_raised", now, level=lvl.name, detail={"from": alert.level})
    alert.level = lvl.name
    alert.level_since = now
    if lvl > levels.Level.parse(alert.peak_level):
        alert.peak_level = lvl.name
    alert.due_at = min(alert.due_at or policies[lvl].due_at(now), policies[lvl].due_at(now))
    report.raised.append(alert.id)


def _end_signal(session: Session, alert: Alert, at: datetime, now: datetime, report: EvaluationReport,
                close_blue: bool = True) -> None:
    if alert.signal_ended_at is not None:
        return
    alert.signal_ended_at = at
    _event(session, alert, "signal_ended", now, level=alert.level, detail={"data_at": at.isoformat()})
    report.ended.append(alert.id)
    if close_blue:
        _close_blue(session, alert, now)


def _close_blue(session: Session, alert: Alert, now: datetime) -> None:
    """A watch-level (blue) alert nobody has touched closes itself when the data is back to normal."""
    if alert.peak_level == levels.Level.blue.name and alert.state == State.open.value:
        text = "数据已恢复正常，系统自动办结 / data back to normal, closed by the system"
        alert.state, alert.resolved_at, alert.countermeasures = State.resolved.value, now, text
        _event(session, alert, "resolved", now, from_state=State.open.value, to_state=State.resolved.value, text=text)


def _refresh_facts(alert: Alert, sc: scoring.Scored, rules: scoring.RuleSet, tracker: levels.TrackerState) -> None:
    """Latest value, band, what fired and the explanation, for the dashboard and the e-mails."""
    last = len(sc.t) - 1
    best = last
    names, fired = scoring.checks_at(sc, last, rules)
    # Every check that fired on this batch's points of the episode, most recent first.
    start = alert.episode_started_at.timestamp()
    for k in range(last, -1, -1):
        if sc.t[k] < start:
            break
        if sc.severity[k] >= levels.SUBDAILY_POLICY.activation:
            cand, cand_fired = scoring.checks_at(sc, k, rules)
            names = names + tuple(c for c in cand if c not in names)
            if not fired and cand_fired:
                fired = cand_fired
            if sc.severity[k] > sc.severity[best]:
                best = k
    x, e, h = float(sc.x[last]), float(sc.expected[last]), float(sc.half[last])
    alert.value, alert.last_point_at = x, sc.at(last)
    away = tracker.baseline if levels.departed(x, tracker.baseline) else None
    if away is not None:
        # The detector has followed a shutdown down; what the plant is measured against is
        # the level expected where the episode began (no band: the band was the detector's).
        alert.expected, alert.lower, alert.upper = away, None, None
    elif np.isfinite(e) and np.isfinite(h):
        alert.expected, alert.lower, alert.upper = e, e - h, e + h
    alert.severity = max(float(sc.severity[best]), alert.severity if alert.signal_ended_at is None else 0.0)
    merged = list(alert.checks or [])
    for c in names:
        if c not in merged:
            merged.append(c)
    alert.checks = merged
    since = alert.episode_started_at.astimezone(detectors.LOCAL_TZ)
    lo, hi = (alert.lower, alert.upper) if alert.lower is not None and alert.upper is not None else (e, e)
    extra = (sc.year_to_date, sc.ytd_growth)
    back = away is None and lo <= x <= hi  # the latest value is inside its band again
    if back and best != last and np.isfinite(sc.expected[best]) and np.isfinite(sc.half[best]):
        # "Within the expected band, since ..." is not what an alert is about: say what the
        # episode's worst point was, then where the latest value is.
        xb, eb, hb = float(sc.x[best]), float(sc.expected[best]), float(sc.half[best])
        zh, en = detectors.explain(xb, eb, eb - hb, eb + hb, tuple(merged), since, fired, *extra, monthly=sc.monthly)
        zh, en = _latest_back(zh, en, x, sc.at(last), sc.monthly)
    elif back and alert.explanation_zh and float(sc.severity[last]) < levels.SUBDAILY_POLICY.activation:
        # Nothing unusual in this batch: keep the sentence about the anomaly.
        zh, en = _latest_back(alert.explanation_zh.split(_LATEST_ZH)[0], alert.explanation_en.split(_LATEST_EN)[0],
                              x, sc.at(last), sc.monthly)
    else:
        zh, en = detectors.explain(x, e, lo, hi, tuple(merged), since, fired, *extra, away, monthly=sc.monthly)
    alert.explanation_zh, alert.explanation_en = zh, en


_LATEST_ZH, _LATEST_EN = "；最新值 ", "; the latest value "


def _latest_back(zh: str, en: str, value: float, at: datetime, monthly: bool = False) -> tuple[str, str]:
    local = at.astimezone(detectors.LOCAL_TZ)
    when, when_en = detectors.stamp(local, monthly), detectors.stamp(local, monthly, en=True)
    return (f"{zh}{_LATEST_ZH}{detectors.fmt(value)}（{when}）已回到预期区间内",
            f"{en}{_LATEST_EN}{detectors.fmt(value)} ({when_en}) is back within the expected band")


# --- charts -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChartData:
    """What the episode chart (e-mails, `GET /alerts/{id}/chart.png`) draws for an alert."""

    times: list[datetime]
    values: list[float]
    expected: list[float | None]
    lower: list[float | None]
    upper: list[float | None]
    episode_start: datetime
    gap: tuple[datetime, datetime] | None = None  # a series that stopped: (last report, end of the silence)


MISSING_CHART_POINTS = 96  # a day of 15-minute reports (four days of hourly ones) before a silence


def chart_data(session: Session, alert: Alert, now: datetime) -> ChartData | None:
    """The chart of an alert (of its first member for a park group): the scored points around
    the episode with their expected band; for a series that stopped reporting, its last
    reports and the silence since (`silence_chart`). None when there is nothing to draw."""
    target = alert
    if alert.is_group:
        found = repo.members(session, alert.id)
        if not found:
            return None
        target = found[0]
    pts = repo.points(session, target.id)
    silence = silence_chart(session, target, now, len(pts))
    if silence is not None or len(pts) < 2:
        return silence
    times = [p.time for p in pts]
    e, lo, hi = chart_expectation(target, times, [p.expected for p in pts], [p.lower for p in pts],
                                  [p.upper for p in pts])
    return ChartData(times, [p.value for p in pts], e, lo, hi, target.episode_started_at)


def chart_expectation(alert: Alert, times: list[datetime], expected: list[float | None],
                      lower: list[float | None], upper: list[float | None]
                      ) -> tuple[list[float | None], list[float | None], list[float | None]]:
    """The expectation and band an alert's chart draws: the detector's, point by point, except
    while the values have `levels.departed` from where the episode began (a shutdown): then
    the episode is drawn against the expectation from before it (`levels.held_expectation`),
    as its explanation measures it."""
    if levels.departed(alert.value, alert.expected):
        return levels.held_expectation(times, expected, lower, upper, alert.episode_started_at)
    return expected, lower, upper


def silence_chart(session: Session, alert: Alert, now: datetime, n_scored: int) -> ChartData | None:
    """For a missing-report alert with nothing else fired (or nothing scored: fewer than 2 of
    its `n_scored` points), the last reports before the silence and the first after it if
    reports resumed (points scored then would show only those), up to `now`; else None."""
    checks = set(alert.checks or [])
    if "missing" not in checks or alert.series_id is None or (n_scored >= 2 and checks != {"missing"}):
        return None
    # The episode of a silence starts one interval after the last report (check_missing).
    pivot = alert.episode_started_at
    end = alert.signal_ended_at or alert.resolved_at or now
    around = repo.reports_around(session, alert.series_id, pivot, MISSING_CHART_POINTS, max(end, now),
                                 MISSING_CHART_POINTS // 4)
    before = [t for t, _ in around if t <= pivot]
    if len(around) < 2 or not before:
        return None
    resumed = next((t for t, _ in around if t > pivot), None)
    none: list[float | None] = [None] * len(around)
    return ChartData([t for t, _ in around], [v for _, v in around], none, none, none, pivot,
                     gap=(before[-1], resumed or max(end, before[-1])))


# --- missing reports ----------------------------------------------------------------------------
FREQUENCY_STEP = {"15min": timedelta(minutes=15), "hour": timedelta(hours=1)}
MISSING_SEVERITY = 0.85  # a meter that stops reporting: yellow for an ordinary series, orange for a key one


def check_missing(session: Session, now: datetime, grace_intervals: int = 4, give_up: timedelta = timedelta(days=7)
                  ) -> list[int]:
    """Raise an alert for every sub-daily series with no report by its deadline (last point +
    one interval + ``grace_intervals`` intervals); returns the new alerts' ids. The alert's
    signal ends when data arrives again (see `evaluate`). Series silent for longer than
    ``give_up`` are left alone (retired meters)."""
    from backend.detection.rules import missing_data

    silent = repo.silent_series(session, now, now - give_up)
    if not silent:
        return []
    metas = repo.series_meta(session, [s for s, _, _ in silent], now.date())
    windows = _windows(repo.active_silences(session, now))
    policies = effective_policies(session)
    rules_imp = _rules_by_series(repo.rules_for(session, {m.indicator_code for m in metas.values()}), metas)[1]
    from backend.ingestion.service import held_counts

    held = held_counts(session, [s for s, _, _ in silent])
    opened: list[int] = []
    for sid, last, freq in silent:
        meta = metas.get(sid)
        step = FREQUENCY_STEP[freq]
        res = missing_data(last, step, now, grace_intervals * step) if meta else None
        if meta is None or res is None or _in_window(windows, meta, now, "maintenance"):
            continue
        imp = levels.importance(is_leading=meta.is_leading, entity_kind=meta.entity_kind,
                                key_enterprise=meta.key_enterprise, above_scale=meta.above_scale,
                                override=rules_imp.get(sid))
        lvl = levels.level_for(levels.priority(MISSING_SEVERITY, imp), levels.SUBDAILY_POLICY) or levels.Level.blue
        alert = _open(session, now, meta, lvl, last + step, imp, windows, policies)
        alert.checks = ["missing"]
        alert.last_point_at = last
        alert.explanation_zh, alert.explanation_en = res.message_zh, res.message_en
        if held.get(sid):
            # Not silent after all: its values arrived and are held as a suspected unit mix-up.
            alert.explanation_zh += f"；另有 {held[sid]} 条数据因疑似单位错误暂存待核（隔离区）"
            alert.explanation_en += f"; {held[sid]} values arrived and are held in quarantine as a suspected unit mix-up"
        opened.append(alert.id)
    session.flush()
    return opened


# --- grouping ---------------------------------------------------------------------------------
def _group(session: Session, now: datetime, opts: EvaluationOptions,
           policies: dict[levels.Level, escalation.Policy]) -> list[int]:
    """Form or extend park-level groups; returns the ids of groups created or raised now."""
    ungrouped = repo.ungrouped_enterprise_alerts(session)
    groups = repo.active_groups(session)
    if not ungrouped and not groups:
        return []
    plan = grouping.plan(
        [grouping.Member(a.id, a.park_id, a.indicator_code, a.episode_started_at)
         for a in ungrouped if a.park_id is not None],
        [grouping.ExistingGroup(g.id, g.park_id, g.indicator_code, g.episode_started_at)
         for g in groups if g.park_id is not None],
        opts.group_window, opts.group_min_members)
    by_id = {a.id: a for a in ungrouped}
    group_by_id = {g.id: g for g in groups}
    changed: list[int] = []
    for d in plan:
        members = [by_id[i] for i in d.members]
        top = max(levels.Level.parse(m.level) for m in members)
        if d.group_id is None:
            first = min(members, key=lambda m: m.episode_started_at)
            group = Alert(series_id=None, is_group=True, indicator_code=d.indicator_code, entity_kind="park",
                          entity_id=d.park_id, district_id=first.district_id, park_id=d.park_id, enterprise_id=None,
                          level=top.name, peak_level=top.name, level_since=now, state=State.open.value,
                          episode_started_at=first.episode_started_at, importance=max(m.importance for m in members),
                          severity=max(m.severity for m in members), checks=sorted({c for m in members for c in m.checks}),
                          explanation_zh=f"园区内 {len(members)} 家企业同时出现异常", explanation_en=(
                              f"{len(members)} enterprises in the park deviate at the same time"),
                          due_at=policies[top].due_at(now), opened_at=now, silenced_by=first.silenced_by)
            repo.add(session, group)
            session.flush()
            _event(session, group, "opened", now, to_state=State.open.value, level=top.name,
                   detail={"members": list(d.members)})
            changed.append(group.id)
        else:
            group = group_by_id[d.group_id]
        for m in members:
            m.parent_id = group.id
            _event(session, m, "grouped", now, detail={"group_id": group.id})
        _event(session, group, "members_added", now, detail={"members": list(d.members)})
    session.flush()
    # A group is as severe as its worst member, and says how many enterprises it holds.
    for group in repo.active_groups(session):
        members = repo.members(session, group.id)
        if not members:
            continue
        group.explanation_zh = f"园区内 {len(members)} 家企业同时出现异常"
        group.explanation_en = f"{len(members)} enterprises in the park deviate at the same time"
        group.checks = sorted({c for m in members for c in m.checks})
        top = max(levels.Level.parse(m.level) for m in members)
        if top > levels.Level.parse(group.level):
            _event(session, group, "level_raised", now, level=top.name, detail={"from": group.level})
            group.level, group.level_since = top.name, now
            group.peak_level = max(levels.Level.parse(group.peak_level), top).name
            group.due_at = min(group.due_at or policies[top].due_at(now), policies[top].due_at(now))
            if group.id not in changed:
                changed.append(group.id)
    session.flush()
    return changed


# --- escalation ---------------------------------------------------------------------------------
def run_escalations(session: Session, now: datetime, only: Sequence[int] | None = None, notify: Any = None) -> int:
    """Fire every escalation step that is due; returns the number of notifications written."""
    if notify is None:
        from backend.notifications import service as notify
    alerts = repo.escalation_candidates(session, only)
    if not alerts:
        return 0
    policies = effective_policies(session)
    fired = repo.fired_steps(session, [a.id for a in alerts])
    written = 0
    for a in alerts:
        lvl = levels.Level.parse(a.level)
        due = escalation.due_steps(policies[lvl], a.level_since, now, acknowledged=a.acknowledged_at is not None,
                                   resolved=a.state not in ACTIVE, done=fired[a.id])
        for key, step in due:
            if not repo.record_fired(session, a.id, key, now):
                continue
            if step.escalate:
                before = a.state
                if a.state != State.escalated.value:
                    a.state = State.escalated.value
                a.escalated_at = now
                _event(session, a, "escalated", now, from_state=before, to_state=a.state, level=a.level,
                       text="自动升级：" + "、".join(escalation.POSITION_ZH[t] for t in step.targets),
                       detail={"step": key, "targets": list(step.targets), "condition": step.condition,
                               "after_minutes": step.after_minutes})
            else:
                _event(session, a, "notified", now, level=a.level,
                       detail={"step": key, "targets": list(step.targets), "email": step.email})
            if step.email:
                written += notify.enqueue_for_alert(session, a, step.targets, kind="escalation" if step.escalate
                                                    else "alert", key=key, now=now)
    session.flush()
    return written


# --- lifecycle actions (API) -------------------------------------------------------------------
@dataclass(frozen=True)
class Actor:
    user_id: int | None
    name: str


def _act(session: Session, alert_id: int, action: Action, actor: Actor, now: datetime, text: str | None = None
         ) -> Alert:
    alert = repo.get_alert(session, alert_id, lock=True)
    if alert is None:
        raise NotFound(f"alert {alert_id} does not exist")
    try:
        tr = transition(State(alert.state), action, already_acknowledged=alert.acknowledged_at is not None, text=text)
    except TransitionError as exc:
        raise Conflict(str(exc)) from None
    alert.state = tr.to_state.value
    alert.updated_at = now
    if tr.acknowledges:
        alert.acknowledged_at, alert.acknowledged_by = now, actor.user_id
    return alert


def acknowledge(session: Session, alert_id: int, actor: Actor, now: datetime, note: str | None = None) -> Alert:
    prev = _state_of(session, alert_id)
    alert = _act(session, alert_id, Action.acknowledge, actor, now)
    _event(session, alert, "acknowledged", now, actor=actor.name, actor_user_id=actor.user_id, from_state=prev,
           to_state=alert.state, text=note)
    _cascade(session, alert, Action.acknowledge, actor, now, note)
    session.flush()
    return alert


def escalate(session: Session, alert_id: int, actor: Actor, now: datetime, targets: Sequence[str], reason: str
             ) -> Alert:
    from backend.notifications import service as notify

    unknown = [t for t in targets if t not in escalation.POSITIONS]
    if unknown or not targets:
        raise InvalidRequest(f"escalate to one or more of {', '.join(escalation.POSITIONS)}; got {list(targets)}")
    before = repo.get_alert(session, alert_id)
    prev = before.state if before else None
    alert = _act(session, alert_id, Action.escalate, actor, now, reason)
    alert.escalated_at = now
    _event(session, alert, "escalated", now, actor=actor.name, actor_user_id=actor.user_id, from_state=prev,
           to_state=alert.state, text=reason, detail={"targets": list(targets)})
    n = len(repo.events(session, alert.id))
    notify.enqueue_for_alert(session, alert, tuple(targets), kind="escalation", key=f"manual:{n}", now=now,
                             reason=reason)
    session.flush()
    return alert


def resolve(session: Session, alert_id: int, actor: Actor, now: datetime, countermeasures: str) -> Alert:
    from backend.notifications import service as notify

    prev = _state_of(session, alert_id)
    alert = _act(session, alert_id, Action.resolve, actor, now, countermeasures)
    alert.resolved_at, alert.resolved_by, alert.countermeasures = now, actor.user_id, countermeasures.strip()
    _event(session, alert, "resolved", now, actor=actor.name, actor_user_id=actor.user_id, from_state=prev,
           to_state=alert.state, text=countermeasures.strip())
    _cascade(session, alert, Action.resolve, actor, now, countermeasures)
    notify.enqueue_resolved(session, alert, now)
    session.flush()
    return alert


def close_false_alarm(session: Session, alert_id: int, actor: Actor, now: datetime, reason: str) -> Alert:
    from backend.notifications import service as notify

    prev = _state_of(session, alert_id)
    alert = _act(session, alert_id, Action.close_false_alarm, actor, now, reason)
    alert.resolved_at, alert.resolved_by, alert.close_reason = now, actor.user_id, reason.strip()
    _event(session, alert, "false_alarm", now, actor=actor.name, actor_user_id=actor.user_id, from_state=prev,
           to_state=alert.state, text=reason.strip())
    _cascade(session, alert, Action.close_false_alarm, actor, now, reason)
    notify.enqueue_resolved(session, alert, now)
    session.flush()
    return alert


def comment(session: Session, alert_id: int, actor: Actor, now: datetime, text: str) -> Alert:
    alert = _act(session, alert_id, Action.comment, actor, now, text)
    _event(session, alert, "comment", now, actor=actor.name, actor_user_id=actor.user_id, text=text.strip())
    session.flush()
    return alert


def assign(session: Session, alert_id: int, actor: Actor, now: datetime, department: str,
           assignee_user_id: int | None = None) -> Alert:
    if not department.strip():
        raise InvalidRequest("name the department the alert is assigned to")
    alert = _act(session, alert_id, Action.assign, actor, now)
    alert.department, alert.assignee_user_id = department.strip(), assignee_user_id
    _event(session, alert, "assigned", now, actor=actor.name, actor_user_id=actor.user_id, text=department.strip(),
           detail={"assignee_user_id": assignee_user_id})
    session.flush()
    return alert


def _state_of(session: Session, alert_id: int) -> str | None:
    a = repo.get_alert(session, alert_id)
    return a.state if a else None


def _cascade(session: Session, group: Alert, action: Action, actor: Actor, now: datetime, text: str | None) -> None:
    """Handling a park group handles its member alerts the same way."""
    if not group.is_group:
        return
    for m in repo.members(session, group.id):
        if m.state not in ACTIVE:
            continue
        try:
            tr = transition(State(m.state), action, already_acknowledged=m.acknowledged_at is not None, text=text)
        except TransitionError:
            continue
        before = m.state
        m.state = tr.to_state.value
        if tr.acknowledges:
            m.acknowledged_at, m.acknowledged_by = now, actor.user_id
        if action in (Action.resolve, Action.close_false_alarm):
            m.resolved_at, m.resolved_by = now, actor.user_id
            if action is Action.resolve:
                m.countermeasures = (text or "").strip()
            else:
                m.close_reason = (text or "").strip()
        _event(session, m, tr.to_state.value if action is not Action.acknowledge else "acknowledged", now,
               actor=actor.name, actor_user_id=actor.user_id, from_state=before, to_state=m.state, text=text,
               detail={"via_group": group.id})


# --- silences, rules, policies ------------------------------------------------------------------
def create_silence(session: Session, *, kind: str, starts_at: datetime, ends_at: datetime, reason: str,
                   created_by: int | None, indicator_code: str | None = None, entity_kind: str | None = None,
                   entity_id: int | None = None, district_id: int | None = None, park_id: int | None = None,
                   everything: bool = False) -> Silence:
    if kind not in ("silence", "maintenance"):
        raise InvalidRequest("kind is silence or maintenance")
    if ends_at <= starts_at:
        raise InvalidRequest("ends_at must be after starts_at")
    if not reason.strip():
        raise InvalidRequest("a silence needs a reason")
    if not everything and all(v is None for v in (indicator_code, entity_kind, district_id, park_id)):
        raise InvalidRequest("a silence without any matcher covers every alert: set everything=true to mean it")
    s = Silence(kind=kind, starts_at=starts_at, ends_at=ends_at, reason=reason.strip(), created_by=created_by,
                indicator_code=indicator_code, entity_kind=entity_kind, entity_id=entity_id, district_id=district_id,
                park_id=park_id)
    repo.add(session, s)
    session.flush()
    return s


def note_silence_on(session: Session, alert: Alert, s: Silence, actor: Actor, now: datetime, tz: ZoneInfo) -> None:
    """Record on an alert's timeline that a silence or maintenance window was made from it."""
    until = s.ends_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    what = "维护窗口" if s.kind == "maintenance" else "静默（不发邮件）"
    _event(session, alert, "silenced", now, actor=actor.name, actor_user_id=actor.user_id,
           text=f"{what}至 {until}：{s.reason}", detail={"silence_id": s.id, "kind": s.kind,
                                                         "ends_at": s.ends_at.isoformat()})
    session.flush()


def cancel_silence(session: Session, silence_id: int, now: datetime) -> Silence:
    s = session.get(Silence, silence_id)
    if s is None:
        raise NotFound(f"silence {silence_id} does not exist")
    if s.cancelled_at is None:
        s.cancelled_at = now
    session.flush()
    return s


RULE_KINDS = ("threshold", "yoy", "target", "importance")


def upsert_rule(session: Session, rule_id: int | None, *, name: str, indicator_code: str, kind: str,
                params: dict[str, Any], entity_kind: str | None, entity_id: int | None, importance: float | None,
                enabled: bool, user_id: int | None, now: datetime) -> Rule:
    if kind not in RULE_KINDS:
        raise InvalidRequest(f"rule kind is one of {', '.join(RULE_KINDS)}")
    params = clean_rule_params(kind, params)
    _check_rule_subject(session, indicator_code, entity_kind, entity_id)
    if kind == "threshold" and params.get("lower") is None and params.get("upper") is None:
        raise InvalidRequest("a threshold rule needs lower and/or upper")
    if kind == "yoy" and params.get("min_pct") is None and params.get("max_pct") is None:
        raise InvalidRequest("a 同比 (yoy) rule needs min_pct and/or max_pct")
    if kind == "target" and params.get("target") is None:
        raise InvalidRequest("a target rule needs target (and tolerance_pct)")
    if kind == "importance" and importance is None:
        raise InvalidRequest("an importance rule needs importance")
    if importance is not None and not 0.1 <= importance <= 5:
        raise InvalidRequest("importance is between 0.1 and 5")
    if rule_id is None:
        rule = Rule(created_by=user_id)
        repo.add(session, rule)
    else:
        found = session.get(Rule, rule_id)
        if found is None:
            raise NotFound(f"rule {rule_id} does not exist")
        rule = found
    rule.name, rule.indicator_code, rule.kind, rule.params = name, indicator_code, kind, params
    rule.entity_kind, rule.entity_id, rule.importance, rule.enabled = entity_kind, entity_id, importance, enabled
    rule.updated_at = now
    session.flush()
    return rule


RULE_PARAMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # kind: (number params, yes/no params)
    "threshold": (("lower", "upper"), ()),
    "yoy": (("min_pct", "max_pct"), ()),
    "target": (("target", "tolerance_pct"), ("two_sided",)),
    "importance": ((), ()),
}


def clean_rule_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """A rule's params as the evaluation reads them, or InvalidRequest saying what is wrong.

    Every alert evaluation reads every rule, so a rule stored with `"lower": "abc"` or a
    misspelt key would either stop all alerting or silently never fire: both are refused
    here. Null values are left out (the same as not given)."""
    numbers, flags = RULE_PARAMS[kind]
    given = {k: v for k, v in params.items() if v is not None}
    unknown = sorted(set(given) - set(numbers) - set(flags))
    if unknown:
        takes = ", ".join(numbers + flags) or "no params"
        raise InvalidRequest(f"a {kind} rule takes {takes}; not {', '.join(unknown)}")
    out: dict[str, Any] = {}
    for k, v in given.items():
        if k in flags:
            if not isinstance(v, bool):
                raise InvalidRequest(f"{k} is true or false, not {v!r}")
            out[k] = v
        elif isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
            raise InvalidRequest(f"{k} is a number, not {v!r}")
        else:
            out[k] = float(v)
    for low, high in (("lower", "upper"), ("min_pct", "max_pct")):
        if low in out and high in out and out[low] > out[high]:
            raise InvalidRequest(f"{low} ({out[low]:g}) is above {high} ({out[high]:g})")
    if out.get("tolerance_pct", 0.0) < 0:
        raise InvalidRequest("tolerance_pct is a percentage >= 0")
    return out


def _check_rule_subject(session: Session, indicator_code: str, entity_kind: str | None,
                        entity_id: int | None) -> None:
    """The indicator and the district, park or enterprise a rule names must exist: a rule on
    a misspelt code would never fire, and nobody would notice."""
    from backend.catalogue.models import Indicator
    from backend.registry.models import District, Enterprise, Park

    if session.get(Indicator, indicator_code) is None:
        raise InvalidRequest(f"unknown indicator {indicator_code!r} (GET /api/v1/indicators lists them)")
    if entity_id is not None:
        model = {"district": District, "park": Park, "enterprise": Enterprise}.get(entity_kind or "")
        if model is None:
            raise InvalidRequest("entity_id needs entity_kind district, park or enterprise")
        if session.get(model, entity_id) is None:
            raise InvalidRequest(f"{entity_kind} {entity_id} does not exist")


def delete_rule(session: Session, rule_id: int) -> None:
    rule = session.get(Rule, rule_id)
    if rule is None:
        raise NotFound(f"rule {rule_id} does not exist")
    session.delete(rule)
    session.flush()


def set_policy(session: Session, level: str, steps: list[dict[str, Any]], resolve_within_hours: float,
               user_id: int | None, now: datetime) -> EscalationPolicy:
    try:
        levels.Level.parse(level)
        parsed = escalation.parse_steps(steps)
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidRequest(str(exc)) from None
    if resolve_within_hours <= 0:
        raise InvalidRequest("resolve_within_hours must be positive")
    row = next((p for p in repo.policies(session) if p.level == level), None)
    if row is None:
        row = EscalationPolicy(level=level)
        repo.add(session, row)
    row.steps = [s.to_json() for s in parsed]
    row.resolve_within_hours, row.updated_by, row.updated_at = resolve_within_hours, user_id, now
    session.flush()
    return row


def reset_policy(session: Session, level: str) -> None:
    for p in repo.policies(session):
        if p.level == level:
            session.delete(p)
    session.flush()


def reset_series_state(session: Session, series_ids: Sequence[int]) -> None:
    """Forget the detector state of these series (they are re-learnt from history)."""
    for sid in series_ids:
        st = session.get(SeriesState, sid)
        if st is not None:
            session.delete(st)
    session.flush()
