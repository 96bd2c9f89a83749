"""The default rules: seeded once (an edited or disabled default is left as it is), and the
power-plant coal line (存煤可用天数 below 7 days) raises an alert on the real evaluation path."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backend.alerts import service
from backend.alerts.defaults import DEFAULT_RULES, seed_default_rules
from backend.alerts.models import Alert, Rule
from backend.observations import repository as obs_repo

TZ = ZoneInfo("Asia/Shanghai")
DAYS = "coal.plant_stock_days"


def test_seeding_adds_the_defaults_once_and_keeps_an_edited_one(db_session: Session) -> None:
    seed_default_rules(db_session)  # the template database was seeded already: nothing new
    assert seed_default_rules(db_session) == 0
    rule = db_session.scalars(select(Rule).where(Rule.indicator_code == DAYS)).one()
    assert rule.kind == "threshold" and rule.params == {"lower": 7.0} and rule.enabled
    rule.enabled, rule.params = False, {"lower": 5.0}
    db_session.flush()
    assert seed_default_rules(db_session) == 0
    db_session.refresh(rule)
    assert (rule.enabled, rule.params) == (False, {"lower": 5.0})
    assert len(DEFAULT_RULES) == db_session.scalar(select(text("count(*)")).select_from(Rule))


def test_a_plant_whose_coal_falls_below_seven_days_raises_an_alert_naming_the_threshold(db_session: Session) -> None:
    plants = db_session.execute(text("SELECT id FROM enterprise ORDER BY id LIMIT 2")).scalars().all()
    keys = [(DAYS, "enterprise", e) for e in plants]
    sids = obs_repo.ensure_series(db_session, keys)
    first = datetime(2026, 9, 1, tzinfo=TZ)
    days = [first + timedelta(days=k) for k in range(80)]
    rows = []
    for k, d in enumerate(days):
        steady = 14.0 + 3.0 * math.sin(k / 3)  # a stock sawing between 11 and 17 days
        rows.append(obs_repo.ObservationRow(sids[keys[0]], d.astimezone(UTC), steady, "test"))
        # the second plant's deliveries fail over the last ten days: 14 -> 5 days of burn
        low = steady if k < 70 else 14.0 - 0.9 * (k - 69)
        rows.append(obs_repo.ObservationRow(sids[keys[1]], d.astimezone(UTC), round(low, 1), "test"))
    obs_repo.write_observations(db_session, rows, "period_observation", "Asia/Shanghai")
    now = (days[-1] + timedelta(hours=10)).astimezone(UTC)
    service.evaluate(db_session, now, service.EvaluationOptions(history_days=200, lookback_days=5),
                     series_ids=list(sids.values()))
    alerts = {a.series_id: a for a in db_session.execute(select(Alert)).scalars() if a.series_id in sids.values()}
    assert sids[keys[0]] not in alerts
    alert = alerts[sids[keys[1]]]
    assert "threshold" in alert.checks and "低于下限 7" in alert.explanation_zh
    assert alert.level in ("red", "orange")
