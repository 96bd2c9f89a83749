"""The ingest API: source status and the quarantine list (auth is the shared dependency)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from backend.api.deps import get_principal
from backend.api.problems import install as install_problem_handlers
from backend.auth.rules import Principal, Role
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


def _app(factory: sessionmaker[Session], role: Role) -> TestClient:
    app = FastAPI()
    app.state.session_factory = factory
    app.include_router(ingest_router.router, prefix="/api/v1")
    app.dependency_overrides[get_principal] = lambda: Principal(user_id=1, username=f"{role.value}-user", role=role)
    install_problem_handlers(app)
    return TestClient(app)


def _seed_quarantine(factory: sessionmaker[Session]) -> tuple[str, dict[str, int]]:
    now = datetime.now(UTC)
    with transaction(factory) as s:
        code = str(s.execute(text("SELECT uscc FROM enterprise ORDER BY id LIMIT 1")).scalar_one())
        service.quarantine(s, source="bulk", batch_id="b1", now=now - timedelta(days=2), rows=[
            RejectedRow(f"power.consumption,enterprise,{code},2026-11-01T00:00:00+08:00,N/A,kWh",
                        "数值无法解析 / value is not a number: 'N/A'")])
        service.quarantine(s, source="bulk", batch_id="b2", now=now, rows=[
            RejectedRow("power.consumption,enterprise,?,2026-11-01T00:00:00+08:00,1,kWh",
                        "未知企业 / unknown enterprise '?'")])
        service.quarantine(s, source="gas_hourly", batch_id="g1", now=now, rows=[RejectedRow("x", "bad / bad")])
        ids = {r.batch_id: r.id for r in service.list_quarantine(s)[1]}
    return code, ids


def test_quarantined_rows_filter_by_source_batch_reason_and_time_and_page(fresh_factory: sessionmaker[Session]
                                                                          ) -> None:
    _seed_quarantine(fresh_factory)
    client = _app(fresh_factory, Role.analyst)

    def batches(**params: object) -> tuple[int, list[str]]:
        page = client.get("/api/v1/ingest/quarantine", params=params).json()
        return page["total"], [r["batch_id"] for r in page["items"]]

    assert batches(source="bulk")[0] == 2
    assert batches(batch="b1") == (1, ["b1"])
    assert batches(reason="UNKNOWN ENTERPRISE") == (1, ["b2"])
    assert batches(reason="%") == (0, [])  # a literal, not a pattern
    cut = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert batches(source="bulk", seen_to=cut) == (1, ["b1"])
    assert batches(source="bulk", seen_from=cut) == (1, ["b2"])
    total, first = batches(limit=2, offset=0)
    _, second = batches(limit=2, offset=2)
    assert total == 3 and len(first) == 2 and len(second) == 1 and not set(first) & set(second)


def test_analysts_read_the_quarantine_but_cannot_review_it(fresh_factory: sessionmaker[Session]) -> None:
    _, ids = _seed_quarantine(fresh_factory)
    client = _app(fresh_factory, Role.analyst)
    assert client.get("/api/v1/ingest/quarantine").status_code == 200
    r = client.post(f"/api/v1/ingest/quarantine/{ids['b2']}/review", json={"status": "dismissed"})
    assert r.status_code == 403
    r = client.post(f"/api/v1/ingest/quarantine/{ids['b1']}/resubmit", json={
        "indicator": "power.consumption", "entity_kind": "enterprise", "entity_code": "x",
        "time": "2026-11-01T00:00:00+08:00", "value": 1, "unit": "kWh"})
    assert r.status_code == 403


def test_a_duty_officer_dismisses_a_row_and_resubmits_a_corrected_one(fresh_factory: sessionmaker[Session]) -> None:
    code, ids = _seed_quarantine(fresh_factory)
    client = _app(fresh_factory, Role.duty_officer)
    r = client.post(f"/api/v1/ingest/quarantine/{ids['b2']}/review", json={"status": "dismissed", "note": "test firm"})
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["reviewed_by"], r.json()["review_note"]) == (
        "dismissed", "duty_officer-user", "test firm")
    assert client.post("/api/v1/ingest/quarantine/999999/review", json={"status": "resolved"}).status_code == 404

    fix = {"indicator": "power.consumption", "entity_kind": "enterprise", "entity_code": code,
           "time": "2026-11-01T00:00:00+08:00", "value": 0.5, "unit": "万千瓦时", "note": "meter read by hand"}
    bad = client.post(f"/api/v1/ingest/quarantine/{ids['b1']}/resubmit", json={**fix, "unit": "t"})
    assert bad.status_code == 422 and "cannot convert t" in bad.json()["detail"]
    ok = client.post(f"/api/v1/ingest/quarantine/{ids['b1']}/resubmit", json=fix)
    assert ok.status_code == 200, ok.text
    assert (ok.json()["inserted"], ok.json()["row"]["status"]) == (1, "resolved")
    assert "meter read by hand" in ok.json()["row"]["review_note"]
    with fresh_factory() as s:
        value, source = s.execute(text("SELECT value, source FROM observation")).one()
        assert (value, source) == (5000.0, "bulk")
        assert s.execute(text("SELECT count(*) FROM ingest_quarantine")).scalar_one() == 3  # nothing new kept
