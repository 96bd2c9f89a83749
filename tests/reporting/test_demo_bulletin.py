"""The demo's monthly statistics bulletin goes through the statistics importer, once."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.statistics import demo
from ingest.simulator.generator import World

SH = ZoneInfo("Asia/Shanghai")
MONTHS = [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]


def test_the_bulletin_is_deterministic_and_has_month_and_ytd_rows():
    a, b = demo.bulletin_csv(World(seed=1), MONTHS), demo.bulletin_csv(World(seed=1), MONTHS)
    assert a == b
    lines = a.decode().splitlines()
    assert lines[0] == "指标,单位,地区代码,地区,时间,口径,值"
    assert len(lines) == 1 + len(demo.ROWS) * len(MONTHS) * 2
    assert "原煤产量,万吨,150300,乌海市,2026年1月,累计," in "\n".join(lines)


def test_the_bulletin_is_imported_through_the_importer_once(db_session: Session):
    now = datetime(2026, 11, 27, 20, tzinfo=SH)
    first = demo.import_demo_bulletin(db_session, World(seed=1), MONTHS, "Asia/Shanghai", now)
    assert first.imported and first.rejected == 0 and first.inserted == len(demo.ROWS) * len(MONTHS) * 2
    coal = db_session.execute(text(
        "SELECT (o.time AT TIME ZONE 'Asia/Shanghai')::date, o.value FROM period_observation o "
        "JOIN series s ON s.id = o.series_id WHERE s.indicator_code = 'stats.raw_coal' "
        "AND s.entity_kind = 'city' ORDER BY 1")).all()
    by_month: dict[date, float] = {m: v for m, v in coal}
    assert set(by_month) == set(MONTHS)
    # tonnes in store (万吨 on the bulletin); the Spring Festival month (Feb 2026) dips
    assert 1e5 < by_month[date(2026, 3, 1)] < 1e8
    assert by_month[date(2026, 2, 1)] < 0.8 * by_month[date(2026, 3, 1)]
    again = demo.import_demo_bulletin(db_session, World(seed=1), MONTHS, "Asia/Shanghai", now)
    assert not again.imported
