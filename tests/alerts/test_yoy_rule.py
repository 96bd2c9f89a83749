"""同比 (year-on-year) rules in the alert evaluation path: a monthly series whose growth over the
same month last year crosses a configured limit raises an alert that names 同比."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backend.alerts import service
from backend.alerts.models import Alert
from backend.api.problems import InvalidRequest
from backend.observations import repository as obs_repo

TZ = ZoneInfo("Asia/Shanghai")
INDICATOR = "econ.gross_output"  # monthly


def _months(first: datetime, n: int) -> list[datetime]:
    return [first.replace(year=first.year + (first.month - 1 + k) // 12, month=(first.month - 1 + k) % 12 + 1)
            for k in range(n)]


def _value(k: int) -> float:
    return 1000.0 + 8 * math.sin(k)


def _write_monthly(session: Session, sid: int, months: list[datetime], high: datetime) -> None:
    """A steady monthly series (gentle deterministic wiggle) with one month at 1,400."""
    rows = [obs_repo.ObservationRow(sid, m.astimezone(UTC), 1400.0 if m == high else _value(k), "test")
            for k, m in enumerate(months)]
    obs_repo.write_observations(session, rows, "period_observation", "Asia/Shanghai")


def test_a_monthly_series_whose_yoy_falls_below_its_limit_raises_an_alert_naming_yoy(db_session: Session) -> None:
    a, b = db_session.execute(text("SELECT id FROM district ORDER BY id LIMIT 2")).scalars().all()
    keys = [(INDICATOR, "district", a), (INDICATOR, "district", b)]
    sids = obs_repo.ensure_series(db_session, keys)
    months = _months(datetime(2024, 1, 1, tzinfo=TZ), 33)  # 2024-01 .. 2026-09
    high, last = datetime(2025, 9, 1, tzinfo=TZ), months[-1]
    assert last == datetime(2026, 9, 1, tzinfo=TZ)
    for key in keys:
        _write_monthly(db_session, sids[key], months, high)
    now = (last + timedelta(days=40)).astimezone(UTC)
    # Only district a has the rule: growth below -20 % against the same month last year.
    service.upsert_rule(db_session, None, name="产值同比下滑", indicator_code=INDICATOR, kind="yoy",
                        params={"min_pct": -20}, entity_kind="district", entity_id=a, importance=None,
                        enabled=True, user_id=None, now=now)
    opts = service.EvaluationOptions(history_days=1200, lookback_days=3)
    service.evaluate(db_session, now, opts, series_ids=list(sids.values()))
    alerts = {al.series_id: al for al in db_session.execute(select(Alert)).scalars()
              if al.series_id in sids.values()}
    # The same data without the rule raises nothing: 2026-09 is an ordinary month for the detector.
    assert sids[keys[1]] not in alerts
    alert = alerts[sids[keys[0]]]
    assert "yoy" in alert.checks
    growth = (_value(len(months) - 1) - 1400.0) / 1400.0 * 100.0
    assert f"同比 {growth:+.1f}%，低于 -20.0%（去年同期 1,400）" in alert.explanation_zh
    assert f"year-on-year {growth:+.1f}%" in alert.explanation_en
    assert alert.episode_started_at == last.astimezone(UTC)


def test_a_yoy_rule_without_limits_is_refused(db_session: Session) -> None:
    with pytest.raises(InvalidRequest):
        service.upsert_rule(db_session, None, name="x", indicator_code=INDICATOR, kind="yoy", params={},
                            entity_kind=None, entity_id=None, importance=None, enabled=True, user_id=None,
                            now=datetime.now(UTC))


@pytest.mark.parametrize(("kind", "params", "entity", "says"), [
    ("threshold", {"lower": "abc"}, None, "lower is a number, not 'abc'"),
    ("threshold", {"lower": True}, None, "lower is a number, not True"),
    ("threshold", {"lowr": 5}, None, "a threshold rule takes lower, upper; not lowr"),
    ("threshold", {"lower": 9, "upper": 1}, None, "lower (9) is above upper (1)"),
    ("target", {"target": 100, "two_sided": "yes"}, None, "two_sided is true or false"),
    ("target", {"target": 100, "tolerance_pct": -5}, None, "tolerance_pct is a percentage >= 0"),
    ("yoy", {"min_pct": -20}, (None, 1), "entity_id needs entity_kind"),
    ("yoy", {"min_pct": -20}, ("enterprise", 2_000_000_000), "enterprise 2000000000 does not exist"),
])
def test_a_rule_the_evaluation_could_not_read_is_refused_with_the_reason(
        db_session: Session, kind: str, params: dict[str, object], entity: tuple[str | None, int] | None,
        says: str) -> None:
    entity_kind, entity_id = entity or (None, None)
    with pytest.raises(InvalidRequest) as refused:
        service.upsert_rule(db_session, None, name="x", indicator_code=INDICATOR, kind=kind, params=params,
                            entity_kind=entity_kind, entity_id=entity_id, importance=None, enabled=True,
                            user_id=None, now=datetime.now(UTC))
    assert says in refused.value.detail
    with pytest.raises(InvalidRequest, match="unknown indicator 'econ.gross_outpt'"):
        service.upsert_rule(db_session, None, name="x", indicator_code="econ.gross_outpt", kind="yoy",
                            params={"min_pct": -20}, entity_kind=None, entity_id=None, importance=None,
                            enabled=True, user_id=None, now=datetime.now(UTC))


def test_a_stored_rule_that_cannot_be_read_is_skipped_and_alerting_goes_on(db_session: Session) -> None:
    """A rule stored before its params were checked (or written by hand) used to stop every
    evaluation with a TypeError: no alert anywhere until someone deleted it."""
    from backend.alerts.models import Rule

    a = db_session.execute(text("SELECT id FROM district ORDER BY id LIMIT 1")).scalar_one()
    key = (INDICATOR, "district", a)
    sid = obs_repo.ensure_series(db_session, [key])[key]
    months = _months(datetime(2024, 1, 1, tzinfo=TZ), 33)
    _write_monthly(db_session, sid, months, datetime(2025, 9, 1, tzinfo=TZ))
    now = (months[-1] + timedelta(days=40)).astimezone(UTC)
    db_session.add(Rule(name="手工写入", indicator_code=INDICATOR, kind="threshold", params={"lower": "abc"}))
    db_session.add(Rule(name="typo", indicator_code=INDICATOR, kind="target", params={"target": "1,000"}))
    service.upsert_rule(db_session, None, name="产值同比下滑", indicator_code=INDICATOR, kind="yoy",
                        params={"min_pct": -20}, entity_kind="district", entity_id=a, importance=None,
                        enabled=True, user_id=None, now=now)
    db_session.flush()
    service.evaluate(db_session, now, service.EvaluationOptions(history_days=1200, lookback_days=3),
                     series_ids=[sid])
    alert = db_session.execute(select(Alert).where(Alert.series_id == sid)).scalar_one()
    assert "yoy" in alert.checks
