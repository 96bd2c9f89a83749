"""Series through HTTP with an API key: district 同比 and 累计 match pandas over the raw rows."""

from __future__ import annotations

import io
from datetime import date

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from tests.aggregates import world as w
from tests.api.support import auth


def _growth(v: float, base: float) -> float:
    return (v - base) / abs(base) * 100


def test_a_developer_with_an_api_key_gets_district_yoy_and_ytd_matching_pandas(client: TestClient,
                                                                              db_session: Session):
    wd = w.build(db_session)
    w.write_monthly(db_session, wd, "econ.value_added", date(2024, 1, 1), date(2025, 6, 1), combined_years=set())
    key = client.post("/api/v1/api-keys", json={"name": "dev", "scopes": ["read"]},
                      headers=auth(client, "api_client")).json()["key"]
    h = {"Authorization": f"Bearer {key}"}
    r = client.get("/api/v1/series?indicator=econ.value_added&district=150304&bucket=month"
                   "&start=2025-01-01&end=2025-06-30", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    df = w.raw_frame(db_session, "econ.value_added")
    wuda = df[df["district_id"] == wd.district_ids["150304"]].groupby("month")["value"].sum()
    assert body["groups"][0]["kind"] == "district"
    for p in body["groups"][0]["points"]:
        m = date.fromisoformat(p["start"])
        ly = date(m.year - 1, m.month, 1)
        ytd = wuda[(wuda.index >= date(2025, 1, 1)) & (wuda.index <= m)].sum()
        ly_ytd = wuda[(wuda.index >= date(2024, 1, 1)) & (wuda.index <= ly)].sum()
        assert p["value"] == pytest.approx(wuda[m], rel=1e-9)
        assert p["yoy_pct"] == pytest.approx(_growth(wuda[m], wuda[ly]), rel=1e-9)
        assert p["ytd"] == pytest.approx(ytd, rel=1e-9)
        assert p["ytd_yoy_pct"] == pytest.approx(_growth(ytd, ly_ytd), rel=1e-9)
    csv = client.get("/api/v1/series?indicator=econ.value_added&district=150304&start=2025-01-01&end=2025-06-30"
                     "&format=csv", headers=h)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.lstrip("\ufeff").splitlines()[0].startswith("group,group_name_zh,period")
    assert len(csv.text.strip().splitlines()) == 7
    xlsx = client.get("/api/v1/series?indicator=econ.value_added&district=150304&start=2025-01-01&end=2025-06-30"
                      "&format=xlsx&group_by=industry", headers=h)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet.max_row > 1


def test_top_enterprises_by_change_rank_by_the_yoy_difference(client: TestClient, db_session: Session):
    wd = w.build(db_session)
    w.write_monthly(db_session, wd, "econ.value_added", date(2024, 1, 1), date(2025, 6, 1), combined_years=set())
    r = client.get("/api/v1/series/top?indicator=econ.value_added&by=change&n=3&start=2025-01-01&end=2025-06-30",
                   headers=auth(client, "leader"))
    assert r.status_code == 200
    df = w.raw_frame(db_session, "econ.value_added")
    cur = df[(df["month"] >= date(2025, 1, 1)) & (df["month"] <= date(2025, 6, 1))].groupby("eid")["value"].sum()
    prev = df[(df["month"] >= date(2024, 1, 1)) & (df["month"] <= date(2024, 6, 1))].groupby("eid")["value"].sum()
    change = (cur - prev).dropna().sort_values(ascending=False)
    assert [i["enterprise_id"] for i in r.json()["items"]] == [int(e) for e in change.index[:3]]
    assert [i["rank"] for i in r.json()["items"]] == [1, 2, 3]
