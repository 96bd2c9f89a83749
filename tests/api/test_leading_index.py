"""The leading index method (pure) and its endpoints."""

from __future__ import annotations

import math
from datetime import date, datetime, time

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.aggregates.periods import add_months
from backend.leading_index import method
from backend.observations import repository as obs_repo
from tests.aggregates.world import TZ
from tests.api.support import ADMIN, auth

MONTHS = [add_months(date(2021, 1, 1), i) for i in range(48)]


def _seasonal(trend: float, seed: int = 0) -> dict[date, float]:
    rng = np.random.default_rng(seed)
    return {m: (100 + trend * i) * (1 + 0.2 * math.sin(m.month / 12 * 2 * math.pi)) * (1 + rng.normal(0, 0.002))
            for i, m in enumerate(MONTHS)}


def test_seasonal_adjustment_removes_a_fixed_monthly_pattern():
    values = np.array(list(_seasonal(0.0).values()))
    adjusted, ok = method.seasonal_adjust(MONTHS, values)
    assert ok
    assert np.std(adjusted) / np.mean(adjusted) < 0.01 < np.std(values) / np.mean(values)


def test_a_rising_indicator_lifts_the_composite_and_a_falling_good_down_one_also_does():
    window = MONTHS[24:]
    up = method.Component("a", 1.0, 1, _seasonal(1.0, 1))
    energy_down = method.Component("b", 1.0, -1, {m: 500 - 2 * i for i, m in enumerate(MONTHS)})
    res = method.composite([up, energy_down], window)
    assert res.points[0].composite == 100.0
    assert res.points[-1].composite > 100.0
    assert all(p.diffusion == 100.0 for p in res.points[1:])
    assert method.evaluate(res.points).grade == "good"
    falling = method.composite([method.Component("a", 1.0, 1, _seasonal(-1.0, 2))], window)
    assert falling.points[-1].composite < 100.0 and method.evaluate(falling.points).grade == "weak"


def test_weights_decide_how_much_each_indicator_moves_the_composite():
    window = MONTHS[24:]
    up, down = _seasonal(1.0, 3), _seasonal(-1.0, 4)
    heavy_up = method.composite([method.Component("u", 3.0, 1, up), method.Component("d", 1.0, 1, down)], window)
    heavy_down = method.composite([method.Component("u", 1.0, 1, up), method.Component("d", 3.0, 1, down)], window)
    assert heavy_up.points[-1].composite > 100.0 > heavy_down.points[-1].composite


def test_the_endpoint_computes_the_index_from_stored_data_and_weights_are_audited(client: TestClient,
                                                                                 db_session: Session):
    districts = {"150304": 1.0, "150303": -1.0}
    from backend.registry import repository as registry_repo

    ids = registry_repo.district_ids_by_code(db_session)
    keys = [("power.consumption", "district", ids[c]) for c in districts] + \
           [("coal.raw_output", "district", ids[c]) for c in districts]
    sids = obs_repo.ensure_series(db_session, keys)
    rows = []
    for (_code, _, did), sid in sids.items():
        trend = districts[next(c for c, i in ids.items() if i == did)]
        for m, v in _seasonal(trend, sid).items():
            rows.append(obs_repo.ObservationRow(sid, datetime.combine(m, time(), TZ), v, "test"))
    obs_repo.write_observations(db_session, rows, "period_observation", "Asia/Shanghai")
    h = auth(client, ADMIN)
    r = client.get("/api/v1/leading-index?district=150304&start=2023-01-01&end=2024-12-01", headers=h)
    assert r.status_code == 200, r.text
    place = r.json()["places"][0]
    assert place["place"] == "150304" and place["points"][-1]["composite"] > 100
    assert place["seasonally_adjusted"]["power.consumption"] is True
    ev = client.get("/api/v1/leading-index/evaluation?month=2024-12-01", headers=h).json()
    grades = {row["place"]: row["grade"] for row in ev}
    assert grades["150304"] == "good" and grades["150303"] == "weak"
    assert next(row for row in ev if row["place"] == "150304")["rank"] == 1
    r = client.put("/api/v1/leading-index/weights", json={"weights": {"power.consumption": 3.0}}, headers=h)
    assert r.status_code == 200 and r.json()["power.consumption"] == 3.0
    assert client.put("/api/v1/leading-index/weights", json={"weights": {"econ.revenue": 1.0}},
                      headers=h).status_code == 422
    log = client.get("/api/v1/audit-log?action=leading_index.weights", headers=h).json()
    assert log["total"] == 1
