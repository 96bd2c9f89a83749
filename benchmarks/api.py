"""API benchmark: the dashboard's main calls through the REST API against hand-written SQL.

    .venv/bin/python benchmarks/api.py --series 1000 --days 365      # the full size (~35M raw rows)
    .venv/bin/python benchmarks/api.py --series 100 --days 90        # a quick run
    .venv/bin/python benchmarks/api.py --database yunjian_bench_api --build-only   # build once, keep
    .venv/bin/python benchmarks/api.py --database yunjian_bench_api --reuse        # measure it again

Builds a throwaway database (migrated and seeded like any other) on the test cluster
(var/pg-test, started if needed) or on --server-url, loads 15-minute power consumption for
`--series` enterprises over `--days` days and monthly value added for `--enterprises`
enterprises over `--years` years with set-based SQL (INSERT … SELECT generate_series, no
Python per row), builds the rollups with one set-based statement each, starts the API
(uvicorn, one worker) and measures, in the same run:

* p50 / p95 of each call through the API (HTTP, keep-alive, an API key), with its default
  figures (value, 同比, 环比, 累计, 累计同比) and with values only (`figures=`), on two API
  processes side by side: one as deployed (the answer cache on: a question asked again while
  its data is unchanged is served from the cache, see backend/aggregates/cache.py) and one
  with the cache off (`YUNJIAN_ANSWER_CACHE_MB=0`: every call computes its answer), which is
  also what the first call after new data costs;
* the same answers by hand-written SQL on the rollups: values only, and the same figures in one
  pass over this year and last (window sums), called in turn with the API calls so that both
  see the same load (the API's own overhead is API / this, like for like);
* the same values by hand-written SQL on the raw tables (observation / period_observation);
* the fixed cost of any authenticated call (GET /api/v1/auth/me);
* the API worker's resident memory after the run.

Every answer is checked against its reference (values, and the figures) before it is timed.

Prints a Markdown table; nothing is hard-coded.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
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


def built_shape(srv: URL, name: str, shape: dict[str, int]) -> dict[str, float]:
    """The build timings stored with a kept database; refuses one built with other sizes."""
    with admin(srv).connect() as c:
        raw = c.execute(text("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :n"),
                        {"n": name}).scalar()
    if not raw:
        raise SystemExit(f"{name}: no such benchmark database (build it with --database {name} --keep)")
    meta = json.loads(raw)
    if meta["shape"] != shape:
        raise SystemExit(f"{name} was built with {meta['shape']}, not {shape}")
    return {**meta["build"], "built_at_epoch": meta["built_at_epoch"]}


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


def interleaved(fns: dict[str, Callable[[], object]], n: int) -> dict[str, tuple[float, float, object]]:
    """p50, p95 (ms) and the last answer of each function, called in turn n times (after one
    warm-up round), so that all of them see the same load."""
    xs: dict[str, list[float]] = {k: [] for k in fns}
    out: dict[str, object] = {}
    for i in range(n + 1):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            out[k] = fn()
            if i:
                xs[k].append((time.perf_counter() - t0) * 1000)
    res = {}
    for k, x in xs.items():
        x.sort()
        res[k] = (statistics.median(x), x[min(len(x) - 1, int(round(0.95 * (len(x) - 1))))], out[k])
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--series", type=int, default=1000, help="15-minute series (one per enterprise)")
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--enterprises", type=int, default=150, help="enterprises with monthly value added")
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=30, help="timed calls per measurement")
    ap.add_argument("--server-url", default=os.environ.get("TEST_DATABASE_URL"))
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    ap.add_argument("--no-raw", action="store_true", help="skip the (slow) raw-table SQL, for quick iterations")
    ap.add_argument("--database", help="database name (default: a random yunjian_bench_…)")
    ap.add_argument("--build-only", action="store_true", help="build the database (kept) and stop")
    ap.add_argument("--reuse", action="store_true",
                    help="measure the existing --database built earlier with --keep (same sizes), without "
                         "rebuilding; the database is kept")
    args = ap.parse_args()
    if args.reuse and not args.database:
        ap.error("--reuse needs --database")

    srv = server(args.server_url)
    name = args.database or f"yunjian_bench_{uuid.uuid4().hex[:8]}"
    shape = {"series": args.series, "days": args.days, "enterprises": args.enterprises, "years": args.years}
    keep = args.keep or args.reuse or args.build_only
    if not args.reuse:
        with admin(srv).connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    url = srv.set(database=name).render_as_string(hide_password=False)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        if args.reuse:
            build_t = built_shape(srv, name, shape)
            built_at = datetime.fromtimestamp(build_t.pop("built_at_epoch"), UTC)
            print(f"reusing {name}, built {built_at:%Y-%m-%d %H:%M} UTC", flush=True)
        else:
            print(f"building {name}: {args.series} series x {args.days} days at 15 min, "
                  f"{args.enterprises} enterprises x {args.years} years monthly ...", flush=True)
            build_t = build(url, args.series, args.days, args.enterprises, args.years)
            print("build:", {k: round(v, 1) for k, v in build_t.items()}, flush=True)
            # Remember what was built and how long it took, for a later --reuse.
            meta = json.dumps({"shape": shape, "build": build_t, "built_at_epoch": time.time()})
            with admin(srv).connect() as c:
                c.execute(text(f"COMMENT ON DATABASE \"{name}\" IS '{meta}'"))
            if args.build_only:
                return
        from backend.config import get_settings

        st = get_settings()
        clients: dict[str, httpx.Client] = {}
        key = ""
        for mode, cache_mb in (("kept", str(st.answer_cache_mb)), ("computed", "0")):
            port = free_port()
            env = {**os.environ, "DATABASE_URL": url, "YUNJIAN_ANSWER_CACHE_MB": cache_mb}
            p_ = subprocess.Popen([sys.executable, "-m", "uvicorn", "backend.main:create_app", "--factory", "--port",
                                   str(port), "--log-level", "warning", "--workers", "1"], cwd=ROOT, env=env)
            procs.append(p_)
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    if httpx.get(base + "/health", timeout=1).status_code in (200, 503):
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            client = httpx.Client(base_url=base, timeout=60)
            if not key:
                tok = client.post("/api/v1/auth/login",
                                  json={"username": st.demo_user, "password": st.demo_password}).json()
                key = client.post("/api/v1/api-keys", json={"name": "bench", "scopes": ["read"]},
                                  headers={"Authorization": f"Bearer {tok['token']}"}).json()["key"]
            client.headers["Authorization"] = f"Bearer {key}"
            clients[mode] = client
        engine = make_engine(url)
        wuda = "150304"
        d90_end = date(YEAR, 1, 1) + timedelta(days=min(args.days, 365) - 1)
        d90_start = d90_end - timedelta(days=89)

        def api(path: str, mode: str = "kept") -> Callable[[], object]:
            def call() -> object:
                r = clients[mode].get(path)
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
        m0 = d90_start.replace(day=1)
        p = {"tz": TZ, "a": date(YEAR, 1, 1), "b": date(YEAR + 1, 1, 1), "da": d90_start,
             "db": d90_end + timedelta(days=1), "d": wuda, "pa": date(YEAR - 1, 1, 1),
             "m0": m0, "pm0": m0.replace(year=m0.year - 1), "pdb": (d90_end + timedelta(days=1)).replace(
                 year=d90_end.year - 1), "y0": m0.replace(month=1), "py0": m0.replace(year=m0.year - 1, month=1)}
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
        # The same figures as the API's default call (value, 同比, 环比, 累计, 累计同比), by hand on the
        # rollups: one pass over this year and last with window sums. The top-N reference above
        # already computes both years.
        growth = "100 * ({x} - {y}) / NULLIF(abs({y}), 0)"
        rollup_figures = {
            "city": sql(f"""WITH m AS (
                    SELECT r.month, sum(r.sum) AS v FROM rollup_monthly r JOIN series s ON s.id = r.series_id
                    AND s.indicator_code = 'power.consumption' WHERE r.month >= :pa AND r.month < :b GROUP BY 1),
                f AS (SELECT month, v, sum(v) OVER (PARTITION BY date_trunc('year', month) ORDER BY month) AS ytd
                      FROM m)
                SELECT c.month, c.v, {growth.format(x='c.v', y='ly.v')}, {growth.format(x='c.v', y='pm.v')}, c.ytd,
                       {growth.format(x='c.ytd', y='ly.ytd')}
                FROM f c LEFT JOIN f ly ON ly.month = (c.month - interval '1 year')::date
                LEFT JOIN f pm ON pm.month = (c.month - interval '1 month')::date
                WHERE c.month >= :a ORDER BY 1""", **p),
            "district": sql(f"""WITH days AS (
                    SELECT r.day, sum(r.sum) AS v FROM rollup_daily r JOIN series s ON s.id = r.series_id
                    AND s.indicator_code = 'power.consumption'
                    JOIN enterprise_version v ON v.enterprise_id = s.entity_id AND v.valid_from <= r.day
                         AND (v.valid_to IS NULL OR v.valid_to > r.day)
                    JOIN district di ON di.id = v.district_id AND di.code = :d
                    WHERE (r.day >= :m0 AND r.day < :db) OR (r.day >= :pm0 AND r.day < :pdb) GROUP BY 1),
                before AS (  -- whole months from 1 January to the window's month, this year and last
                    SELECT date_trunc('year', r.month)::date AS y, sum(r.sum) AS v
                    FROM rollup_monthly r JOIN series s ON s.id = r.series_id
                    AND s.indicator_code = 'power.consumption'
                    JOIN enterprise_version v ON v.enterprise_id = s.entity_id AND v.valid_from <= r.month
                         AND (v.valid_to IS NULL OR v.valid_to > r.month)
                    JOIN district di ON di.id = v.district_id AND di.code = :d
                    WHERE (r.month >= :y0 AND r.month < :m0) OR (r.month >= :py0 AND r.month < :pm0) GROUP BY 1),
                f AS (SELECT days.day, days.v, coalesce(b.v, 0)
                             + sum(days.v) OVER (PARTITION BY date_trunc('year', days.day) ORDER BY days.day) AS ytd
                      FROM days LEFT JOIN before b ON b.y = date_trunc('year', days.day)::date)
                SELECT c.day, c.v, {growth.format(x='c.v', y='ly.v')}, {growth.format(x='c.v', y='pd.v')}, c.ytd,
                       {growth.format(x='c.ytd', y='ly.ytd')}
                FROM f c LEFT JOIN f ly ON ly.day = (c.day - interval '1 year')::date
                LEFT JOIN f pd ON pd.day = c.day - 1
                WHERE c.day >= :da ORDER BY 1""", **p),
            "top": rollup["top"],
        }
        calls = {"city": (q_city, "city monthly, one year"),
                 "district": (q_district, "district x indicator daily, 90 days"),
                 "top": (q_top, "top-10 enterprises by change, one year")}
        rows = []
        n = args.repeat
        for k, (path, label) in calls.items():
            # API and rollup SQL interleaved, so that their ratio is measured under the same load.
            lean_path = path + "&figures=" if k != "top" else path
            t = interleaved({"full": api(path), "values": api(lean_path),
                             "c_full": api(path, "computed"), "c_values": api(lean_path, "computed"),
                             "sql_full": rollup_figures[k], "sql_values": rollup[k]}, n)
            ref_full, ref_values = t["sql_full"][2], t["sql_values"][2]
            for kind in ("full", "c_full"):
                _check(k, t[kind][2], ref_full, figures=True)
            for kind in ("values", "c_values"):
                _check(k, t[kind][2], ref_values)
            raw50 = raw95 = float("nan")
            if not args.no_raw:
                raw50, raw95, raw_out = timed(raw[k], max(3, n // 10))
                _check(k, t["values"][2], raw_out)
            rows.append((label, {kind: v[:2] for kind, v in t.items()}, raw50, raw95))
        # The fixed cost of any authenticated call (HTTP, API-key check, a transaction), for reading
        # the overhead ratios above.
        floor50, floor95, _ = interleaved({"me": api("/api/v1/auth/me")}, n)["me"]
        rss = [psutil.Process(p_.pid).memory_info().rss / 2**20 for p_ in procs]
        print()
        raw_rows = build_t.get("raw rows", args.series * args.days * 96)
        print(f"Dataset: {int(raw_rows):,} raw 15-minute rows ({args.series} series x {args.days} days), "
              f"{args.enterprises} enterprises x {args.years} years monthly; build "
              + ", ".join(f"{k} {v:.0f} s" for k, v in build_t.items() if k != "raw rows"))
        print()
        print("Answer kept: the API as deployed, the same question again while its data is unchanged (the "
              "answer cache). Computed: a second API process with the cache off (YUNJIAN_ANSWER_CACHE_MB=0), "
              "what every first call after new data costs. Rollup SQL: the same answer by hand on the rollups.")
        print()
        print("| call | figures | API, answer kept: p50 / p95 ms | API, computed: p50 / p95 ms "
              "| rollup SQL p50 / p95 ms | raw-table SQL p50 / p95 ms | raw SQL / API p95 (kept; computed) "
              "| API / rollup SQL p50 (kept; computed) |")
        print("|---|---|---|---|---|---|---|---|")
        for label, tt, w50, w95 in rows:
            for fig, a_, c_, r_ in (("同比/环比/累计", "full", "c_full", "sql_full"),
                                    ("values only", "values", "c_values", "sql_values")):
                (a50, a95), (c50, c95), (r50, r95) = tt[a_], tt[c_], tt[r_]
                raw_cell = f"{w50:.0f} / {w95:.0f}" if fig == "values only" else "—"
                ratio = f"{w95 / a95:.0f}x; {w95 / c95:.0f}x" if fig == "values only" and w95 == w95 else "—"
                print(f"| {label} | {fig} | {a50:.1f} / {a95:.1f} | {c50:.1f} / {c95:.1f} | {r50:.1f} / {r95:.1f} "
                      f"| {raw_cell} | {ratio} | {a50 / r50:.2f}x; {c50 / r50:.2f}x |")
        print()
        print(f"Fixed cost of an authenticated call (GET /api/v1/auth/me): p50 {floor50:.1f} ms, p95 {floor95:.1f} ms")
        print(f"API worker RSS after the run: {rss[0]:.0f} MB with the answer cache, {rss[1]:.0f} MB without")
        engine.dispose()
    finally:
        for p_ in procs:
            p_.terminate()
            p_.wait(10)
        if not keep:
            with admin(srv).connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _check(kind: str, body: object, ref: object, figures: bool = False) -> None:
    """The API's answer equals the reference SQL's (so the comparison is of the same answer):
    values, and with `figures` also 同比, 环比, 累计 and 累计同比."""
    assert isinstance(body, dict) and isinstance(ref, list)
    got: list[object]
    want: list[object]

    def r(x: object) -> float | None:
        return None if x is None else round(float(x), 3)  # type: ignore[arg-type]

    if kind == "top":
        got = [(i["enterprise_id"], r(i["change"])) for i in body["items"]]
        want = [(int(e), r(ch)) for e, _, _, ch in ref]
    elif figures:
        got = [(r(p["value"]), r(p["yoy_pct"]), r(p["pop_pct"]), r(p["ytd"]), r(p["ytd_yoy_pct"]))
               for p in body["groups"][0]["points"]]
        want = [tuple(r(x) for x in row[1:]) for row in ref]
    else:
        got = [r(p["value"]) for p in body["groups"][0]["points"]]
        want = [r(v) for _, v in ref]
    if got != want:
        raise SystemExit(f"{kind}: API and reference SQL disagree:\n{got[:5]}\n{want[:5]}")


if __name__ == "__main__":
    main()
