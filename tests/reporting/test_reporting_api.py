"""The direct-reporting API with real authentication (sessions from /auth/login)."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.auth.rules import Role
from backend.auth.service import ensure_user
from backend.registry import repository as registry_repo
from tests.api.support import ADMIN, DEMO_PASSWORD, auth

FULL = [{"indicator": "econ.gross_output", "value": 1000}, {"indicator": "econ.revenue", "value": "950"},
        {"indicator": "工业增加值", "value": 0.03, "unit": "亿元"},
        {"indicator": "energy.consumption", "value": 800, "unit": "吨标准煤"},
        {"indicator": "econ.main_product_output", "value": 0.5, "unit": "万吨"}]


def _setup(db_session: Session) -> tuple[int, int]:
    ids = registry_repo.enterprise_ids_in(db_session, date(2026, 10, 31), above_scale=True)
    own, other = ids[0], ids[1]
    ensure_user(db_session, username="rep_a", display_name="填报员", password=DEMO_PASSWORD,
                role=Role.enterprise_reporter, enterprise_id=own)
    ensure_user(db_session, username="admin", display_name="管理员", password=DEMO_PASSWORD, role=Role.admin)
    ensure_user(db_session, username="duty_a", display_name="值班员", password=DEMO_PASSWORD, role=Role.duty_officer)
    db_session.flush()
    return own, other


def test_a_reporter_pushes_its_own_figures(client: TestClient, db_session: Session):
    own, _ = _setup(db_session)
    r = client.post(f"/api/v1/reporting/enterprises/{own}/reports", json={"period": "2026-10", "values": FULL},
                    headers=auth(client, "rep_a"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "accepted" and body["inserted"] == 5
    assert body["stored"]["econ.value_added"] == 300.0 and body["stored"]["econ.main_product_output"] == 5000.0
    assert db_session.execute(text("SELECT submitted_by, channel FROM report_submission WHERE id = :i"),
                              {"i": body["submission_id"]}).one() == ("rep_a", "api")


def test_a_reporter_cannot_push_for_another_enterprise_and_strangers_are_refused(client: TestClient,
                                                                                   db_session: Session):
    _, other = _setup(db_session)
    r = client.post(f"/api/v1/reporting/enterprises/{other}/reports", json={"period": "2026-10", "values": FULL},
                    headers=auth(client, "rep_a"))
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    client.cookies.clear()  # the login above left a session cookie
    r = client.post(f"/api/v1/reporting/enterprises/{other}/reports", json={"period": "2026-10", "values": FULL})
    assert r.status_code == 401
    r = client.post(f"/api/v1/reporting/enterprises/{other}/reports", json={"period": "2026-10", "values": FULL},
                    headers=auth(client, "duty_a"))
    assert r.status_code == 403


def test_bad_values_come_back_with_reasons_and_a_bad_period_is_422(client: TestClient, db_session: Session):
    own, _ = _setup(db_session)
    h = auth(client, "rep_a")
    r = client.post(f"/api/v1/reporting/enterprises/{own}/reports", headers=h, json={
        "period": "2026-10", "values": [{"indicator": "econ.revenue", "value": "lots"},
                                        {"indicator": "econ.gross_output", "value": 10}]})
    assert r.status_code == 200
    assert r.json()["stored"] == {"econ.gross_output": 10.0}
    assert "not a number" in r.json()["rejected"][0]["reason"]
    r = client.post(f"/api/v1/reporting/enterprises/{own}/reports", headers=h,
                    json={"period": "someday", "values": FULL})
    assert r.status_code == 422


def test_an_upload_by_the_reporter_and_completeness_for_staff(client: TestClient, db_session: Session):
    own, _ = _setup(db_session)
    form = ("报告期,工业总产值(万元),营业收入(万元),工业增加值(万元),综合能源消费量(吨标准煤),主要产品产量(吨)\n"
            "2026-10,1000,950,300,800,5000\n").encode("gbk")
    r = client.post("/api/v1/reporting/uploads", headers=auth(client, "rep_a"),
                    files={"file": ("form.csv", form, "text/csv")})
    assert r.status_code == 200, r.text
    assert [(s["enterprise_id"], s["status"], len(s["stored"])) for s in r.json()["submissions"]] == [
        (own, "accepted", 5)]
    r = client.get("/api/v1/reporting/completeness", params={"period": "2026-10"}, headers=auth(client, "duty_a"))
    assert r.status_code == 200
    c = r.json()
    row = next(e for e in c["enterprises"] if e["enterprise_id"] == own)
    # today (after 8 Nov 2026) the upload is after the deadline: 迟报
    assert row["status"] in ("reported", "late") and row["status_zh"] in ("已报", "迟报")
    assert c["due"] == c["reported"] + c["late"] + c["missing"] + c["pending"]
    assert client.get("/api/v1/reporting/completeness", params={"period": "2026-10"},
                      headers=auth(client, "rep_a")).status_code == 403


def test_flags_are_listed_and_resolved_by_staff_only(client: TestClient, db_session: Session):
    own, _ = _setup(db_session)
    h = auth(client, "rep_a")
    client.post(f"/api/v1/reporting/enterprises/{own}/reports", headers=h,
                json={"period": "2026-09", "values": FULL})
    r = client.post(f"/api/v1/reporting/enterprises/{own}/reports", headers=h, json={
        "period": "2026-10", "values": [{"indicator": "econ.revenue", "value": 5000}]})
    assert r.json()["status"] == "flagged"
    flags = client.get("/api/v1/reporting/flags", headers=auth(client, ADMIN)).json()
    mine = [f for f in flags if f["enterprise_id"] == own]
    assert [(f["indicator_code"], f["rule"], f["status"]) for f in mine] == [("econ.revenue", "mom_jump", "open")]
    assert client.post(f"/api/v1/reporting/flags/{mine[0]['id']}/resolve", json={"status": "confirmed"},
                       headers=h).status_code == 403
    assert client.post(f"/api/v1/reporting/flags/{mine[0]['id']}/resolve", json={"status": "confirmed"},
                       headers=auth(client, "duty_a")).status_code == 204
    left = client.get("/api/v1/reporting/flags", headers=h).json()
    assert left == []  # nothing open any more; the reporter sees only its own
    r = client.put("/api/v1/reporting/periods/2026-10", json={"due_at": "2026-11-16T00:00:00+08:00"},
                   headers=auth(client, ADMIN))
    assert r.status_code == 200 and r.json()["due_at"].startswith("2026-11-15T16:00:00")
