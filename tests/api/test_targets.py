"""District targets and progress through the year."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.observations import repository as obs_repo
from backend.registry import repository as registry_repo
from backend.targets import rules
from tests.aggregates.world import TZ
from tests.api.support import auth


def test_status_is_judged_against_the_target_with_a_two_point_margin():
    assert rules.status(7.0, 6.5) == "on_track"
    assert rules.status(5.0, 6.5) == "behind"
    assert rules.status(4.0, 6.5) == "far_behind"
    assert rules.status(None, 6.5) == "no_data"


def _write(session: Session, indicator: str, district_id: int, values: dict[date, float]) -> None:
    sid = obs_repo.ensure_series(session, [(indicator, "district", district_id)])[(indicator, "district",
                                                                                    district_id)]
    obs_repo.write_observations(session, [obs_repo.ObservationRow(sid, datetime.combine(m, time(), TZ), v, "test")
                                          for m, v in values.items()], "period_observation", "Asia/Shanghai")


def test_progress_reports_ytd_growth_gap_and_completion_against_time(client: TestClient, db_session: Session):
    wuda = registry_repo.district_ids_by_code(db_session)["150304"]
    last_year = {date(2024, m, 1): 100.0 for m in range(1, 13)}
    this_year = {date(2025, m, 1): 105.0 for m in range(1, 7)}
    _write(db_session, "econ.fai_industrial", wuda, {**last_year, **this_year})
    h = auth(client, "analyst")
    r = client.put("/api/v1/targets/150304/2025/econ.fai_industrial", json={"target_growth_pct": 8.0}, headers=h)
    assert r.status_code == 200
    hd = auth(client, "wuda_duty")
    rows = client.get("/api/v1/targets/progress?year=2025&as_of=2025-07-15", headers=hd).json()
    assert len(rows) == 1
    p = rows[0]
    assert p["as_of_month"] == "2025-06-01"
    assert p["ytd_value"] == pytest.approx(630.0) and p["last_year_ytd"] == pytest.approx(600.0)
    assert p["actual_ytd_growth_pct"] == pytest.approx(5.0) and p["gap_pp"] == pytest.approx(-3.0)
    assert p["status"] == "far_behind" and p["status_zh"] == "明显低于目标"
    assert p["required_total"] == pytest.approx(1296.0)
    assert p["completion_pct"] == pytest.approx(630 / 1296 * 100) and p["time_elapsed_pct"] == pytest.approx(50.0)
    # another district's officer sees no Wuda targets, and cannot ask for them
    hh = auth(client, "hainan_duty")
    assert client.get("/api/v1/targets/progress?year=2025", headers=hh).json() == []
    assert client.get("/api/v1/targets?district=150304", headers=hh).status_code == 403


def test_a_published_ytd_growth_judges_value_added_progress(client: TestClient, db_session: Session):
    wuda = registry_repo.district_ids_by_code(db_session)["150304"]
    _write(db_session, "econ.value_added", wuda, {**{date(2024, m, 1): 10.0 for m in range(1, 13)},
                                                  **{date(2025, m, 1): 11.0 for m in range(1, 4)}})
    _write(db_session, "econ.value_added_growth.ytd", wuda, {date(2025, 3, 1): 6.8})
    h = auth(client, "leader")
    assert client.put("/api/v1/targets/150304/2025/econ.value_added", json={"target_growth_pct": 6.5},
                      headers=h).status_code == 200
    p = client.get("/api/v1/targets/progress?year=2025&district=150304&as_of=2025-03-31", headers=h).json()[0]
    assert p["computed_ytd_growth_pct"] == pytest.approx(10.0)
    assert p["published_ytd_growth_pct"] == pytest.approx(6.8) and p["actual_ytd_growth_pct"] == pytest.approx(6.8)
    assert p["status"] == "on_track"
    csv = client.get("/api/v1/targets/progress?year=2025&district=150304&as_of=2025-03-31&format=csv", headers=h)
    assert csv.headers["content-type"].startswith("text/csv") and "econ.value_added" in csv.text
