"""Since when, and against what: an alert's episode starts where the values first left their
band (not where the detector could first call it), and the chart of a shutdown measures the
plant against what was expected before it, not against a detector that has followed it down."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backend.alerts import levels, service
from backend.alerts.models import AlertEvent
from backend.detection.engine import DetectorConfig
from backend.observations import repository as obs_repo
from tests.alerts.test_history_arrives_late import _active
from tests.detection.test_first_visit import COKE, COKE_FIRST

DAY = 86_400.0


# --- pure ----------------------------------------------------------------------------------------
def test_onset_walks_back_over_the_points_already_outside_the_band_on_the_same_side() -> None:
    t = [k * DAY for k in range(10)]
    x = [100.0, 101.0, 99.0, 130.0, 70.0, 71.0, 69.0, 70.0, 72.0, 70.0]
    e = [100.0] * 10
    h = [10.0] * 10
    # flagged at the 8th point; the drop began at the 5th (the 4th was above the band: another side)
    assert levels.onset(t, x, e, h, t[7]) == t[4]
    # unsorted input is read in time order
    order = [9, 2, 7, 0, 4, 1, 8, 3, 6, 5]
    assert levels.onset([t[k] for k in order], [x[k] for k in order], [e[k] for k in order],
                        [h[k] for k in order], t[7]) == t[4]
    # the opening point inside its band (a rule fired): unchanged
    assert levels.onset(t, x, e, h, t[1]) == t[1]
    # a point with no band stops the walk
    e2 = list(e)
    e2[5] = math.nan
    assert levels.onset(t, x, e2, h, t[7]) == t[6]
    # a start that is not among the points: unchanged
    assert levels.onset(t, x, e, h, 12.5 * DAY) == 12.5 * DAY


def test_held_expectation_carries_the_cycle_from_before_the_episode() -> None:
    start = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
    times = [start + timedelta(hours=k) for k in range(-48, 30)]
    cycle = [1000.0 + 200.0 * math.sin(2 * math.pi * k / 24) for k in range(-48, 30)]
    # the detector's expectation follows the shutdown down from the start on
    expected: list[float | None] = [c if k < 48 else c * max(0.05, 1 - (k - 48) / 10) for k, c in enumerate(cycle)]
    lower: list[float | None] = [None if v is None else v - 50.0 for v in expected]
    upper: list[float | None] = [None if v is None else v + 50.0 for v in expected]
    e, lo, hi = levels.held_expectation(times, expected, lower, upper, start)
    assert e[:48] == expected[:48] and lo[:48] == lower[:48]  # before the episode: as scored
    for k in range(48, len(times)):
        assert e[k] == expected[k - 24 * math.ceil((k - 48 + 1e-9) / 24)]  # same hour, the last day before
        assert abs(e[k] - cycle[k]) < 1e-9 and lo[k] == e[k] - 50.0 and hi[k] == e[k] + 50.0  # type: ignore[operator]
    # daily points carry the same weekday's expectation; with nothing before the start, unchanged
    days = [start + timedelta(days=k) for k in range(-14, 5)]
    de: list[float | None] = [float(100 + (k % 7)) if k < 14 else 1.0 for k in range(len(days))]
    band: list[float | None] = [1.0] * len(days)
    got = levels.held_expectation(days, de, band, band, start)[0]
    assert got[14:] == [de[k - 7] for k in range(14, len(days))]
    assert levels.held_expectation(times[48:], expected[48:], lower[48:], upper[48:], start)[0] == expected[48:]


# --- through the evaluation ---------------------------------------------------------------------
def test_a_daily_drop_met_in_the_warm_up_is_dated_from_its_first_day(db_session: Session) -> None:
    # The demo's case (29 Nov 2026): a coke plant's output fell 29 % on 20 November; its daily
    # series was first met with a month of history, so the drop's first days were warm-up,
    # and the alert said "since 28 November". It began on the 20th.
    d = db_session.execute(text("SELECT id FROM district ORDER BY id LIMIT 1")).scalar_one()
    key = ("coke.output", "district", d)
    sid = obs_repo.ensure_series(db_session, [key])[key]
    first = datetime(2026, 10, 29, 16, 0, tzinfo=UTC)  # local midnight of 30 October
    drop = datetime(2026, 11, 19, 16, 0, tzinfo=UTC)  # 20 November
    rng = np.random.default_rng(5)
    rows = []
    for k in range(30):
        t = first + timedelta(days=k)
        level = 4000.0 * (0.71 if t >= drop else 1.0)
        rows.append(obs_repo.ObservationRow(sid, t, level * (1 + 0.015 * rng.standard_normal()), "test"))
    obs_repo.write_observations(db_session, rows, "period_observation", "Asia/Shanghai")
    now = first + timedelta(days=30, hours=2)
    service.evaluate(db_session, now, series_ids=[sid])
    alerts = _active(db_session, sid)
    assert len(alerts) == 1, alerts
    assert alerts[0].episode_started_at == drop, alerts[0].episode_started_at
    assert "2026-11-20" in alerts[0].explanation_zh, alerts[0].explanation_zh


def test_the_chart_of_a_shutdown_keeps_the_expectation_from_before_it(db_session: Session) -> None:
    now = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    step = timedelta(minutes=15)
    d = db_session.execute(text("SELECT id FROM district ORDER BY id LIMIT 1 OFFSET 2")).scalar_one()
    key = ("power.consumption", "district", d)
    sid = obs_repo.ensure_series(db_session, [key])[key]
    n, down = 16 * 96, 31 * 4  # two weeks and a day, the last 31 hours at 3 %

    def load(k: int) -> float:
        x = 1000.0 * (1 + 0.25 * math.sin(2 * math.pi * k / 96)) * (1 + 0.02 * np.random.default_rng(k).standard_normal())
        return x * 0.03 if k >= n - down else x

    obs_repo.write_observations(db_session, [obs_repo.ObservationRow(sid, now - (n - 1 - k) * step, load(k), "test")
                                             for k in range(n)], "observation", "Asia/Shanghai")
    service.evaluate(db_session, now, series_ids=[sid])
    (alert,) = _active(db_session, sid)
    assert alert.value is not None and alert.expected is not None and alert.value < 0.3 * alert.expected
    chart = service.chart_data(db_session, alert, now)
    assert chart is not None
    late = [k for k, t in enumerate(chart.times) if t >= now - timedelta(hours=12)]
    assert late
    for k in late:
        assert chart.values[k] < 50
        e, lo = chart.expected[k], chart.lower[k]
        assert e is not None and lo is not None and e > 600 and lo > 300, (chart.times[k], e, lo)
    # the stored points (the detector's own view) stay as scored: it had followed the plant down
    raw = {p.time: p.expected for p in service.repo.points(db_session, alert.id)}
    assert min(v for t, v in raw.items() if t >= now - timedelta(hours=12) and v is not None) < 300




def test_an_untouched_alert_raised_by_a_short_learning_is_rejudged_when_the_history_arrives(
        db_session: Session) -> None:
    # First met with these ten weeks only, the detector as it was before its first slot visits
    # were bounded (`first_slot_bound=0`, tests/detection/test_first_visit.py) learns the holiday
    # shift as a Thursday and Friday dip and flags ordinary Thursdays in November (the demo's
    # alert #37). When the months before arrive, the series is re-learned although it has an
    # alert (nobody has touched it), and the re-learned detector finds nothing wrong at the end:
    # the alert's signal ends. (Any short learning that raised an alert the full history does
    # not support goes the same way.)
    opts = service.EvaluationOptions(detector=DetectorConfig(first_slot_bound=0.0))
    d = db_session.execute(text("SELECT id FROM district ORDER BY id LIMIT 1")).scalar_one()
    key = ("coke.output", "district", d)
    sid = obs_repo.ensure_series(db_session, [key])[key]
    obs_repo.write_observations(db_session, [obs_repo.ObservationRow(sid, COKE_FIRST + timedelta(days=k), float(v),
                                                                     "test") for k, v in enumerate(COKE)],
                                "period_observation", "Asia/Shanghai")
    now = COKE_FIRST + timedelta(days=len(COKE), hours=2)
    service.evaluate(db_session, now, opts, series_ids=[sid])
    (alert,) = _active(db_session, sid)
    assert alert.episode_started_at > datetime(2026, 10, 20, tzinfo=UTC)  # a November "dip" that is not there
    rng = np.random.default_rng(11)
    older = [obs_repo.ObservationRow(sid, COKE_FIRST - timedelta(days=k), 1930.0 * (1 + 0.02 * rng.standard_normal()),
                                     "test") for k in range(1, 200)]
    # ... and the next day's figure, an ordinary one
    obs_repo.write_observations(db_session, [*older, obs_repo.ObservationRow(sid, COKE_FIRST + timedelta(days=len(COKE)),
                                                                          1950.0, "test")],
                                "period_observation", "Asia/Shanghai")
    later = now + timedelta(days=1)
    report = service.evaluate(db_session, later, opts, series_ids=[sid])
    assert report.relearned == [sid]
    db_session.refresh(alert)
    kinds = [e.kind for e in db_session.execute(select(AlertEvent).where(AlertEvent.alert_id == alert.id)).scalars()]
    assert alert.signal_ended_at is not None and "relearned" in kinds and "signal_ended" in kinds
    # Still open: a backfill's next chunk may find the episode again (then the same alert
    # recurs). The next day's figure, scored without a re-learning, closes the blue alert.
    assert alert.state == "open" and alert.level == "blue", (alert.state, alert.level)
    next_day = COKE_FIRST + timedelta(days=len(COKE) + 1)
    obs_repo.write_observations(db_session, [obs_repo.ObservationRow(sid, next_day, 1940.0, "test")],
                                "period_observation", "Asia/Shanghai")
    assert service.evaluate(db_session, later + timedelta(days=1), opts, series_ids=[sid]).relearned == []
    db_session.refresh(alert)
    assert alert.state == "resolved" and _active(db_session, sid) == []


@pytest.mark.parametrize("DROP", [0.03, 0.4])
def test_an_untouched_alert_on_a_real_episode_stays_through_the_relearning(db_session: Session, DROP: float) -> None:
    # The shutdown (3 %) or fall (to 40 %) is in the data the first evaluation has; the re-learned
    # detector sees it too: the same alert stays open, from the same start, and re-learning at
    # each chunk of history does not replay the episode's rises and falls on the timeline (the
    # fall's level drops as the detector adapts: replayed, the demo's timelines gained a raise
    # and a fall every minute, and orange mails).
    now = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    step = timedelta(minutes=15)
    d = db_session.execute(text("SELECT id FROM district ORDER BY id LIMIT 1 OFFSET 1")).scalar_one()
    key = ("power.consumption", "district", d)
    sid = obs_repo.ensure_series(db_session, [key])[key]
    n, down = 16 * 96, 20 * 4

    def row(k: int) -> obs_repo.ObservationRow:
        x = 1000.0 * (1 + 0.25 * math.sin(2 * math.pi * k / 96)) * (1 + 0.02 * np.random.default_rng(k).standard_normal())
        return obs_repo.ObservationRow(sid, now - (n - 1 - k) * step, x * DROP if k >= n - down else x, "test")

    obs_repo.write_observations(db_session, [row(k) for k in range(n - 5 * 96, n)], "observation", "Asia/Shanghai")
    service.evaluate(db_session, now, series_ids=[sid])
    (alert,) = _active(db_session, sid)
    start = alert.episode_started_at
    assert start >= now - (down + 2) * step
    # The history arrives in two chunks, newest first, each followed by the next quarter-hour.
    later = now
    for chunk in (range(n - 10 * 96, n - 5 * 96), range(0, n - 10 * 96)):
        later += step
        obs_repo.write_observations(db_session, [*(row(k) for k in chunk),
                                                 obs_repo.ObservationRow(sid, later, 1000.0 * DROP, "test")],
                                    "observation", "Asia/Shanghai")
        report = service.evaluate(db_session, later, series_ids=[sid])
        assert report.relearned == [sid]
        (same,) = _active(db_session, sid)
        assert same.id == alert.id and same.signal_ended_at is None
        assert abs((same.episode_started_at - start).total_seconds()) <= 2 * 3600, (same.episode_started_at, start)
    kinds = [e.kind for e in db_session.execute(select(AlertEvent).where(AlertEvent.alert_id == alert.id)).scalars()]
    assert "signal_ended" not in kinds and "signal_recurred" not in kinds, kinds
    # the running episode's rises and falls are not replayed on the timeline at every re-learning
    assert kinds.count("level_raised") + kinds.count("level_lowered") <= 1, kinds
    # the chart is the re-learned one: a day before the episode to the last point, no holes
    times = [p.time for p in service.repo.points(db_session, alert.id)]
    assert times[0] <= same.episode_started_at - timedelta(hours=23) and times[-1] == later
    assert all(b - a == step for a, b in zip(times, times[1:], strict=False)), "holes in the chart"
