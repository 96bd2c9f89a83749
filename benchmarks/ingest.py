"""Ingest benchmark: rows per second through our write path, as ratios to a raw COPY.

    .venv/bin/python benchmarks/ingest.py [--database-url URL] [--series 1000] [--days 2]

Measured in one run, on one database, into the same `observation` hypertable (emptied before
each measurement), with the same rows (1,000 enterprise meters x 15-minute consumption):

- references, each the same rows with their series ids already known:
  - server-side COPY: `COPY observation FROM '/path/file'`, a text file the server reads
    itself (what the issue names; the database role must be allowed to read server files);
  - binary COPY: `COPY observation FROM STDIN (FORMAT BINARY)` of rows encoded beforehand,
    the cheapest way in for the server (the strictest reference);
  - client COPY: psycopg's `write_row` per row (the reference of earlier runs);
- (a) bulk: a generated long CSV file stored by `yunjian bulk-import`'s code path
  (`ingestion.service.import_long_csv`: the file read column-wise, codes, units, times and
  values checked and resolved, series created, one binary COPY into the hypertable, daily and
  monthly rollups merged) in one transaction; and, for comparison, the row-by-row path
  (Python `parse_long_csv` + `store_batch`, one transaction per day of rows);
  with --repeat N the references and (a) are measured N times in turn and medians reported;
- (b) HTTP: the simulator in its own process, fetched by the worker code (httpx, paged JSON,
  parse, store) as one catch-up run over the whole window;
- (c) steady state: the scheduled run as deployed (every 60 s, 3 h lookback) for N
  consecutive 15-minute intervals; the worker process's CPU time per wall-clock second it
  represents is the share of one core the worker needs to keep up.

Without --database-url it uses the throwaway test cluster (var/pg-test, port 54339) and a
database `yunjian_bench_ingest` that it recreates.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from backend import migrate  # noqa: E402
from backend.config import Settings  # noqa: E402
from backend.db import make_engine, make_session_factory, transaction  # noqa: E402
from backend.ingestion import service  # noqa: E402
from backend.ingestion.batch import ParsedRow  # noqa: E402
from backend.observations import repository as obs_repo  # noqa: E402
from backend.registry import demo  # noqa: E402
from backend.registry import service as registry_service  # noqa: E402
from backend.seed import seed  # noqa: E402
from ingest import runner  # noqa: E402
from ingest.simulator.generator import World  # noqa: E402
from ingest.sources.definitions import source_named  # noqa: E402
from ingest.sources.parsers import parse_long_csv  # noqa: E402

TOKEN = "bench-token"
START = datetime(2026, 11, 1, 16, tzinfo=UTC)  # 2026-11-02 00:00 Beijing


def prepare_database(url: str | None, series: int) -> str:
    if url is None:
        from backend.platform.pgcluster import Cluster

        cluster = Cluster(var_dir=ROOT / "var", name="pg-test", port=54339, fast_unsafe=True)
        cluster.start()
        server = make_url(cluster.url)
        admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text('DROP DATABASE IF EXISTS "yunjian_bench_ingest" WITH (FORCE)'))
            c.execute(text('CREATE DATABASE "yunjian_bench_ingest"'))
        admin.dispose()
        url = server.set(database="yunjian_bench_ingest").render_as_string(hide_password=False)
    migrate.upgrade(url)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as s:
        seed(s, demo_enterprises=False)
        registry_service.upsert_enterprises(s, demo.demo_enterprises(series))
    engine.dispose()
    return url


def empty(sf: sessionmaker[Session]) -> None:
    with transaction(sf) as s:
        s.execute(text("TRUNCATE observation, observation_revision, rollup_daily, rollup_monthly, ingest_job_run, "
                       "ingest_lease, ingest_quarantine"))
        s.execute(text("DELETE FROM ingest_source"))
    bind = sf.kw["bind"]
    with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.exec_driver_sql("VACUUM ANALYZE observation")


def generate(world: World, days: int) -> list[tuple[str, datetime, float]]:
    a, b = int(START.timestamp()), int((START + timedelta(days=days)).timestamp())
    out = []
    for s in world.of("power.consumption"):
        for t in world.slots(s, a, b):
            v = world.observed(s, t)
            if v is not None:
                out.append((s.entity.code, datetime.fromtimestamp(t, UTC), round(v, 2)))
    return out


Resolved = list[tuple[int, datetime, float]]


def resolved(sf: sessionmaker[Session], rows: list[tuple[str, datetime, float]]) -> Resolved:
    """The rows with their series ids (created once, outside every measurement)."""
    with transaction(sf) as s:
        ids = {code: i for code, i in s.execute(text("SELECT uscc, id FROM enterprise"))}
        sids = obs_repo.ensure_series(s, {("power.consumption", "enterprise", i) for i in ids.values()})
    return [(sids[("power.consumption", "enterprise", ids[c])], t, v) for c, t, v in rows]


def bench_copy_rows(sf: sessionmaker[Session], data: Resolved) -> float:
    """Client COPY: psycopg encodes each row."""
    t0 = time.perf_counter()
    with transaction(sf) as s:
        conn = obs_repo._driver(s)
        with conn.cursor() as cur, cur.copy("COPY observation (series_id, time, value, source) FROM STDIN") as cp:
            for sid, t, v in data:
                cp.write_row((sid, t, v, "copy"))
    return time.perf_counter() - t0


def write_server_file(data: Resolved, path: Path) -> None:
    with path.open("w") as fh:
        for sid, t, v in data:
            fh.write(f"{sid}\t{t.isoformat()}\t{v!r}\tcopy\n")
    path.chmod(0o644)  # the server runs as another user


def bench_copy_file(sf: sessionmaker[Session], path: Path) -> float:
    """Server-side COPY: the server reads the text file itself."""
    t0 = time.perf_counter()
    with transaction(sf) as s:
        s.execute(text(f"COPY observation (series_id, time, value, source) FROM '{path}'"))
    return time.perf_counter() - t0


def binary_payload(data: Resolved) -> bytes:
    epoch, us = datetime(2000, 1, 1, tzinfo=UTC), timedelta(microseconds=1)
    rec = np.empty(len(data), np.dtype([("n", ">i2"), ("l1", ">i4"), ("sid", ">i4"), ("l2", ">i4"), ("t", ">i8"),
                                        ("l3", ">i4"), ("v", ">f8"), ("l4", ">i4"), ("src", "S4")]))
    rec["n"], rec["l1"], rec["l2"], rec["l3"], rec["l4"], rec["src"] = 4, 4, 8, 8, 4, b"copy"
    rec["sid"] = [d[0] for d in data]
    rec["t"] = [(d[1] - epoch) // us for d in data]
    rec["v"] = [d[2] for d in data]
    return b"PGCOPY\n\xff\r\n\x00" + bytes(8) + rec.tobytes() + b"\xff\xff"


def bench_copy_binary(sf: sessionmaker[Session], payload: bytes) -> float:
    """Binary COPY of rows encoded beforehand: only the server's own work is timed."""
    t0 = time.perf_counter()
    with transaction(sf) as s:
        conn = obs_repo._driver(s)
        with conn.cursor() as cur, \
                cur.copy("COPY observation (series_id, time, value, source) FROM STDIN (FORMAT BINARY)") as cp:
            view = memoryview(payload)
            for i in range(0, len(payload), 1 << 20):
                cp.write(view[i:i + (1 << 20)])
    return time.perf_counter() - t0


def write_file(rows: list[tuple[str, datetime, float]], path: Path) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(("indicator", "entity_kind", "entity_code", "time", "value", "unit"))
        for code, t, v in rows:
            w.writerow(("power.consumption", "enterprise", code, t.isoformat(), v, "kWh"))


def bench_bulk(sf: sessionmaker[Session], path: Path) -> float:
    """The production path of `yunjian bulk-import`: the file's bytes in, one transaction."""
    t0 = time.perf_counter()
    with transaction(sf) as s:
        res = service.import_long_csv(s, source="bulk", batch_id="bench", data=path.read_bytes(),
                                      now=datetime.now(UTC), tz="Asia/Shanghai")
    assert res.rejected == 0 and res.inserted == res.received, res
    return time.perf_counter() - t0


def bench_rowwise(sf: sessionmaker[Session], path: Path) -> tuple[float, float]:
    """The row-by-row path (before the SQL-native import): parse in Python, `store_batch`
    one transaction per day of rows. Kept as the comparison."""
    t0 = time.perf_counter()
    parsed = parse_long_csv(path.read_text())
    assert not parsed.rejected
    t_parse = time.perf_counter() - t0
    day = timedelta(days=1)
    by_day: dict[datetime, list[ParsedRow]] = {}
    for r in parsed.rows:
        by_day.setdefault(START + (r.time - START) // day * day, []).append(r)
    for chunk in by_day.values():
        with transaction(sf) as s:
            service.store_batch(s, source="bulk", batch_id="bench", rows=chunk, rejected=[], now=datetime.now(UTC),
                                tz="Asia/Shanghai")
    return time.perf_counter() - t0, t_parse


def stored_rows(sf: sessionmaker[Session]) -> int:
    with sf() as s:
        return int(s.execute(text("SELECT count(*) FROM observation")).scalar_one())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url")
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--days", type=int, default=2)
    ap.add_argument("--steady-intervals", type=int, default=2)
    ap.add_argument("--repeat-delivery", action="store_true", help="also time the same file imported again")
    ap.add_argument("--skip-http", action="store_true", help="only the references and the bulk import")
    ap.add_argument("--skip-rowwise", action="store_true", help="leave out the row-by-row comparison")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of references and bulk import (medians)")
    args = ap.parse_args()

    url = prepare_database(args.database_url, args.series)
    engine = make_engine(url)
    sf = make_session_factory(engine)
    world = World(seed=1, enterprises=args.series)
    rows = generate(world, args.days)
    n = len(rows)
    print(f"{args.series} meters x {args.days} days at 15 minutes: {n} rows")

    data = resolved(sf, rows)
    payload = binary_payload(data)
    times: dict[str, list[float]] = {"file": [], "binary": [], "rows": [], "bulk": []}
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        server_file, path = Path(tmp) / "resolved.tsv", Path(tmp) / "bulk.csv"
        write_server_file(data, server_file)
        write_file(rows, path)
        for _ in range(args.repeat):
            for name, run in (("file", lambda: bench_copy_file(sf, server_file)),
                              ("binary", lambda: bench_copy_binary(sf, payload)),
                              ("rows", lambda: bench_copy_rows(sf, data)),
                              ("bulk", lambda: bench_bulk(sf, path))):
                empty(sf)
                times[name].append(run())
                assert stored_rows(sf) == n, name
        med = {k: statistics.median(v) for k, v in times.items()}
        for name, label in (("file", "server-side COPY (text file)"), ("binary", "binary COPY (pre-encoded)"),
                            ("rows", "client COPY (write_row)")):
            print(f"reference  {label:30s} {med[name]:6.2f} s  {n / med[name]:10,.0f} rows/s   "
                  f"runs: {', '.join(f'{t:.2f}' for t in times[name])}")
        print(f"(a) bulk   yunjian bulk-import            {med['bulk']:6.2f} s  {n / med['bulk']:10,.0f} rows/s   "
              f"runs: {', '.join(f'{t:.2f}' for t in times['bulk'])}; file {path.stat().st_size / 1e6:.1f} MB")
        print("    ratio of (a) to each reference (median; per run, references and (a) of the same round): "
              "target >= 0.5")
        for name in ("file", "binary", "rows"):
            per = [r / b for r, b in zip(times[name], times["bulk"], strict=True)]
            print(f"      {name:7s} {med[name] / med['bulk']:.2f}   per run {', '.join(f'{x:.2f}' for x in per)}")
        if not args.skip_rowwise:
            empty(sf)
            t_row, t_parse = bench_rowwise(sf, path)
            assert stored_rows(sf) == n
            print(f"    (row-by-row path: parse_long_csv + store_batch per day {t_row:7.2f} s  "
                  f"{n / t_row:10,.0f} rows/s  ratio to server-side COPY {med['file'] / t_row:.2f}; "
                  f"read+parse {t_parse:.2f} s)")
        if args.repeat_delivery:
            t0 = time.perf_counter()
            with transaction(sf) as s:
                again = service.import_long_csv(s, source="bulk", batch_id="bench2", data=path.read_bytes(),
                                                now=datetime.now(UTC), tz="Asia/Shanghai")
            assert again.inserted == again.updated == 0, again
            t_again = time.perf_counter() - t0
            print(f"    (the same file again, all unchanged: {t_again:.2f} s, {n / t_again:,.0f} rows/s)")

    if args.skip_http:
        engine.dispose()
        return
    from tests.ingest.support import free_port, wait_http  # the same helpers the tests use

    port = free_port()
    env = {**os.environ, "YUNJIAN_UPSTREAM_TOKEN": TOKEN}
    sim = subprocess.Popen([sys.executable, "-m", "backend.cli", "simulate", "--port", str(port), "--seed", "1",
                            "--enterprises", str(args.series), "--history-days", "1",
                            "--labels", os.devnull], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/health", sim, 60)
        settings = Settings(database_url=url, simulator_port=port, upstream_token=TOKEN, ingest_http_timeout_s=60)
        src = source_named("power_metering")
        empty(sf)
        end = START + timedelta(days=args.days)
        t0, c0 = time.perf_counter(), time.process_time()
        res = runner.run_source(src, sf, settings, holder="bench", start=START, end=end, kind="backfill")
        t_http, cpu_http = time.perf_counter() - t0, time.process_time() - c0
        assert res.status == "ok", res.error
        assert stored_rows(sf) == n, (stored_rows(sf), n)
        print(f"(b) HTTP   simulator -> store {t_http:7.2f} s  {n / t_http:10,.0f} rows/s  "
              f"ratio {med['file'] / t_http:.2f} of server-side COPY  (worker CPU {cpu_http:.2f} s)")

        # (c) steady state: the deployed schedule (one run every interval_s with a 3 h lookback),
        # on a simulated clock advancing interval_s per run after the catch-up above.
        runs = int(args.steady_intervals * 900 / src.interval_s)
        cpu = wall = 0.0
        fetched = 0
        with transaction(sf) as s:
            s.execute(text("UPDATE ingest_source SET watermark_at = :w WHERE name = :n"), {"w": end, "n": src.name})
        for k in range(runs):
            now = end + timedelta(seconds=src.interval_s * (k + 1))
            t0, c0 = time.perf_counter(), time.process_time()
            r = runner.run_source(src, sf, settings, holder="bench", now=now)
            cpu += time.process_time() - c0
            wall += time.perf_counter() - t0
            fetched += r.received
            assert r.status == "ok", r.error
        share = cpu / (runs * src.interval_s)
        print(f"(c) steady {runs} scheduled runs ({args.steady_intervals} x 15 min), {fetched / runs:,.0f} rows "
              f"fetched per run (3 h lookback): {cpu / runs * 1000:.0f} ms CPU, {wall / runs * 1000:.0f} ms wall "
              f"per run; at one run per {src.interval_s:.0f} s: {share * 100:.2f} % of one core (target < 5 %)")
    finally:
        sim.terminate()
        sim.wait(10)
        engine.dispose()


if __name__ == "__main__":
    main()
