from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from backend.config import Settings
from backend.db import make_engine, make_session_factory, transaction
from backend.health import service
from backend.main import create_app
from tests.conftest import expect_timescaledb


@pytest.fixture()
def client(fresh_database_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(DATABASE_URL=fresh_database_url))
    with TestClient(app) as c:
        yield c


@pytest.mark.plainpg
def test_health_reports_database_versions_and_migrations_at_head(client: TestClient):
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["database"] is True
    assert body["migrations_at_head"] is True and body["migrations_current"] == body["migrations_head"]
    assert body["postgres_version"]
    if expect_timescaledb():
        assert body["timescaledb_version"] and body["timescaledb_license"] == "apache"
        assert body["status"] == "ok"
    else:
        assert body["timescaledb_version"] is None
        assert any("TimescaleDB is not installed" in w for w in body["warnings"])


def test_health_shows_each_workers_heartbeat_age_and_flags_a_stale_one(client: TestClient,
                                                                        fresh_database_url: str):
    engine = make_engine(fresh_database_url)
    now = datetime.now(UTC)
    with transaction(make_session_factory(engine)) as s:
        service.beat(s, "ingest", now - timedelta(hours=1), now - timedelta(seconds=5), expected_interval_s=30)
        service.beat(s, "escalation", now - timedelta(hours=1), now - timedelta(minutes=30), expected_interval_s=60)
    engine.dispose()
    body = client.get("/health").json()
    workers = {w["name"]: w for w in body["workers"]}
    assert 4 <= workers["ingest"]["age_s"] < 60 and workers["ingest"]["stale"] is False
    assert workers["escalation"]["stale"] is True
    assert body["status"] == "degraded"


def test_health_says_down_with_503_when_the_database_is_unreachable():
    app = create_app(Settings(DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none"))
    with TestClient(app) as c:
        r = c.get("/health")
    assert r.status_code == 503 and r.json()["status"] == "down"


def test_a_worker_is_stale_after_missing_two_beats():
    assert not service.worker_stale(119, 30)
    assert service.worker_stale(121, 30)
    assert service.worker_stale(601, 300)
    assert not service.worker_stale(599, 300)
