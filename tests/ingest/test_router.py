"""The ingest API: source status and the quarantine list (auth is the shared dependency)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from backend.db import transaction
from backend.ingestion import router as ingest_router
from backend.ingestion import service
from backend.ingestion.batch import RejectedRow


def test_the_api_lists_source_status_and_quarantined_rows(fresh_factory: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    with transaction(fresh_factory) as s:
        service.register_source(s, name="gas_hourly", family="gas", title_zh="燃气", title_en="gas", interval_s=300,
                                expected_lag_s=7200)
        service.quarantine(s, source="gas_hourly", batch_id="1.0", now=now,
                           rows=[RejectedRow(["WD", "x", "2026113299", "1"], "时间无法解析 / bad time")])
    app = FastAPI()
    app.state.session_factory = fresh_factory
    app.include_router(ingest_router.router, prefix="/api/v1")
    app.dependency_overrides[ingest_router._staff] = lambda: None  # authentication is tested with the auth domain
    client = TestClient(app)
    [src] = client.get("/api/v1/ingest/sources").json()
    assert (src["name"], src["state"], src["lag_s"]) == ("gas_hourly", "never", None)
    page = client.get("/api/v1/ingest/quarantine", params={"source": "gas_hourly", "status": "open"}).json()
    assert page["total"] == 1
    assert page["items"][0]["raw_json"] == ["WD", "x", "2026113299", "1"]
    assert page["items"][0]["reason"].startswith("时间无法解析")
    assert client.get("/api/v1/ingest/quarantine", params={"status": "bogus"}).status_code == 422
