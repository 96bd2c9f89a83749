"""The SQL-native bulk import (`import_long_csv`, `yunjian bulk-import`) on the real database.

The row-by-row path (`parse_long_csv` + `store_batch`) is the reference: on the same file
both must leave exactly the same observations, revisions, rollups, series and quarantine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.ingestion import service
from backend.ingestion.batch import ParsedRow, PayloadError
from ingest.sources.parsers import parse_long_csv

NOW = datetime(2026, 11, 27, 8, tzinfo=UTC)
TZ = "Asia/Shanghai"
LOCAL = ZoneInfo(TZ)
HEADER = "indicator,entity_kind,entity_code,time,value,unit\n"
T0 = datetime(2026, 10, 31, 15, 0, tzinfo=UTC)  # 23:00 local on 31 Oct: the rows cross a day and a month


def _codes(session: Session, n: int) -> list[str]:
    return [str(c) for c in session.execute(text("SELECT uscc FROM enterprise ORDER BY id LIMIT :n"), {"n": n}).scalars()]


def _district(session: Session) -> str:
    return str(session.execute(text("SELECT code FROM district ORDER BY id LIMIT 1")).scalar_one())


def _iso(t: datetime) -> str:
    return t.isoformat()


def mixed_file(session: Session) -> str:
    """Good rows, rows SQL cannot decide by itself but Python accepts, and malformed rows."""
    a, b, c = _codes(session, 3)
    lines = []
    for i in range(8):  # 15-minute power for two enterprises, 23:00-00:45 local
        t = T0 + i * timedelta(minutes=15)
        lines.append(f"power.consumption,enterprise,{a},{_iso(t)},{100 + i}.5,kWh")
        lines.append(f"power.consumption,enterprise,{b},{_iso(t.astimezone(LOCAL))},{200 + i},千瓦时")
    lines += [
        f"power.consumption,enterprise,{c},{_iso(T0)},0.25,万千瓦时",  # converted: 2500 kWh, a new series
        f"power.consumption,enterprise,{c},{_iso(T0 + timedelta(minutes=15))}, 1 234.5 ,kWh",  # spaces in the number
        f"power.consumption,enterprise,{c},2026-10-31T15:30:00Z,7,kWh",  # 'Z': decided by the Python parser
        f"power.consumption,enterprise,{c},2026-10-31 15:45:00+00:00,-0,kWh",  # '-0' is zero for Python too
        f"coal.raw_output,district,{_district(session)},{_iso(datetime(2026, 10, 31, 16, tzinfo=UTC))},1.5,万吨",
        "power.consumption,city,,2026-10-31T16:00:00+08:00,5,kWh",  # the city, whatever its code
        # duplicates: the same point twice in the file, the later value wins
        f"power.consumption,enterprise,{a},{_iso(T0)},999,kWh",
        f"power.consumption,enterprise,{a},{_iso(T0 + timedelta(minutes=15))},101.5,kWh",
        # malformed
        f"power.consumption,enterprise,{a},{_iso(T0 + timedelta(hours=3))},abc,kWh",
        f"power.consumption,enterprise,{a},{_iso(T0 + timedelta(hours=3))},N/A,kWh",
        f"power.consumption,enterprise,{a},{_iso(T0 + timedelta(hours=3))},-5,kWh",
        f"power.consumption,enterprise,{a},{_iso(T0 + timedelta(hours=3))},1e999,kWh",
        f"power.consumption,enterprise,911503990000000000,{_iso(T0)},1,kWh",
        f"power.consumption,district,no-such-district,{_iso(T0)},1,kWh",
        f"no.such.indicator,enterprise,{a},{_iso(T0)},1,kWh",
        f"power.consumption,enterprise,{a},2026-13-01T00:00:00+08:00,1,kWh",
        f"power.consumption,enterprise,{a},2026-11-31T00:00:00+08:00,1,kWh",
        f"power.consumption,enterprise,{a},2026-11-01T24:00:00+08:00,1,kWh",
        f"power.consumption,enterprise,{a},2026-11-01T08:00:00,1,kWh",  # no UTC offset
        f"power.consumption,enterprise,{a},yesterday,1,kWh",
        f"power.consumption,enterprise,{a},{_iso(T0 + timedelta(hours=4))},1,t",  # a unit of another dimension
        f"power.consumption,enterprise,{a},{_iso(T0 + timedelta(hours=4))},1,furlong",  # an unknown unit
        f"power.consumption,enterprise,{b},{_iso(T0 + timedelta(hours=5))},,kWh",  # empty value
    ]
    return HEADER + "\n".join(lines) + "\n"


def snapshot(session: Session) -> dict[str, Any]:
    """Everything a store leaves behind, without ids or wall-clock times."""
    q = {
        "observation": "SELECT series_id, time, value, source, revision FROM observation ORDER BY 1, 2",
        "period_observation": "SELECT series_id, time, value, source, revision FROM period_observation ORDER BY 1, 2",
        "revisions": "SELECT table_name, series_id, time, revision, value, source FROM observation_revision "
                     "ORDER BY 1, 2, 3, 4",
        "daily": "SELECT series_id, day, sum, count, min, max, last, last_at FROM rollup_daily ORDER BY 1, 2",
        "monthly": "SELECT series_id, month, sum, count, min, max, last, last_at FROM rollup_monthly ORDER BY 1, 2",
        "series": "SELECT indicator_code, entity_kind, entity_id FROM series ORDER BY 1, 2, 3",
        "quarantine": "SELECT source_name, batch_id, raw_text, raw_json::text, reason, content_hash, seen_count, "
                      "status FROM ingest_quarantine ORDER BY reason, raw_text",
    }
    key = {i: (ind, kind, e) for i, ind, kind, e in session.execute(text(
        "SELECT id, indicator_code, entity_kind, entity_id FROM series"))}
    out: dict[str, Any] = {}
    for k, sql in q.items():  # series ids depend on creation order: compare series keys
        pos = {"revisions": 1, "series": None, "quarantine": None}.get(k, 0)
        rows = [list(r) for r in session.execute(text(sql))]
        if pos is not None:
            for r in rows:
                r[pos] = key[r[pos]]
        out[k] = sorted(tuple(r) for r in rows)
    return out


def _rowwise(session: Session, data: str, batch: str = "b1") -> service.StoreResult:
    parsed = parse_long_csv(data)
    return service.store_batch(session, source="bulk", batch_id=batch, rows=parsed.rows, rejected=parsed.rejected,
                               now=NOW, tz=TZ)


def _bulk(session: Session, data: str, batch: str = "b1") -> service.StoreResult:
    return service.import_long_csv(session, source="bulk", batch_id=batch, data=data.encode(), now=NOW, tz=TZ)


def _an_existing_point(session: Session) -> None:
    """A stored value the file corrects (a revision) and one it repeats unchanged."""
    a = _codes(session, 1)[0]
    service.store_batch(session, source="earlier", batch_id="b0", now=NOW, tz=TZ, rejected=[], rows=[
        ParsedRow("power.consumption", "enterprise", a, T0 + timedelta(minutes=30), 50.0, "kWh"),
        ParsedRow("power.consumption", "enterprise", a, T0 + timedelta(minutes=45), 103.5, "kWh")])


def _compare_paths(session: Session, data: str, before: Any = None) -> tuple[service.StoreResult, dict[str, Any]]:
    """Run the row-by-row path and the bulk path on the same state; return the bulk result."""
    outer = session.begin_nested()
    if before:
        before(session)
    want_res = _rowwise(session, data)
    want = snapshot(session)
    outer.rollback()
    outer = session.begin_nested()
    if before:
        before(session)
    got_res = _bulk(session, data)
    got = snapshot(session)
    for k in want:
        assert got[k] == want[k], f"{k} differs:\n bulk {got[k]}\n rows {want[k]}"
    assert got_res == want_res
    outer.commit()
    return got_res, got


def test_a_mixed_file_ends_exactly_as_the_row_by_row_path_leaves_it(db_session: Session) -> None:
    res, got = _compare_paths(db_session, mixed_file(db_session), before=_an_existing_point)
    # 16 + 4 + 1 + 1 + 2 good rows; 15 malformed
    assert (res.received, res.rejected, res.quarantined_new) == (39, 15, 15)
    assert res.inserted + res.updated + res.unchanged == 24
    assert res.updated == 1 and res.unchanged == 3  # the correction; the repeat and two in-file duplicates
    reasons = " | ".join(r[4] for r in got["quarantine"])
    for why in ("value is not a number: 'abc'", "value is not a number: 'N/A'", "negative value: '-5'",
                "value is not finite: '1e999'", "unknown enterprise '911503990000000000'",
                "unknown district 'no-such-district'", "unknown indicator 'no.such.indicator'",
                "time '2026-13-01T00:00:00+08:00' is not ISO 8601", "time '2026-11-31T00:00:00+08:00' is not ISO",
                "time '2026-11-01T24:00:00+08:00' is not ISO", "time '2026-11-01T08:00:00' has no UTC offset",
                "time 'yesterday' is not ISO 8601", "cannot convert t (mass) to kWh (electricity)",
                "unknown unit 'furlong'", "value is not a number: ''"):
        assert why in reasons, why


def test_a_mixed_file_stores_each_good_value_once_with_its_revision_and_exact_rollups(db_session: Session) -> None:
    _an_existing_point(db_session)
    _bulk(db_session, mixed_file(db_session))
    a, b, c = _codes(db_session, 3)

    def value(code: str, t: datetime) -> float:
        return float(db_session.execute(text(
            "SELECT o.value FROM observation o JOIN series s ON s.id = o.series_id JOIN enterprise e "
            "ON e.id = s.entity_id AND s.entity_kind = 'enterprise' WHERE e.uscc = :c AND o.time = :t"),
            {"c": code, "t": t}).scalar_one())

    assert value(a, T0) == 999.0  # the later duplicate won
    assert value(a, T0 + timedelta(minutes=30)) == 102.5  # corrected from 50
    assert value(b, T0 + timedelta(minutes=15)) == 201.0
    assert value(c, T0) == 2500.0 and value(c, T0 + timedelta(minutes=15)) == 1234.5
    assert value(c, T0 + timedelta(minutes=30)) == 7.0
    rev = db_session.execute(text("SELECT revision, value, source FROM observation_revision")).all()
    assert [tuple(r) for r in rev] == [(0, 50.0, "earlier")]
    assert db_session.execute(text("SELECT value FROM period_observation")).scalar_one() == 15000.0
    # rollups equal a recompute from the raw rows (local days and months)
    raw = db_session.execute(text("SELECT series_id, time, value FROM observation ORDER BY time")).all()
    days: dict[tuple[int, date], list[float]] = defaultdict(list)
    for sid, t, v in raw:
        days[(sid, t.astimezone(LOCAL).date())].append(v)
    stored = {(sid, d): (s, n, lo, hi, last) for sid, d, s, n, lo, hi, last in db_session.execute(text(
        "SELECT series_id, day, sum, count, min, max, last FROM rollup_daily WHERE series_id IN "
        "(SELECT DISTINCT series_id FROM observation)"))}
    assert stored == {k: (pytest.approx(sum(v)), len(v), min(v), max(v), v[-1]) for k, v in days.items()}
    months: dict[tuple[int, date], list[float]] = defaultdict(list)
    for (sid, d), v in days.items():
        months[(sid, d.replace(day=1))] += v
    stored_m = {(sid, m): (s, n) for sid, m, s, n in db_session.execute(text(
        "SELECT series_id, month, sum, count FROM rollup_monthly WHERE series_id IN "
        "(SELECT DISTINCT series_id FROM observation)"))}
    assert stored_m == {k: (pytest.approx(sum(v)), len(v)) for k, v in months.items()}


def test_a_repeated_delivery_changes_nothing_and_counts_the_rejects_again(db_session: Session) -> None:
    data = mixed_file(db_session)
    first = _bulk(db_session, data)
    before = snapshot(db_session)
    again = _bulk(db_session, data, batch="b2")
    after = snapshot(db_session)
    assert (again.inserted, again.updated, again.quarantined_new) == (0, 0, 0)
    assert again.unchanged == first.inserted + first.unchanged and again.rejected == first.rejected
    for k in ("observation", "period_observation", "revisions", "daily", "monthly", "series"):
        assert after[k] == before[k], k
    assert [r[6] for r in after["quarantine"]] == [2] * len(before["quarantine"])


def test_no_series_is_created_for_rows_that_were_all_rejected(db_session: Session) -> None:
    c = _codes(db_session, 5)[4]
    data = HEADER + f"power.consumption,enterprise,{c},{_iso(T0)},oops,kWh\n"
    res = _bulk(db_session, data)
    assert (res.inserted, res.rejected) == (0, 1)
    assert db_session.execute(text(
        "SELECT count(*) FROM series s JOIN enterprise e ON e.id = s.entity_id AND s.entity_kind = 'enterprise' "
        "WHERE e.uscc = :c"), {"c": c}).scalar_one() == 0


@pytest.mark.parametrize("shape", ["short line", "quoted cells", "CRLF and a BOM"])
def test_files_the_copy_cannot_take_cell_for_cell_give_the_same_result(db_session: Session, shape: str) -> None:
    a, b = _codes(db_session, 2)
    good = [f"power.consumption,enterprise,{a},{_iso(T0)},1.5,kWh", f"power.consumption,enterprise,{b},{_iso(T0)},2,kWh"]
    if shape == "short line":
        data = HEADER + "\n".join([good[0], "power.consumption,enterprise,only-three", good[1]]) + "\n"
    elif shape == "quoted cells":
        data = HEADER + "\n".join([good[0], f'power.consumption,enterprise,{b},{_iso(T0)},"1,234.5",kWh']) + "\n"
    else:
        data = "\ufeff" + (HEADER + "\n".join(good) + "\n").replace("\n", "\r\n")
    if shape == "CRLF and a BOM":  # the row-by-row reference reads text with universal newlines, no BOM
        res = _bulk(db_session, data)
        assert (res.inserted, res.rejected) == (2, 0)
        return
    res, got = _compare_paths(db_session, data)
    assert res.inserted == 2
    if shape == "short line":
        assert res.rejected == 1 and "expected 6 columns, got 3" in got["quarantine"][0][4]
    else:
        assert res.rejected == 0
        assert 1234.5 in [r[2] for r in got["observation"]]


def test_a_file_with_the_wrong_header_encoding_or_nul_bytes_is_refused_whole(db_session: Session) -> None:
    with pytest.raises(PayloadError, match="expected header"):
        _bulk(db_session, "code,time,value\nx,y,z\n")
    with pytest.raises(PayloadError, match="NUL"):
        _bulk(db_session, HEADER + "power.consumption,enterprise,x\x00,2026-11-01T00:00:00+08:00,1,kWh\n")
    with pytest.raises(PayloadError, match="not UTF-8"):
        service.import_long_csv(db_session, source="bulk", batch_id="b", data=HEADER.encode() + "乌海".encode("gbk"),
                                now=NOW, tz=TZ)


def test_the_bulk_import_command_stores_a_file_once(fresh_database_url: str, tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(fresh_database_url)
    with engine.connect() as conn:
        a = str(conn.execute(text("SELECT uscc FROM enterprise ORDER BY id LIMIT 1")).scalar_one())
    path = tmp_path / "power.csv"
    path.write_text(HEADER + "\n".join(
        f"power.consumption,enterprise,{a},{_iso(T0 + i * timedelta(minutes=15))},{i},kWh" for i in range(96))
        + f"\npower.consumption,enterprise,{a},{_iso(T0)},bad,kWh\n", encoding="utf-8")
    env = {**os.environ, "DATABASE_URL": fresh_database_url}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "backend.cli", "bulk-import", str(path), "--source", "meters"],
                              capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parents[2],
                              timeout=120)

    first, second = run(), run()
    assert first.returncode == 0, first.stderr
    assert "inserted 96" in first.stdout and "rejected 1" in first.stdout
    assert "inserted 0" in second.stdout and "unchanged 96" in second.stdout
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM observation WHERE source = 'meters'")).scalar_one() == 96
        assert conn.execute(text("SELECT seen_count FROM ingest_quarantine WHERE source_name = 'meters'")
                            ).scalar_one() == 2
    engine.dispose()


def test_a_file_whose_times_are_all_valid_ends_as_the_row_by_row_path_leaves_it(db_session: Session) -> None:
    """Every time text valid: rows are cast one by one instead of joined to the checked times."""
    data = "\n".join(line for line in mixed_file(db_session).splitlines()
                     if not any(bad in line for bad in ("2026-13-01", "2026-11-31", "T24:", "T08:00:00,", "yesterday",
                                                        "Z,")))
    res, _ = _compare_paths(db_session, data + "\n", before=_an_existing_point)
    assert (res.rejected, res.updated) == (10, 1)


def _new_points_file(session: Session) -> str:
    """The mixed file without its two in-file duplicates: every point is new, so the
    column-wise path stores it (its malformed rows and the rows only the parser reads included)."""
    lines = mixed_file(session).splitlines()
    at = next(i for i, line in enumerate(lines) if ",999,kWh" in line)
    del lines[at:at + 2]
    return "\n".join(lines) + "\n"


@pytest.fixture(params=["one piece", "pieces of a few lines"])
def pieces(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The column-wise path reads big files in pieces, sent to the server one after another;
    tiny pieces make these small files take every branch of that (series first met in a later
    piece, a bad line after some pieces went in)."""
    if request.param == "pieces of a few lines":
        monkeypatch.setattr(service, "_FIRST_PIECE", 150)
        monkeypatch.setattr(service, "_PIECE", 300)
    return str(request.param)


def test_a_file_of_new_points_takes_the_column_path_and_ends_as_the_row_by_row_path_leaves_it(
        db_session: Session, pieces: str) -> None:
    data = _new_points_file(db_session)
    probe = db_session.begin_nested()  # the column path itself, not its fallback, stores this file
    direct = service._import_columns(db_session, source="bulk", batch_id="b1",
                                     body=data.partition("\n")[2], now=NOW, tz=TZ)
    probe.rollback()
    res, got = _compare_paths(db_session, data)
    assert direct == res
    assert (res.received, res.inserted, res.updated, res.unchanged, res.rejected) == (37, 22, 0, 0, 15)
    assert len(got["period_observation"]) == 1 and len(got["quarantine"]) == 15
    # the new enterprise's series was created, and only for the rows that were stored
    assert sum(1 for r in got["observation"] if r[2] == 2500.0) == 1


def test_a_file_of_new_points_that_repeats_a_stored_one_is_merged_instead(db_session: Session, pieces: str) -> None:
    """The stored point comes late in the file, after some pieces went in: they are rolled back
    and the staged path stores the file, with the revision."""
    data = _new_points_file(db_session)
    res, _ = _compare_paths(db_session, data, before=_an_existing_point)
    assert (res.updated, res.unchanged) == (1, 1)


def test_a_line_of_another_shape_after_pieces_went_in_gives_the_row_by_row_result(
        db_session: Session, pieces: str) -> None:
    data = _new_points_file(db_session) + "power.consumption,enterprise,only-three\n" + \
        f"power.consumption,enterprise,{_codes(db_session, 4)[3]},{_iso(T0)},1,kWh\n"
    res, got = _compare_paths(db_session, data)
    assert res.inserted == 23 and any("expected 6 columns, got 3" in r[4] for r in got["quarantine"])


def test_daily_sums_add_in_delivery_order_on_both_paths(db_session: Session, pieces: str) -> None:
    """0.1 + 0.2 + 0.3 is not 0.3 + 0.2 + 0.1 in floating point: each bucket's sum is the one
    PostgreSQL's sum() makes of the rows in file order, whichever path stored them."""
    a, b = _codes(db_session, 2)
    lines = [f"power.consumption,enterprise,{code},{_iso(T0 - timedelta(hours=h))},{v},kWh"
             for code, vals in ((a, ("0.1", "0.2", "0.3")), (b, ("0.3", "0.2", "0.1"))) for h, v in enumerate(vals)]
    _compare_paths(db_session, HEADER + "\n".join(lines) + "\n")
    sums = dict(db_session.execute(text(
        "SELECT e.uscc, d.sum FROM rollup_daily d JOIN series s ON s.id = d.series_id "
        "JOIN enterprise e ON e.id = s.entity_id AND s.entity_kind = 'enterprise'")).all())
    assert sums == {a: (0.1 + 0.2) + 0.3, b: (0.3 + 0.2) + 0.1}
    assert sums[a] != sums[b]


def test_a_blank_last_line_is_rejected_as_on_the_row_by_row_path(db_session: Session, pieces: str) -> None:
    res, got = _compare_paths(db_session, _new_points_file(db_session) + "\n")
    assert res.rejected == 16 and any("expected 6 columns, got 0" in r[4] for r in got["quarantine"])


def test_a_connection_killed_while_pieces_go_in_loses_nothing_and_a_rerun_stores_the_file_once(
        fresh_database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The database side of the import dies while the COPY thread is sending (the server
    restarts, or an operator terminates it): the import fails cleanly (no hang, nothing
    stored), and running it again stores every row once, with rollups equal to the rows."""
    import threading

    from sqlalchemy import create_engine
    from sqlalchemy.exc import DBAPIError

    from backend.db import make_session_factory, transaction

    monkeypatch.setattr(service, "_FIRST_PIECE", 2_000)
    monkeypatch.setattr(service, "_PIECE", 20_000)  # about 200 lines a piece: hundreds of COPYs
    engine = create_engine(fresh_database_url)
    with engine.connect() as conn:
        codes = [str(c) for c in conn.execute(text("SELECT uscc FROM enterprise ORDER BY id LIMIT 40")).scalars()]
    lines = [f"power.consumption,enterprise,{code},{_iso(T0 + i * timedelta(minutes=15))},{i % 97}.25,kWh"
             for code in codes for i in range(96 * 5)]
    data = (HEADER + "\n".join(lines) + "\n").encode()
    sf = make_session_factory(engine)
    killed = threading.Event()

    def kill_the_copy() -> None:
        with engine.connect() as conn:
            for _ in range(4000):
                pid = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE state = 'active' "
                                        "AND query LIKE 'COPY observation%' AND pid <> pg_backend_pid()")).scalar()
                if pid is not None:
                    conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
                    killed.set()
                    return
                conn.rollback()

    killer = threading.Thread(target=kill_the_copy)
    killer.start()
    with pytest.raises(DBAPIError), transaction(sf) as s:
        service.import_long_csv(s, source="bulk", batch_id="b1", data=data, now=NOW, tz=TZ)
    killer.join(30)
    assert killed.is_set()
    engine.dispose()  # the pool's dead connection goes with it
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM observation")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM rollup_daily")).scalar_one() == 0
    with transaction(sf) as s:
        res = service.import_long_csv(s, source="bulk", batch_id="b2", data=data, now=NOW, tz=TZ)
    assert (res.received, res.inserted, res.rejected) == (len(lines), len(lines), 0)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM observation")).scalar_one() == len(lines)
        bad = conn.execute(text(
            "SELECT count(*) FROM rollup_daily r JOIN (SELECT series_id, (time AT TIME ZONE 'Asia/Shanghai')::date d, "
            "count(*) n, sum(value) v FROM observation GROUP BY 1, 2) o ON o.series_id = r.series_id AND o.d = r.day "
            "WHERE o.n <> r.count OR abs(o.v - r.sum) > 1e-6")).scalar_one()
        days = conn.execute(text("SELECT count(*) FROM rollup_daily")).scalar_one()
    assert bad == 0 and days == 40 * 6  # 5 days from 23:00 local: six local days
    engine.dispose()
