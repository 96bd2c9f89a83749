"""A saved detector state of another layout (a new detector version) is re-learned from the
series' stored history in the same evaluation, not started cold on the new points; a series
whose alert a person handles is left alone."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.alerts import scoring, service
from backend.alerts.models import Alert, SeriesState
from backend.detection import DetectorConfig
from backend.observations import repository as obs_repo
from tests.alerts.test_history_arrives_late import DAYS, NOW, STEP, _active, _load, _write


def _series(session: Session, offset: int) -> int:
    d = session.execute(text("SELECT id FROM district ORDER BY id LIMIT 1 OFFSET :o"), {"o": offset}).scalar_one()
    key = ("power.consumption", "district", d)
    return obs_repo.ensure_series(session, [key])[key]


def _old_version(session: Session, sid: int) -> SeriesState:
    """Mark the saved state as written by another detector version."""
    state = session.get(SeriesState, sid)
    assert state is not None and state.detector_layout == scoring.layout(DetectorConfig()).digest
    state.detector_layout = "0123456789abcdef"
    session.flush()
    return state


def _next_point(session: Session, sid: int, at: datetime) -> None:
    obs_repo.write_observations(session, [obs_repo.ObservationRow(sid, at, _load(0), "test")],
                                "observation", "Asia/Shanghai")


def test_a_state_of_another_layout_is_relearned_from_the_history(db_session: Session) -> None:
    sid = _series(db_session, 0)
    _write(db_session, sid, range(0, DAYS * 96))  # the whole history, the shutdown at its end
    service.evaluate(db_session, NOW, series_ids=[sid])
    (alert,) = _active(db_session, sid)
    state = _old_version(db_session, sid)
    later = NOW + STEP
    _next_point(db_session, sid, later)
    report = service.evaluate(db_session, later, series_ids=[sid])
    # Re-learned from its history at once (started cold, it would have scored one point and
    # learned from it alone), on the current layout, and still on its one alert.
    assert report.relearned == [sid]
    db_session.refresh(state)
    assert state.detector_layout == scoring.layout(DetectorConfig()).digest
    assert state.learned_from == NOW - (DAYS * 96 - 1) * STEP and state.points == DAYS * 96 + 1
    assert [a.id for a in _active(db_session, sid)] == [alert.id]


def test_a_state_of_another_layout_with_a_handled_alert_is_not_relearned(db_session: Session) -> None:
    sid = _series(db_session, 1)
    _write(db_session, sid, range(0, DAYS * 96))
    service.evaluate(db_session, NOW, series_ids=[sid])
    (alert,) = _active(db_session, sid)
    alert.acknowledged_at = datetime(2026, 11, 29, 8, 5, tzinfo=UTC)
    db_session.flush()
    _old_version(db_session, sid)
    later = NOW + STEP
    _next_point(db_session, sid, later)
    report = service.evaluate(db_session, later, series_ids=[sid])
    assert report.relearned == []
    assert db_session.get(Alert, alert.id) is not None
