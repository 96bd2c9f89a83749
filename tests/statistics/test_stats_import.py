"""The statistics import against the real database: stored values, quarantine, re-import,
corrections, dry runs, and the `yunjian import` command."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from backend.statistics.mapping import MappingError, load_mapping, parse_mapping
from backend.statistics.service import import_file
from tests.statistics.support import FIXTURES

TZ = "Asia/Shanghai"
NOW = datetime(2026, 11, 27, 8, tzinfo=UTC)


def _import(session: Session, data_file: str, mapping_file: str, *, data: bytes | None = None, dry_run: bool = False):
    return import_file(session, data if data is not None else (FIXTURES / data_file).read_bytes(), data_file,
                       load_mapping(FIXTURES / mapping_file), tz=TZ, now=NOW, dry_run=dry_run)


def _stored(session: Session, code: str, kind: str, entity: int) -> dict[str, tuple[float, int]]:
    rows = session.execute(text(
        "SELECT to_char(o.time AT TIME ZONE :tz, 'YYYY-MM-DD HH24:MI'), o.value, o.quality FROM period_observation o "
        "JOIN series s ON s.id = o.series_id WHERE s.indicator_code = :c AND s.entity_kind = :k AND s.entity_id = :e "
        "ORDER BY o.time"), {"tz": TZ, "c": code, "k": kind, "e": entity})
    return {t: (v, q) for t, v, q in rows}


def _district_id(session: Session, code: str) -> int:
    return session.execute(text("SELECT id FROM district WHERE code = :c"), {"c": code}).scalar_one()


def test_good_rows_are_stored_at_local_month_start_and_bad_ones_quarantined(db_session: Session):
    rep = _import(db_session, "long_wuhai.csv", "long_wuhai.yaml")
    assert (rep.inserted, rep.updated, rep.unchanged) == (7, 0, 0)
    assert _stored(db_session, "econ.value_added.ytd", "city", 0) == {
        "2021-02-01 00:00": (456000.0, 0), "2021-03-01 00:00": (669000.0, 0), "2021-04-01 00:00": (890000.0, 1)}
    assert _stored(db_session, "econ.value_added", "city", 0) == {
        "2021-03-01 00:00": (213000.0, 0), "2021-04-01 00:00": (221000.0, 0)}
    wuda = _district_id(db_session, "150304")
    assert _stored(db_session, "stats.raw_coal", "district", wuda) == {"2021-04-01 00:00": (12345000.0, 0)}
    q = db_session.execute(text("SELECT reason, raw_text, batch_id FROM ingest_quarantine "
                                "WHERE source_name = 'stats:wuhai' ORDER BY raw_text")).all()
    assert len(q) == 3
    assert all(b == f"import:{rep.batch_id}" for _, _, b in q)
    assert any("not a number" in r and "abc" in raw for r, raw, _ in q)
    batch = db_session.execute(text("SELECT inserted, derived, rejected, not_published FROM import_batch "
                                    "WHERE id = :i"), {"i": rep.batch_id}).one()
    assert tuple(batch) == (7, 1, 3, 1)
    # the monthly rollup the API reads sees the month value
    assert db_session.execute(text(
        "SELECT r.sum FROM rollup_monthly r JOIN series s ON s.id = r.series_id WHERE s.indicator_code = "
        "'econ.value_added' AND s.entity_kind = 'city' AND r.month = '2021-04-01'")).scalar_one() == 221000.0


def test_importing_the_same_file_again_changes_nothing(db_session: Session):
    _import(db_session, "long_wuhai.csv", "long_wuhai.yaml")
    before = db_session.execute(text("SELECT count(*) FROM period_observation")).scalar_one()
    again = _import(db_session, "long_wuhai.csv", "long_wuhai.yaml")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 7)
    assert db_session.execute(text("SELECT count(*) FROM period_observation")).scalar_one() == before
    assert db_session.execute(text("SELECT count(*) FROM ingest_quarantine WHERE source_name = 'stats:wuhai'"
                                   )).scalar_one() == 3
    assert db_session.execute(text("SELECT count(*) FROM observation_revision")).scalar_one() == 0


def test_a_corrected_figure_becomes_a_new_revision(db_session: Session):
    _import(db_session, "long_wuhai.csv", "long_wuhai.yaml")
    corrected = (FIXTURES / "long_wuhai.csv").read_bytes().replace(b",202103,\xe5\xbd\x93\xe6\x9c\x88,21.3",
                                                                   b",202103,\xe5\xbd\x93\xe6\x9c\x88,21.5")
    assert corrected != (FIXTURES / "long_wuhai.csv").read_bytes()
    rep = _import(db_session, "long_wuhai.csv", "long_wuhai.yaml", data=corrected)
    assert (rep.inserted, rep.updated) == (0, 1)
    assert _stored(db_session, "econ.value_added", "city", 0)["2021-03-01 00:00"] == (215000.0, 0)
    revs = db_session.execute(text("SELECT r.value, r.revision FROM observation_revision r JOIN series s "
                                   "ON s.id = r.series_id WHERE s.indicator_code = 'econ.value_added'")).all()
    assert [tuple(r) for r in revs] == [(213000.0, 0)]


def test_a_dry_run_reports_everything_and_stores_nothing(db_session: Session):
    counts = "SELECT (SELECT count(*) FROM period_observation), (SELECT count(*) FROM series), " \
             "(SELECT count(*) FROM import_batch), (SELECT count(*) FROM ingest_quarantine)"
    before = tuple(db_session.execute(text(counts)).one())
    rep = _import(db_session, "nbs_export_bom.csv", "nbs_export.yaml", dry_run=True)
    assert len(rep.facts) == 9 and rep.derived == 1 and rep.batch_id is None
    assert tuple(db_session.execute(text(counts)).one()) == before


def test_a_derived_value_never_replaces_a_published_one(db_session: Session):
    # March published on its own first ...
    march = "指标,地区,时间,当月值\n发电量,内蒙古自治区,2021年3月,470.0\n".encode()
    mapping = parse_mapping({"auto_regions": True, "unit": "亿千瓦时",
                             "indicators": {"发电量": "stats.power_generation"}}, "t")
    import_file(db_session, march, "march.csv", mapping, tz=TZ, now=NOW)
    # ... then a file where March's month value is only derivable from YTD (1450.6 - 970.4)
    rep = _import(db_session, "nbs_export_bom.csv", "nbs_export.yaml")
    assert rep.kept_published == 1
    assert _stored(db_session, "stats.power_generation", "city", 150000)["2021-03-01 00:00"] == (47000000000.0, 0)


def test_a_mapping_naming_a_non_monthly_indicator_is_refused(db_session: Session):
    mapping = parse_mapping({"indicators": {"原煤": "coal.raw_output"}})
    with pytest.raises(MappingError, match="day indicator, not monthly"):
        import_file(db_session, "指标,值\n原煤,1\n".encode(), "x.csv", mapping, tz=TZ, now=NOW)


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "backend.cli", "import", *args], capture_output=True, text=True,
                          env=env, cwd=Path(__file__).resolve().parents[2], timeout=120)


def test_the_import_command_dry_runs_then_imports(fresh_database_url: str):
    f, m = str(FIXTURES / "wide_two_header_gbk.csv"), str(FIXTURES / "wide_two_header.yaml")
    dry = _cli(fresh_database_url, f, "--mapping", m, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "DRY RUN" in dry.stdout and "to store: 11" in dry.stdout and "stats.raw_coal.ytd" in dry.stdout
    engine = create_engine(fresh_database_url)
    try:
        with engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM period_observation")).scalar_one() == 0
        done = _cli(fresh_database_url, f, "--mapping", m)
        assert done.returncode == 0, done.stderr
        assert "inserted 11" in done.stdout
        with engine.connect() as c:
            got = c.execute(text(
                "SELECT o.value FROM period_observation o JOIN series s ON s.id = o.series_id WHERE "
                "s.indicator_code = 'stats.raw_coal' AND s.entity_kind = 'city' AND s.entity_id = 0 "
                "AND o.time = :t"), {"t": datetime(2021, 9, 1, tzinfo=ZoneInfo(TZ))}).scalar_one()
            assert got == 23456000.0
    finally:
        engine.dispose()


def test_the_import_command_explains_an_unreadable_file(fresh_database_url: str, tmp_path: Path):
    bad = tmp_path / "empty.csv"
    bad.write_text("hello\n")
    res = _cli(fresh_database_url, str(bad), "--mapping", str(FIXTURES / "long_wuhai.yaml"))
    assert res.returncode != 0
    assert "no header row found" in res.stderr
