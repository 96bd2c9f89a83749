"""A 累计同比 indicator from the catalogue (`econ.value_added_growth.ytd`, what `yunjian import`
fills) is declared so on the real evaluation path: its alerts name the known events and say
how the figure was read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backend.alerts import scoring, service
from backend.alerts.models import Alert, AlertEvent, SeriesState
from backend.observations import repository as obs_repo
from tests.detection.test_ytd_growth import IVA_YTD_YOY

TZ = ZoneInfo("Asia/Shanghai")


def _load(session: Session, indicator: str, years: range = range(2015, 2024)) -> int:
    district = session.execute(text("SELECT id FROM district ORDER BY id LIMIT 1")).scalar_one()
    key = (indicator, "district", district)
    sid = obs_repo.ensure_series(session, [key])[key]
    rows = [obs_repo.ObservationRow(sid, datetime(y, k + 2, 1, tzinfo=TZ).astimezone(UTC), v, "test")
            for y, vals in IVA_YTD_YOY.items() if y in years for k, v in enumerate(vals)]
    obs_repo.write_observations(session, rows, "period_observation", "Asia/Shanghai")
    # Evaluated as the figures were published: each a fortnight after its month.
    opts = service.EvaluationOptions(history_days=3700, lookback_days=60)
    for row in rows:
        service.evaluate(session, row.time + timedelta(days=14), opts, series_ids=[sid])
    return sid


def _episodes(session: Session, sid: int) -> tuple[list[Alert], set[str]]:
    """The series' alerts, and the months its episodes began: an alert's opening, and each
    recurrence on an alert nobody has handled yet (one alert per series while it is active)."""
    alerts = list(session.execute(select(Alert).where(Alert.series_id == sid)).scalars())
    months = {a.episode_started_at.astimezone(TZ).strftime("%Y-%m") for a in alerts}
    recurred = session.execute(select(AlertEvent.detail).where(
        AlertEvent.alert_id.in_([a.id for a in alerts]), AlertEvent.kind == "signal_recurred")).scalars()
    months |= {datetime.fromisoformat(d["data_at"]).astimezone(TZ).strftime("%Y-%m") for d in recurred}
    return alerts, months


def test_a_catalogue_ytd_growth_series_alerts_on_the_known_events_and_says_how_it_was_read(
        db_session: Session) -> None:
    sid = _load(db_session, "econ.value_added_growth.ytd")
    alerts, months = _episodes(db_session, sid)
    assert {"2020-02", "2022-04"} <= months, sorted(months)
    # The known events (the 2020 collapse and its 2021 base effect, the autumn-2021 power
    # rationing, the April 2022 lockdown) and at most three others, each at watch level
    # (blue): March 2019 and December 2023 were real accelerations (当月 8.5 % and 6.8 %).
    known = {"2020-02", "2020-03", "2021-02", "2021-03", "2021-09", "2021-10", "2021-11", "2022-04", "2022-05"}
    assert len(months - known) <= 3, sorted(months)
    covid = next(a for a in alerts if a.episode_started_at.astimezone(TZ).strftime("%Y-%m") == "2020-02")
    assert covid.peak_level == "red"
    assert all(a.peak_level == "blue" for a in alerts if a is not covid)
    assert all("累计同比增速，按其隐含的当月增速判断" in a.explanation_zh for a in alerts)
    assert all("year-to-date growth rate" in a.explanation_en for a in alerts)


def test_only_the_catalogue_says_so_before_the_values_can(db_session: Session) -> None:
    # A year of figures is too few to recognise a 累计同比 from its values (it takes twelve
    # year-on-year pairs of steps); declared by the catalogue, it is read as one from the
    # first figure, and the reading is kept in the series' stored detector state.
    cfg = service.EvaluationOptions().detector
    lay = scoring.layout(cfg)
    for indicator, declared in (("econ.value_added_growth.ytd", True), ("econ.value_added_growth", False)):
        sid = _load(db_session, indicator, range(2017, 2018))
        state = db_session.get(SeriesState, sid)
        assert state is not None and state.detector_layout == lay.digest
        bank = scoring.load_bank([state.detector_state], cfg, lay)
        assert bool(bank.bank.st["ytdg"][0]) is declared, indicator
