"""The alerts API names what an alert is about (district, park, enterprise, in Chinese and
English, joined in one query) and filters by enterprise, within the caller's district scope."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from backend.alerts.models import Alert
from tests.alerts.conftest import START
from tests.api.support import auth

WUDA, HAINAN = "150304", "150303"


def _enterprises(session: Session, district_code: str, n: int) -> list[dict[str, Any]]:
    """n enterprises of a district (as of today) that are in a park, with their names."""
    rows = session.execute(text("""
        SELECT e.id, e.name_zh, e.name_en, d.id, d.name_zh, d.name_en, p.id, p.name_zh, p.name_en
        FROM enterprise e JOIN enterprise_version v ON v.enterprise_id = e.id AND v.valid_to IS NULL
        JOIN district d ON d.id = v.district_id JOIN park p ON p.id = v.park_id
        WHERE d.code = :c ORDER BY e.id LIMIT :n"""), {"c": district_code, "n": n}).all()
    assert len(rows) == n
    keys = ("id", "name_zh", "name_en", "district_id", "district_zh", "district_en", "park_id", "park_zh", "park_en")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def _alert(session: Session, kind: str, entity_id: int, *, district_id: int | None = None, park_id: int | None = None,
           enterprise_id: int | None = None, parent_id: int | None = None, is_group: bool = False) -> Alert:
    a = Alert(series_id=None, indicator_code="power.consumption", entity_kind=kind, entity_id=entity_id,
              district_id=district_id, park_id=park_id, enterprise_id=enterprise_id, level="orange",
              peak_level="orange", level_since=START, state="open", episode_started_at=START, opened_at=START,
              checks=["level_shift"], explanation_zh="低于预期区间", explanation_en="below the expected band",
              importance=1.0, severity=0.8, is_group=is_group, parent_id=parent_id, due_at=START + timedelta(hours=4))
    session.add(a)
    session.flush()
    return a


def _for_enterprise(session: Session, e: dict[str, Any], **kw: Any) -> Alert:
    return _alert(session, "enterprise", e["id"], district_id=e["district_id"], park_id=e["park_id"],
                  enterprise_id=e["id"], **kw)


def test_alerts_carry_the_names_of_their_entity_district_park_and_enterprise(client: TestClient, db_session: Session):
    e = _enterprises(db_session, WUDA, 1)[0]
    group = _alert(db_session, "park", e["park_id"], district_id=e["district_id"], park_id=e["park_id"], is_group=True)
    ent = _for_enterprise(db_session, e, parent_id=group.id)
    dist = _alert(db_session, "district", e["district_id"], district_id=e["district_id"])
    city = _alert(db_session, "city", 0)
    duty = auth(client, "duty")
    items = {x["id"]: x for x in client.get("/api/v1/alerts", params={"limit": 500}, headers=duty).json()["items"]}
    assert (items[ent.id]["entity_name_zh"], items[ent.id]["entity_name_en"]) == (e["name_zh"], e["name_en"])
    assert (items[ent.id]["district_name_zh"], items[ent.id]["district_name_en"]) == (e["district_zh"],
                                                                                      e["district_en"])
    assert (items[ent.id]["park_name_zh"], items[ent.id]["park_name_en"]) == (e["park_zh"], e["park_en"])
    assert items[ent.id]["enterprise_name_zh"] == e["name_zh"]
    assert (items[group.id]["entity_name_zh"], items[group.id]["enterprise_name_zh"]) == (e["park_zh"], None)
    assert (items[dist.id]["entity_name_zh"], items[dist.id]["entity_name_en"]) == (e["district_zh"], e["district_en"])
    assert (items[dist.id]["park_name_zh"], items[city.id]["entity_name_zh"]) == (None, "乌海市")
    detail = client.get(f"/api/v1/alerts/{group.id}", headers=duty).json()
    assert detail["entity_name_zh"] == e["park_zh"] and detail["district_name_zh"] == e["district_zh"]
    assert [(m["id"], m["entity_name_zh"]) for m in detail["members"]] == [(ent.id, e["name_zh"])]
    acked = client.post(f"/api/v1/alerts/{ent.id}/acknowledge", json={}, headers=duty).json()
    assert acked["entity_name_zh"] == e["name_zh"] and acked["state"] == "acknowledged"


def test_listing_alerts_with_names_takes_the_same_number_of_queries_for_3_or_30_alerts(
        client: TestClient, db_session: Session):
    ents = _enterprises(db_session, WUDA, 3)
    duty = auth(client, "duty")
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        statements.append(sql)

    def queries_for_listing() -> int:
        conn = db_session.connection()
        statements.clear()
        event.listen(conn, "before_cursor_execute", count)
        try:
            r = client.get("/api/v1/alerts", params={"indicator": "power.consumption", "limit": 500}, headers=duty)
        finally:
            event.remove(conn, "before_cursor_execute", count)
        assert r.status_code == 200
        return len(statements)

    for e in ents:
        _for_enterprise(db_session, e)
    few = queries_for_listing()
    for _ in range(9):
        for e in ents:
            _for_enterprise(db_session, e)
    assert queries_for_listing() == few


def test_the_enterprise_filter_returns_only_the_alerts_of_the_enterprises_asked_for(
        client: TestClient, db_session: Session):
    e1, e2, e3 = _enterprises(db_session, WUDA, 3)
    a1, a2, _a3 = _for_enterprise(db_session, e1), _for_enterprise(db_session, e2), _for_enterprise(db_session, e3)
    duty = auth(client, "duty")
    r = client.get("/api/v1/alerts", params={"enterprise": e1["id"]}, headers=duty)
    assert r.status_code == 200 and [x["id"] for x in r.json()["items"]] == [a1.id] and r.json()["total"] == 1
    r = client.get("/api/v1/alerts", params=[("enterprise", e1["id"]), ("enterprise", e2["id"])], headers=duty)
    assert sorted(x["id"] for x in r.json()["items"]) == sorted([a1.id, a2.id])
    assert client.get("/api/v1/alerts", params={"enterprise": 0}, headers=duty).status_code == 422
    assert client.get("/api/v1/alerts", params={"enterprise": 2**31 - 2}, headers=duty).status_code == 404


def test_a_district_officer_filtering_for_another_districts_enterprise_gets_404_and_no_data(
        client: TestClient, db_session: Session):
    wuda_ent = _enterprises(db_session, WUDA, 1)[0]
    hainan_ent = _enterprises(db_session, HAINAN, 1)[0]
    wuda_alert, hainan_alert = _for_enterprise(db_session, wuda_ent), _for_enterprise(db_session, hainan_ent)
    hainan = auth(client, "hainan_duty")
    r = client.get("/api/v1/alerts", params={"enterprise": wuda_ent["id"]}, headers=hainan)
    assert r.status_code == 404 and "items" not in r.json()
    # Mixed with one of their own: still refused as a whole, nothing of the other district returned.
    r = client.get("/api/v1/alerts", params=[("enterprise", hainan_ent["id"]), ("enterprise", wuda_ent["id"])],
                   headers=hainan)
    assert r.status_code == 404 and str(wuda_alert.id) not in r.text
    r = client.get("/api/v1/alerts", params={"enterprise": hainan_ent["id"]}, headers=hainan)
    assert r.status_code == 200 and [x["id"] for x in r.json()["items"]] == [hainan_alert.id]
    assert client.get("/api/v1/alerts", params={"enterprise": hainan_ent["id"]},
                      headers=auth(client, "reporter")).status_code == 403
