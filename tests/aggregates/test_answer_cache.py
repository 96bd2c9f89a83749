"""The answer cache of /series and /series/top: a repeated question is served from the cache,
and every change to the data behind an answer (a stored value, a registry change, dropped raw
rows, a write by hand in SQL) is seen at once. Versions come from triggers (migration 0006)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.aggregates import repository as agg_repo
from backend.aggregates.cache import AnswerCache
from backend.observations import repository as obs_repo
from backend.observations import service as obs_service
from backend.observations.repository import ObservationRow
from tests.aggregates import world as w
from tests.api.support import auth

CITY = "/api/v1/series?indicator=econ.value_added&bucket=month&start=2025-01-01&end=2025-06-30"
BY_ENTERPRISE = CITY + "&group_by=enterprise"
TOP = "/api/v1/series/top?indicator=econ.value_added&by=change&n=3&start=2025-01-01&end=2025-06-30"


def _cache(app: FastAPI) -> AnswerCache:
    cache = app.state.answer_cache
    assert isinstance(cache, AnswerCache)
    return cache


def _values(body: dict) -> list[float]:  # type: ignore[type-arg]
    return [p["value"] for g in body["groups"] for p in g["points"]]


@pytest.fixture()
def world(db_session: Session) -> w.World:
    wd = w.build(db_session)
    w.write_monthly(db_session, wd, "econ.value_added", date(2024, 1, 1), date(2025, 6, 1), combined_years=set())
    return wd


def test_a_repeated_question_is_answered_from_the_cache_with_the_same_body(app: FastAPI, client: TestClient,
                                                                          world: w.World):
    h = auth(client, "leader")
    first = client.get(CITY, headers=h)
    hits = _cache(app).stats.hits
    again = client.get(CITY, headers=h)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert _cache(app).stats.hits == hits + 1
    top1, top2 = client.get(TOP, headers=h), client.get(TOP, headers=h)
    assert top1.status_code == 200 and top2.content == top1.content
    assert _cache(app).stats.hits == hits + 2


def test_a_newly_stored_value_changes_the_answer_at_once(app: FastAPI, client: TestClient, db_session: Session,
                                                         world: w.World):
    h = auth(client, "leader")
    before = client.get(CITY, headers=h).json()
    sid = obs_repo.ensure_series(db_session, [("econ.value_added", "enterprise", world.enterprise_ids[3])])
    key = ("econ.value_added", "enterprise", world.enterprise_ids[3])
    # a correction of March 2025 (a revision through the write path) adds 1,000
    march = datetime.combine(date(2025, 3, 1), time(), w.TZ)
    old = db_session.execute(text("SELECT value FROM period_observation WHERE series_id = :s AND time = :t"),
                             {"s": sid[key], "t": march}).scalar_one()
    obs_repo.write_observations(db_session, [ObservationRow(sid[key], march, old + 1000.0, "test")],
                                "period_observation", "Asia/Shanghai")
    after = client.get(CITY, headers=h).json()
    diffs = [round(b - a, 6) for a, b in zip(_values(before), _values(after), strict=True)]
    assert diffs == [0.0, 0.0, 1000.0, 0.0, 0.0, 0.0]


def test_a_registry_change_made_by_hand_in_sql_changes_names_and_attribution(app: FastAPI, client: TestClient,
                                                                            db_session: Session, world: w.World):
    h = auth(client, "leader")
    e = world.enterprise_ids[5]
    names = {g["key"]: g["name_zh"] for g in client.get(BY_ENTERPRISE, headers=h).json()["groups"]}
    assert names[str(e)] != "改名后的企业"
    db_session.execute(text("UPDATE enterprise SET name_zh = '改名后的企业' WHERE id = :e"), {"e": e})
    names = {g["key"]: g["name_zh"] for g in client.get(BY_ENTERPRISE, headers=h).json()["groups"]}
    assert names[str(e)] == "改名后的企业"

    wuda = CITY + "&district=150304"
    before = sum(_values(client.get(wuda, headers=h).json()))
    moved = db_session.execute(text("""UPDATE enterprise_version SET district_id = :d, park_id = NULL
        WHERE district_id <> :d RETURNING enterprise_id"""), {"d": world.district_ids["150304"]}).all()
    assert moved
    after = sum(_values(client.get(wuda, headers=h).json()))
    assert after > before


def test_a_district_officer_never_gets_an_answer_kept_for_a_city_leader(client: TestClient, world: w.World):
    hainan = CITY + "&district=150303"
    assert client.get(hainan, headers=auth(client, "leader")).status_code == 200  # now kept
    assert client.get(hainan, headers=auth(client, "wuda_duty")).status_code == 403
    assert client.get(CITY, headers=auth(client, "wuda_duty")).status_code == 403
    own = client.get(CITY + "&district=150304", headers=auth(client, "wuda_duty")).json()
    city = client.get(CITY, headers=auth(client, "leader")).json()
    assert 0 < sum(_values(own)) < sum(_values(city))


def test_dropping_raw_rows_changes_the_version_of_everything(db_session: Session, world: w.World):
    w.write_15min(db_session, world, "power.consumption", date(2025, 1, 1), date(2025, 1, 2))
    before = agg_repo.answer_versions(db_session, "power.consumption")
    res = obs_service.apply_retention(db_session, datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=400), 30)
    assert res.removed > 0
    after = agg_repo.answer_versions(db_session, "power.consumption")
    assert after[0] != before[0] and after[1] == before[1]


def test_the_triggers_version_the_written_indicator_only_and_numbers_never_repeat(db_session: Session,
                                                                                  world: w.World):
    va, power = "econ.value_added", "power.consumption"
    sid = obs_repo.ensure_series(db_session, [(power, "enterprise", world.enterprise_ids[0])])
    v0 = agg_repo.answer_versions(db_session, va)
    p0 = agg_repo.answer_versions(db_session, power)
    db_session.execute(text("SAVEPOINT s"))
    db_session.execute(text("""INSERT INTO rollup_daily (series_id, day, sum, count, min, max, last, last_at)
        VALUES (:s, DATE '2025-05-05', 1, 1, 1, 1, 1, now())"""), {"s": next(iter(sid.values()))})
    rolled_back = agg_repo.answer_versions(db_session, power)
    db_session.execute(text("ROLLBACK TO SAVEPOINT s"))
    assert agg_repo.answer_versions(db_session, va) == v0
    assert rolled_back[1] != p0[1]
    db_session.execute(text("""INSERT INTO rollup_daily (series_id, day, sum, count, min, max, last, last_at)
        VALUES (:s, DATE '2025-05-05', 2, 1, 2, 2, 2, now())"""), {"s": next(iter(sid.values()))})
    again = agg_repo.answer_versions(db_session, power)
    assert again[1] not in (p0[1], rolled_back[1])  # a rolled-back number is never handed out again
    assert again[0] == p0[0]  # registry untouched
    db_session.execute(text("UPDATE district SET name_en = name_en WHERE false"))
    assert agg_repo.answer_versions(db_session, power)[0] == p0[0]  # no row changed: no bump


def test_the_cache_keeps_within_its_byte_budget_and_drops_the_least_recently_used():
    c = AnswerCache(max_bytes=500)
    for i in range(5):
        c.put(i, b"x" * 90)
    assert c.get(0) is not None  # 0 is now the most recent
    c.put(5, b"y" * 90)  # 540 bytes > 500: the least recently used goes
    assert c.get(1) is None and c.get(0) is not None and c.get(5) is not None
    assert c.stats.bytes <= 500
    c.put("huge", b"z" * 200)  # more than a quarter of the budget: not kept
    assert c.get("huge") is None
