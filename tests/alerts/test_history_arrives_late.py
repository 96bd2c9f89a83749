"""A series first met with only its last two days, whose history is stored afterwards (a
backfill running newest first, as `yunjian demo` and any onboarding do): an incident that
began in those two days was learned as the normal level during the warm-up. Once the
history is stored the series is re-learned from it and the ongoing incident is flagged."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backend.alerts import service
from backend.alerts.lifecycle import ACTIVE
from backend.alerts.models import Alert, SeriesState
from backend.observations import repository as obs_repo

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
STEP = timedelta(minutes=15)
DAYS = 16
SHUTDOWN_HOURS = 31  # the plant has been down since yesterday


def _load(n_back: int) -> float:
    """A plant's 15-minute load n_back steps before NOW: a daily cycle with noise, at 3 % of it
    while shut down."""
    k = DAYS * 96 - n_back
    x = 1000.0 * (1 + 0.25 * math.sin(2 * math.pi * k / 96)) * (1 + 0.02 * np.random.default_rng(k).standard_normal())
    return x * 0.03 if n_back < SHUTDOWN_HOURS * 4 else x


def _write(session: Session, sid: int, backs: range) -> None:
    rows = [obs_repo.ObservationRow(sid, NOW - n * STEP, _load(n), "test") for n in backs]
    obs_repo.write_observations(session, rows, "observation", "Asia/Shanghai")


def _active(session: Session, sid: int) -> list[Alert]:
    return [a for a in session.execute(select(Alert).where(Alert.series_id == sid)).scalars() if a.state in ACTIVE]


def test_a_shutdown_learned_in_the_warm_up_is_flagged_once_the_history_arrives(db_session: Session) -> None:
    d = db_session.execute(text("SELECT id FROM district ORDER BY id LIMIT 1")).scalar_one()
    key = ("power.consumption", "district", d)
    sid = obs_repo.ensure_series(db_session, [key])[key]
    # The first evaluation meets the series with its last two days only: the shutdown falls in
    # the detector's warm-up and nothing is raised (what used to stay so for ever).
    _write(db_session, sid, range(0, 2 * 96))
    first = service.evaluate(db_session, NOW, series_ids=[sid])
    assert first.series == 1 and first.relearned == [] and _active(db_session, sid) == []
    state = db_session.get(SeriesState, sid)
    assert state is not None and state.learned_from == NOW - (2 * 96 - 1) * STEP
    # The backfill stores the two weeks before, then the next quarter-hour arrives.
    _write(db_session, sid, range(2 * 96, DAYS * 96))
    later = NOW + STEP
    obs_repo.write_observations(db_session, [obs_repo.ObservationRow(sid, later, _load(0), "test")],
                                "observation", "Asia/Shanghai")
    second = service.evaluate(db_session, later, series_ids=[sid])
    assert second.relearned == [sid]
    alerts = _active(db_session, sid)
    assert len(alerts) == 1, alerts
    assert alerts[0].episode_started_at >= NOW - (SHUTDOWN_HOURS * 4 + 2) * STEP
    db_session.refresh(state)
    assert state.learned_from == NOW - (DAYS * 96 - 1) * STEP and state.points == DAYS * 96 + 1
    # Learned from its history, the series is not re-learned again, and stays on one alert.
    third_at = later + STEP
    obs_repo.write_observations(db_session, [obs_repo.ObservationRow(sid, third_at, _load(0), "test")],
                                "observation", "Asia/Shanghai")
    third = service.evaluate(db_session, third_at, series_ids=[sid])
    assert third.relearned == [] and len(_active(db_session, sid)) == 1


def test_a_new_series_without_older_data_is_not_relearned(db_session: Session) -> None:
    d = db_session.execute(text("SELECT id FROM district ORDER BY id LIMIT 1 OFFSET 1")).scalar_one()
    key = ("power.consumption", "district", d)
    sid = obs_repo.ensure_series(db_session, [key])[key]
    _write(db_session, sid, range(1, 3 * 96))
    service.evaluate(db_session, NOW - STEP, series_ids=[sid])
    obs_repo.write_observations(db_session, [obs_repo.ObservationRow(sid, NOW, _load(0), "test")],
                                "observation", "Asia/Shanghai")
    assert service.evaluate(db_session, NOW, series_ids=[sid]).relearned == []


def test_a_shutdown_into_its_second_day_is_not_called_back_to_normal(db_session: Session) -> None:
    """Live: the history is there, the shutdown arrives two hours at a time. The detector gets
    used to the new level within half a day; the alert must not say the data are back to
    normal (nor close itself) while the plant is still at 3 %, and must once it is back."""
    d = db_session.execute(text("SELECT id FROM district ORDER BY id LIMIT 1 OFFSET 2")).scalar_one()
    key = ("power.consumption", "district", d)
    sid = obs_repo.ensure_series(db_session, [key])[key]
    down = SHUTDOWN_HOURS * 4
    _write(db_session, sid, range(down, DAYS * 96))
    service.evaluate(db_session, NOW - down * STEP, series_ids=[sid])
    for end in range(down - 8, -1, -8):  # 31 hours of shutdown, 2 hours at a time
        _write(db_session, sid, range(end, end + 8))
        service.evaluate(db_session, NOW - end * STEP, series_ids=[sid])
    alerts = _active(db_session, sid)
    assert len(alerts) == 1 and alerts[0].signal_ended_at is None, [(a.id, a.signal_ended_at) for a in alerts]
    # It says how far from the level before the shutdown the plant is, not "within the band"
    # of a detector that has followed it down.
    assert alerts[0].explanation_zh.startswith("远低于事件开始时的预期水平（当前 "), alerts[0].explanation_zh
    assert "% of " in alerts[0].explanation_en and "within" not in alerts[0].explanation_en
    # The e-mails and the dashboard show that level as the expectation (no band).
    assert alerts[0].expected is not None and alerts[0].value is not None
    assert alerts[0].value < 0.1 * alerts[0].expected and alerts[0].lower is None and alerts[0].upper is None
    # The plant restarts: a day of normal load ends the signal (the restart is itself news to a
    # detector that got used to the shutdown, for about as long).
    back = [obs_repo.ObservationRow(sid, NOW + n * STEP, 1000.0 * (1 + 0.25 * math.sin(2 * math.pi * n / 96)), "test")
            for n in range(1, 97)]
    obs_repo.write_observations(db_session, back, "observation", "Asia/Shanghai")
    service.evaluate(db_session, NOW + 96 * STEP, series_ids=[sid])
    alert = db_session.get(Alert, alerts[0].id)
    assert alert is not None and alert.signal_ended_at is not None


def test_a_detector_that_began_inside_a_shutdown_does_not_hold_the_restart_for_ever(db_session: Session) -> None:
    """The 21 days a new series is learned from can begin inside a shutdown: the detector takes
    3 % for normal, and the restart is "3,000 % above" that. It is news for a while, but once
    the detector has taken the restart in, the episode is over (found on the demo: five red
    alerts that could never end, when rises were held like drops)."""
    d = db_session.execute(text("SELECT id FROM district ORDER BY id LIMIT 1 OFFSET 3")).scalar_one()
    key = ("power.consumption", "district", d)
    sid = obs_repo.ensure_series(db_session, [key])[key]
    n = 20 * 96
    rows = [obs_repo.ObservationRow(sid, NOW - k * STEP,
                                    1000.0 * (1 + 0.25 * math.sin(2 * math.pi * k / 96)) * (0.03 if k > n - 4 * 96 else 1.0),
                                    "test") for k in range(n)]
    obs_repo.write_observations(db_session, rows, "observation", "Asia/Shanghai")
    service.evaluate(db_session, NOW, series_ids=[sid])
    assert _active(db_session, sid) == []


def test_a_monthly_series_is_learned_from_its_years_not_its_last_three_weeks(db_session: Session) -> None:
    """With the default options (the ingest worker's) a monthly indicator first met is learned
    from ten years back: it used to be learned from 21 days (one month at most) and could not
    alarm for two years whatever history the import had stored."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    d = db_session.execute(text("SELECT id FROM district ORDER BY id LIMIT 1")).scalar_one()
    key = ("econ.gross_output", "district", d)
    sid = obs_repo.ensure_series(db_session, [key])[key]
    months = [datetime(2023 + k // 12, k % 12 + 1, 1, tzinfo=tz) for k in range(46)]  # 2023-01 .. 2026-10
    rows = [obs_repo.ObservationRow(sid, m.astimezone(UTC),
                                    (1000.0 + 8 * math.sin(k)) * (0.5 if k == len(months) - 1 else 1.0), "test")
            for k, m in enumerate(months)]
    obs_repo.write_observations(db_session, rows, "period_observation", "Asia/Shanghai")
    now = (months[-1] + timedelta(days=40)).astimezone(UTC)
    report = service.evaluate(db_session, now, series_ids=[sid])
    assert report.points == len(months)
    alerts = _active(db_session, sid)
    assert len(alerts) == 1 and alerts[0].episode_started_at == months[-1].astimezone(UTC)
    # A monthly figure is named by its month (it is stamped on the 1st, 00:00 Beijing time).
    assert "自 2026年10月 起" in alerts[0].explanation_zh, alerts[0].explanation_zh
    assert "since Oct 2026" in alerts[0].explanation_en, alerts[0].explanation_en


def test_todays_partial_figure_of_a_daily_series_waits_for_the_day_to_end(db_session: Session) -> None:
    """A daily figure for today grows through the day; scored as a whole day it is "below the
    band" every morning (a red alert on every coal mine at once, found on the demo)."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    d = db_session.execute(text("SELECT id FROM district ORDER BY id LIMIT 1")).scalar_one()
    key = ("coal.raw_output", "district", d)
    sid = obs_repo.ensure_series(db_session, [key])[key]
    today = datetime(2026, 11, 29, tzinfo=tz)
    days = [today - timedelta(days=k) for k in range(90, -1, -1)]
    rows = [obs_repo.ObservationRow(sid, day.astimezone(UTC), 5000.0 + 40 * math.sin(k) if day < today else 1500.0,
                                    "test") for k, day in enumerate(days)]
    obs_repo.write_observations(db_session, rows, "observation", "Asia/Shanghai")
    noon = (today + timedelta(hours=12)).astimezone(UTC)
    report = service.evaluate(db_session, noon, series_ids=[sid])
    assert report.points == 90 and _active(db_session, sid) == []
    state = db_session.get(SeriesState, sid)
    assert state is not None and state.scored_until == (today - timedelta(days=1)).astimezone(UTC)


def test_an_alert_whose_latest_value_is_back_says_what_the_anomaly_was(db_session: Session) -> None:
    """A monthly drop followed by an ordinary month: the alert (still open, the episode needs two
    calm months to end) used to read "在预期区间内 … 自 … 起", about the ordinary month."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    d = db_session.execute(text("SELECT id FROM district ORDER BY id LIMIT 1 OFFSET 1")).scalar_one()
    key = ("econ.gross_output", "district", d)
    sid = obs_repo.ensure_series(db_session, [key])[key]
    months = [datetime(2023 + k // 12, k % 12 + 1, 1, tzinfo=tz) for k in range(46)]
    rows = [obs_repo.ObservationRow(sid, m.astimezone(UTC),
                                    (1000.0 + 8 * math.sin(k)) * (0.5 if k == len(months) - 2 else 1.0), "test")
            for k, m in enumerate(months)]
    obs_repo.write_observations(db_session, rows, "period_observation", "Asia/Shanghai")
    service.evaluate(db_session, (months[-1] + timedelta(days=40)).astimezone(UTC), series_ids=[sid])
    alerts = _active(db_session, sid)
    assert len(alerts) == 1 and alerts[0].episode_started_at == months[-2].astimezone(UTC)
    zh, en = alerts[0].explanation_zh, alerts[0].explanation_en
    # Monthly figures are named by their month (they are stamped on the 1st, 00:00).
    assert zh.startswith("低于预期区间") and "已回到预期区间内" in zh, zh
    assert "自 2026年9月 起" in zh and "（2026年10月）" in zh, zh
    assert en.startswith("below the expected band") and "is back within the expected band" in en, en
    assert "since Sep 2026" in en and "(Oct 2026)" in en, en
