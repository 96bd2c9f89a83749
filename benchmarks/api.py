"""API benchmark: the dashboard's main calls through the REST API against hand-written SQL.

    .venv/bin/python benchmarks/api.py --series 1000 --days 365      # the full size (~35M raw rows)
    .venv/bin/python benchmarks/api.py --series 100 --days 90        # a quick run

Builds a throwaway database (migrated and seeded like any other) on the test cluster
(var/pg-test, started if needed) or on --server-url, loads 15-minute power consumption for
`--series` enterprises over `--days` days and monthly value added for `--enterprises`
enterprises over `--years` years with set-based SQL (INSERT … SELECT generate_series, no
Python per row), builds the rollups with one set-based statement each, starts the API
(uvicorn, one worker) and measures, in the same run:

* p50 / p95 of each call through the API (HTTP, keep-alive, an API key);
* the same answer by hand-written SQL on the raw tables (observation / period_observation);
* the same answer by hand-written SQL on the rollups (the API's own overhead is API / this);
* the API worker's resident memory after the run.

Prints a Markdown table; nothing is hard-coded.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import httpx
import psutil
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Engine, make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend import migrate  # noqa: E402
from backend.config import normalise_url  # noqa: E402
from backend.db import make_engine, make_session_factory, transaction  # noqa: E402
from backend.registry import demo  # noqa: E402
from backend.registry import service as registry_service  # noqa: E402
from backend.seed import seed  # noqa: E402

TZ = "Asia/Shanghai"
YEAR = 2025


def server(url: str | None) -> URL:
    if url:
        return make_url(normalise_url(url))
    from backend.platform.pgcluster import Cluster

    cluster = Cluster(var_dir=ROOT / "var", name="pg-test", port=54339, fast_unsafe=True)
    cluster.start()
    return make_url(cluster.url)


def admin(srv: URL) -> Engine:
    return create_engine(srv.set(database="postgres"), isolation_level="AUTOCOMMIT")


def build(url: str, n_series: int, days: int, n_enterprises: int, years: int) -> dict[str, float]:
    """Schema, registry, data and rollups; returns timings in seconds."""
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    migrate.upgrade(url)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as s:
        seed(s, demo_enterprises=False)
        registry_service.upsert_enterprises(s, demo.demo_enterprises(count=max(n_series, n_enterprises), seed=7))
    t["schema+registry"] = time.perf_counter() - t0
    start = date(YEAR, 1, 1)
    with engine.begin() as c:
        c.execute(text("""
            INSERT INTO series (indicator_code, entity_kind, entity_id)
            SELECT 'power.consumption', 'enterprise', id FROM enterprise ORDER BY id LIMIT :n"""), {"n": n_series})
        c.execute(text("""
            INSERT INTO series (indicator_code, entity_kind, entity_id)
            SELECT 'econ.value_added', 'enterprise', id FROM enterprise ORDER BY id LIMIT :n"""), {"n": n_enterprises})
    t0 = time.perf_counter()
    with engine.begin() as c:
        c.execute(text("SET LOCAL synchronous_commit = off"))
        # Day-by-day chunks keep each statement's memory small; the data is a daily shape with noise.
        step = 30
        d = 0
        while d < days:
            n = min(step, days - d)
            c.execute(text("""
                INSERT INTO observation (series_id, time, value, source)
                SELECT s.id, g.t,
                       (10 + (s.id % 17)) * (1.2 + sin(extract(epoch FROM g.t) / 13751.0)) + random(), 'bench'
                FROM series s,
                     generate_series(CAST(:a AS timestamp) AT TIME ZONE :tz,
                                     (CAST(:a AS timestamp) + make_interval(days => :n)) AT TIME ZONE :tz
                                         - interval '15 minutes',
                                     interval '15 minutes') AS g(t)
                WHERE s.indicator_code = 'power.consumption'"""), {"a": start + timedelta(days=d), "n": n, "tz": TZ})
            d += n
        c.execute(text("""
            INSERT INTO period_observation (series_id, time, value, source)
            SELECT s.id, (m::timestamp) AT TIME ZONE :tz, 100 + (s.id % 50) * 10 + random() * 50, 'bench'
            FROM series s, generate_series(CAST(:a AS date), CAST(:b AS date), interval '1 month') AS m
            WHERE s.indicator_code = 'econ.value_added'"""),
                  {"a": date(YEAR - years + 1, 1, 1), "b": date(YEAR, 12, 1), "tz": TZ})
    t["load raw"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with engine.begin() as c:
        for table in ("observation", "period_observation"):
            c.execute(text(f"""
                INSERT INTO rollup_daily (series_id, day, sum, count, min, max, last, last_at)
                SELECT series_id, (time AT TIME ZONE :tz)::date, sum(value), count(*), min(value), max(value),
                       (array_agg(value ORDER BY time DESC))[1], max(time)
                FROM {table} GROUP BY 1, 2"""), {"tz": TZ})
        c.execute(text("""
            INSERT INTO rollup_monthly (series_id, month, sum, count, min, max, last, last_at)
            SELECT series_id, date_trunc('month', day)::date, sum(sum), sum(count), min(min), max(max),
                   (array_agg(last ORDER BY last_at DESC))[1], max(last_at)
            FROM rollup_daily GROUP BY 1, 2"""))
    t["rollups"] = time.perf_counter() - t0
    with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as c:
        c.execute(text("VACUUM ANALYZE"))
        t["raw rows"] = float(c.execute(text("SELECT count(*) FROM observation")).scalar_one())
    engine.dispose()
    return t


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def timed(fn: Callable[[], object], n: int) -> tuple[float, float, object]:
    fn()  # warm up
    xs = []
    out: object = None
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        xs.append((time.perf_counter() - t0) * 1000)
    xs.sort()
    return statistics.median(xs), xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))], out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--series", type=int, default=1000, help="15-minute series (one per enterprise)")
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--enterprises", type=int, default=150, help="enterprises with monthly value added")
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=30, help="timed calls per measurement")
    ap.add_argument("--server-url", default=os.environ.get("TEST_DATABASE_URL"))
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = ap.parse_args()

    srv = server(args.server_url)
    name = f"yunjian_bench_{uuid.uuid4().hex[:8]}"
    with admin(srv).connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = srv.set(database=name).render_as_string(hide_password=False)
    proc: subprocess.Popen[bytes] | None = None
    try:
        print(f"building: {args.series} series x {args.days} days at 15 min, "
              f"{args.enterprises} enterprises x {args.years} years monthly ...", flush=True)
        build_t = build(url, args.series, args.days, args.enterprises, args.years)
        print("build:", {k: round(v, 1) for k, v in build_t.items()}, flush=True)
        port = free_port()
        env = {**os.environ, "DATABASE_URL": url}
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "backend.main:create_app", "--factory", "--port",
                                 str(port), "--log-level", "warning", "--workers", "1"], cwd=ROOT, env=env)
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(base + "/health", timeout=1).status_code in (200, 503):
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        from backend.config import get_settings

        st = get_settings()
        http = httpx.Client(base_url=base, timeout=60)
        tok = http.post("/api/v1/auth/login", json={"username": st.demo_user, "password": st.demo_password}).json()
        key = http.post("/api/v1/api-keys", json={"name": "bench", "scopes": ["read"]},
                        headers={"Authorization": f"Bearer {tok['token']}"}).json()["key"]
        http.headers["Authorization"] = f"Bearer {key}"
        engine = make_engine(url)
        wuda = "150304"
        d90_end = date(YEAR, 1, 1) + timedelta(days=min(args.days, 365) - 1)
        d90_start = d90_end - timedelta(days=89)

        def api(path: str) -> Callable[[], object]:
            def call() -> object:
                r = http.get(path)
                r.raise_for_status()
                return r.json()
            return call

        def sql(q: str, **p: object) -> Callable[[], object]:
            def run() -> object:
                with engine.connect() as c:
                    return c.execute(text(q), p).all()
            return run

        q_city = (f"/api/v1/series?indicator=power.consumption&bucket=month&start={YEAR}-01-01&end={YEAR}-12-31")
        q_district = (f"/api/v1/series?indicator=power.consumption&bucket=day&district={wuda}"
                      f"&start={d90_start}&end={d90_end}")
        q_top = (f"/api/v1/series/top?indicator=econ.value_added&by=change&n=10&start={YEAR}-01-01&end={YEAR}-12-31")
        p = {"tz": TZ, "a": date(YEAR, 1, 1), "b": date(YEAR + 1, 1, 1), "da": d90_start,
             "db": d90_end + timedelta(days=1), "d": wuda, "pa": date(YEAR - 1, 1, 1)}
        raw = {
            "city": sql("""SELECT date_trunc('month', o.time AT TIME ZONE :tz) m, sum(o.value) FROM observation o
                JOIN series s ON s.id = o.series_id AND s.indicator_code = 'power.consumption'
                WHERE o.time >= CAST(:a AS timestamp) AT TIME ZONE :tz AND o.time < CAST(:b AS timestamp) AT TIME ZONE :tz
                GROUP BY 1 ORDER BY 1""", **p),
            "district": sql("""SELECT (o.time AT TIME ZONE :tz)::date d, sum(o.value) FROM observation o
                JOIN series s ON s.id = o.series_id AND s.indicator_code = 'power.consumption'
                JOIN enterprise_version v ON v.enterprise_id = s.entity_id
                     AND v.valid_from <= (o.time AT TIME ZONE :tz)::date
                     AND (v.valid_to IS NULL OR v.valid_to > (o.time AT TIME ZONE :tz)::date)
                JOIN district di ON di.id = v.district_id AND di.code = :d
                WHERE o.time >= CAST(:da AS timestamp) AT TIME ZONE :tz AND o.time < CAST(:db AS timestamp) AT TIME ZONE :tz
                GROUP BY 1 ORDER BY 1""", **p),
            "top": sql("""WITH x AS (SELECT s.entity_id e,
                    sum(o.value) FILTER (WHERE o.time >= CAST(:a AS timestamp) AT TIME ZONE :tz) cur,
                    sum(o.value) FILTER (WHERE o.time < CAST(:a AS timestamp) AT TIME ZONE :tz) prev
                FROM period_observation o JOIN series s ON s.id = o.series_id AND s.indicator_code = 'econ.value_added'
                WHERE o.time >= CAST(:pa AS timestamp) AT TIME ZONE :tz AND o.time < CAST(:b AS timestamp) AT TIME ZONE :tz
                GROUP BY 1) SELECT e, cur, prev, cur - prev FROM x WHERE prev IS NOT NULL
                ORDER BY cur - prev DESC, e LIMIT 10""", **p),
        }
        rollup = {
            "city": sql("""SELECT r.month, sum(r.sum) FROM rollup_monthly r JOIN series s ON s.id = r.series_id
                AND s.indicator_code = 'power.consumption' WHERE r.month >= :a AND r.month < :b
                GROUP BY 1 ORDER BY 1""", **p),
            "district": sql("""SELECT r.day, sum(r.sum) FROM rollup_daily r JOIN series s ON s.id = r.series_id
                AND s.indicator_code = 'power.consumption'
                JOIN enterprise_version v ON v.enterprise_id = s.entity_id AND v.valid_from <= r.day
                     AND (v.valid_to IS NULL OR v.valid_to > r.day)
                JOIN district di ON di.id = v.district_id AND di.code = :d
                WHERE r.day >= :da AND r.day < :db GROUP BY 1 ORDER BY 1""", **p),
            "top": sql("""WITH x AS (SELECT s.entity_id e, sum(r.sum) FILTER (WHERE r.month >= :a) cur,
                    sum(r.sum) FILTER (WHERE r.month < :a) prev
                FROM rollup_monthly r JOIN series s ON s.id = r.series_id AND s.indicator_code = 'econ.value_added'
                WHERE r.month >= :pa AND r.month < :b GROUP BY 1)
                SELECT e, cur, prev, cur - prev FROM x WHERE prev IS NOT NULL ORDER BY cur - prev DESC, e LIMIT 10""",
                       **p),
        }
        calls = {"city": (q_city, "city monthly, one year"),
                 "district": (q_district, "district x indicator daily, 90 days"),
                 "top": (q_top, "top-10 enterprises by change, one year")}
        rows = []
        n = args.repeat
        for k, (path, label) in calls.items():
            full50, full95, body = timed(api(path), n)
            lean50, lean95, _ = timed(api(path + "&figures=" if k != "top" else path), n)
            raw50, raw95, raw_out = timed(raw[k], max(3, n // 10))
            r50, r95, _ = timed(rollup[k], n)
            _check(k, body, raw_out)
            rows.append((label, full50, full95, lean50, lean95, raw50, raw95, r50, r95))
        rss = psutil.Process(proc.pid).memory_info().rss / 2**20
        print()
        print(f"Dataset: {int(build_t['raw rows']):,} raw 15-minute rows ({args.series} series x {args.days} days), "
              f"{args.enterprises} enterprises x {args.years} years monthly; build "
              + ", ".join(f"{k} {v:.0f} s" for k, v in build_t.items() if k != "raw rows"))
        print()
        print("| call | API p50 / p95 ms (with 同比/环比/累计) | API p50 / p95 ms (values only) | raw-table SQL p50 / p95 ms "
              "| rollup SQL p50 / p95 ms | raw SQL / API p95 | API / rollup SQL (p50, values only) |")
        print("|---|---|---|---|---|---|---|")
        for label, f50, f95, l50, l95, w50, w95, r50, r95 in rows:
            print(f"| {label} | {f50:.1f} / {f95:.1f} | {l50:.1f} / {l95:.1f} | {w50:.0f} / {w95:.0f} "
                  f"| {r50:.1f} / {r95:.1f} | {w95 / f95:.0f}x | {l50 / r50:.2f}x |")
        print()
        print(f"API worker RSS after the run: {rss:.0f} MB")
        engine.dispose()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        if not args.keep:
            with admin(srv).connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _check(kind: str, body: object, raw_out: object) -> None:
    """The API's answer equals the raw-table SQL's (so the comparison is of the same answer)."""
    assert isinstance(body, dict) and isinstance(raw_out, list)
    got: list[object]
    want: list[object]
    if kind == "top":
        got = [(i["enterprise_id"], round(i["change"], 3)) for i in body["items"]]
        want = [(int(e), round(float(ch), 3)) for e, _, _, ch in raw_out]
    else:
        got = [round(p["value"], 3) for p in body["groups"][0]["points"]]
        want = [round(float(v), 3) for _, v in raw_out]
    if got != want:
        raise SystemExit(f"{kind}: API and raw SQL disagree:\n{got[:5]}\n{want[:5]}")


if __name__ == "__main__":
    main()
