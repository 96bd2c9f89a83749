"""Dashboard benchmark: the Overview's first complete render in headless Chromium, and the
server time of its self-refresh, on the API benchmark's dataset.

    .venv/bin/python benchmarks/dashboard.py                          # 200 series x 365 days
    .venv/bin/python benchmarks/dashboard.py --series 1000 --days 365 # the API benchmark's full size
    .venv/bin/python benchmarks/dashboard.py --api-workers 4          # the API with 4 worker processes
    .venv/bin/python benchmarks/dashboard.py --series 1000 --from-database yunjian_bench_api \
        --database yunjian_dashbench_1000 --keep    # copy the API benchmark's kept database, keep the copy
    .venv/bin/python benchmarks/dashboard.py --series 1000 --database yunjian_dashbench_1000 --keep  # again

Builds a throwaway database with `benchmarks/api.py`'s `build` (15-minute power consumption per
enterprise for a year, monthly value added for 150 enterprises x 5 years; data in 2025, so the
Overview is opened "as of" 2025-12-31 with an absolute range), starts the API and the dashboard
as processes, logs in once in headless Chromium (Debian's chromium + chromedriver) and measures:

* **first complete render**: from navigation start (a fresh page load of the Overview, login
  cookie set) until every KPI card, sparkline and chart is drawn and no Dash callback is in
  flight; the first load (cold reference cache) and then median / p95 of `--repeat` loads;
* **refresh**: the server time of the Overview's refresh callback (`POST /_dash-update-component`,
  what the 60-second timer sends), median / p95 over `--repeat` calls; and the same with the
  dashboard's 5-minute leading-index cache missed (another "as of" day per call), what one
  refresh in five costs;
* **reference, same run**: the same API calls the refresh makes, one after another, straight
  to the API (what the refresh costs the API alone), so `refresh / reference` is the
  dashboard's overhead over its data.

Targets (issue 6): first complete render <= 1500 ms; refresh <= 300 ms of server time.
Prints a Markdown table; nothing is hard-coded.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.auth.rules import Role  # noqa: E402
from backend.auth.service import ensure_user  # noqa: E402
from backend.db import make_engine, make_session_factory, transaction  # noqa: E402

AS_OF = date(2025, 12, 31)
USER, PASSWORD = "bench_duty", "bench-pass-2025"
OVERVIEW = f"/?range=custom&start={AS_OF - timedelta(days=89)}&end={AS_OF}"
HEADLINE = ("coal.raw_output", "power.consumption", "oil.refined_sales", "gas.consumption", "rail.loading_cars")


def _api_bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_api", ROOT / "benchmarks" / "api.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def wait_up(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(url)


def driver() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="yunjian-bench-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage",
                f"--user-data-dir={profile}", "--window-size=1440,900"):
        opts.add_argument(arg)
    d: Any = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    d._profile = profile
    return d


RENDERED_JS = """
const kpis = document.querySelectorAll('.kpis .kpi').length;
const graphs = document.querySelectorAll('.dash-graph');
const drawn = document.querySelectorAll('.dash-graph .main-svg').length;
const busy = document.querySelectorAll('[data-dash-is-loading="true"]').length;
const sparks = [...document.querySelectorAll('img.spark')];
const sparked = sparks.length === 5 && sparks.every(i => i.complete && i.naturalWidth > 0);
return (kpis === 5 && sparked && graphs.length > 0 && drawn >= graphs.length && busy === 0) ? performance.now() : null;
"""


def render_ms(d: Any, url: str, timeout_s: float = 30) -> float:
    d.get(url)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done = d.execute_script(RENDERED_JS)
        if done is not None:
            return float(done)
        time.sleep(0.01)
    raise TimeoutError("the Overview did not finish rendering")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--series", type=int, default=200)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--enterprises", type=int, default=150)
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--api-workers", type=int, default=1)
    ap.add_argument("--dashboard-workers", type=int, default=2, help="gunicorn workers of the dashboard")
    ap.add_argument("--server-url", default=os.environ.get("TEST_DATABASE_URL"))
    ap.add_argument("--from-database", metavar="NAME",
                    help="copy a database kept by `benchmarks/api.py --keep` (same sizes) instead of building one")
    ap.add_argument("--database", metavar="NAME", help="database name; with --keep it is kept, and a later run "
                                                           "with the same name and --keep measures it again")
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards (reused when it exists)")
    args = ap.parse_args()

    bench = _api_bench()
    srv = bench.server(args.server_url)
    name = args.database or f"yunjian_dashbench_{uuid.uuid4().hex[:8]}"
    shape = {"series": args.series, "days": args.days, "enterprises": args.enterprises, "years": args.years}
    with bench.admin(srv).connect() as c:
        exists = c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar() is not None
    reuse = exists and args.keep
    if exists and not reuse:
        raise SystemExit(f"{name} exists: add --keep to measure it again, or choose another --database")
    t0 = time.perf_counter()
    if reuse:
        bench.built_shape(srv, name, shape)  # refuses a database of other sizes
    elif args.from_database:
        bench.built_shape(srv, args.from_database, shape)
        with bench.admin(srv).connect() as c:  # a file-level copy: a minute instead of minutes of building
            c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{args.from_database}"'))
    else:
        with bench.admin(srv).connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    url = srv.set(database=name).render_as_string(hide_password=False)
    procs: list[subprocess.Popen[bytes]] = []
    d = None
    files = contextlib.ExitStack()
    try:
        if reuse or args.from_database:
            engine = make_engine(url)
            with engine.connect() as c:
                built = {("reused " + name if reuse else "copied from " + str(args.from_database)):
                         time.perf_counter() - t0,
                         "raw rows": float(c.execute(text("SELECT count(*) FROM observation")).scalar_one())}
            engine.dispose()
        else:
            print(f"building: {args.series} series x {args.days} days at 15 min, {args.enterprises} enterprises x "
                  f"{args.years} years monthly ...", flush=True)
            built = bench.build(url, args.series, args.days, args.enterprises, args.years)
        print("build:", {k: round(v, 1) for k, v in built.items()}, flush=True)
        engine = make_engine(url)
        with transaction(make_session_factory(engine)) as s:
            ensure_user(s, username=USER, display_name="基准值班员", password=PASSWORD, role=Role.duty_officer)
        engine.dispose()

        api_port, dash_port = bench.free_port(), bench.free_port()
        api_url, dash_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{dash_port}"
        env = {**os.environ, "DATABASE_URL": url, "YUNJIAN_API_URL": api_url}
        logs = Path(tempfile.mkdtemp(prefix="yunjian-dashbench-"))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "backend.main:create_app", "--factory", "--port", str(api_port),
             "--log-level", "warning", "--workers", str(args.api_workers)], cwd=ROOT, env=env,
            stdout=files.enter_context(open(logs / "api.log", "wb")),  # noqa: SIM115 (closed by the stack)
            stderr=subprocess.STDOUT))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "dashboard", "--port", str(dash_port), "--workers",
             str(args.dashboard_workers)], cwd=ROOT, env=env,
            stdout=files.enter_context(open(logs / "dashboard.log", "wb")),  # noqa: SIM115
            stderr=subprocess.STDOUT))
        wait_up(api_url + "/health", procs[0])
        wait_up(dash_url + "/healthz", procs[1])

        # --- first complete render in headless Chromium -------------------------------------------
        d = driver()
        d.get(dash_url + "/login")
        time.sleep(1.0)
        d.find_element("id", "login-user").send_keys(USER)
        d.find_element("id", "login-password").send_keys(PASSWORD)
        d.find_element("id", "login-submit").click()
        deadline = time.monotonic() + 20
        while "/login" in d.current_url and time.monotonic() < deadline:
            time.sleep(0.05)
        token = d.get_cookie("yunjian_dash_token")["value"]
        # The first load after login is the cold one (the dashboard's reference cache is empty).
        cold = render_ms(d, dash_url + OVERVIEW)
        warm = [render_ms(d, dash_url + OVERVIEW) for _ in range(args.repeat)]

        # --- the refresh callback's server time -----------------------------------------------------
        payload = {"output": "overview-body.children", "outputs": {"id": "overview-body", "property": "children"},
                   "inputs": [{"id": "overview-interval", "property": "n_intervals", "value": 1}],
                   "changedPropIds": ["overview-interval.n_intervals"],
                   "state": [{"id": "url", "property": "search", "value": OVERVIEW[1:]}]}
        dash_http = httpx.Client(base_url=dash_url, cookies={"yunjian_dash_token": token}, timeout=30)
        dash_http.post("/_dash-update-component", json=payload).raise_for_status()
        refresh = []
        size = 0
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            r = dash_http.post("/_dash-update-component", json=payload)
            refresh.append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()
            size = len(r.content)
        # The dashboard keeps the leading index 5 minutes (it moves with monthly data), so one
        # refresh in five also waits for it: measured here with another "as of" day per call, so
        # that every call misses that cache (the other calls do the same work for any day).
        uncached = []
        for k in range(1, args.repeat + 1):
            end = AS_OF - timedelta(days=k)
            search = f"range=custom&start={end - timedelta(days=89)}&end={end}"
            body = {**payload, "state": [{"id": "url", "property": "search", "value": search}]}
            t0 = time.perf_counter()
            dash_http.post("/_dash-update-component", json=body).raise_for_status()
            uncached.append((time.perf_counter() - t0) * 1000)

        # --- reference: the refresh's API calls, one after another, straight to the API ------------
        api_http = httpx.Client(base_url=api_url + "/api/v1", headers={"Authorization": f"Bearer {token}"},
                                timeout=30)
        calls: list[tuple[str, dict[str, Any]]] = []
        start_m = date(AS_OF.year - 1, AS_OF.month, 1)
        for code in HEADLINE:
            calls.append(("/series", {"indicator": code, "bucket": "day", "start": str(AS_OF - timedelta(days=29)),
                                      "end": str(AS_OF), "figures": "yoy,pop"}))
            calls.append(("/series", {"indicator": code, "bucket": "month", "start": str(start_m), "end": str(AS_OF),
                                      "figures": "yoy,pop"}))
        calls.append(("/leading-index", {"start": str(date(AS_OF.year - 1, AS_OF.month, 1)), "end": str(AS_OF)}))
        calls.append(("/alerts", {"limit": 500}))
        reference = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            for path, params in calls:
                api_http.get(path, params=params).raise_for_status()
            reference.append((time.perf_counter() - t0) * 1000)

        load = os.getloadavg()
        print()
        print(f"Dashboard benchmark: {args.series} series x {args.days} days (15 min, "
              f"{int(built.get('raw rows', 0)):,} raw rows), API workers {args.api_workers}, dashboard workers "
              f"{args.dashboard_workers}, "
              f"{os.cpu_count()} CPUs, load average {load[0]:.1f}; {args.repeat} repetitions")
        print()
        print("| measure | first (cold) | median | p95 | target |")
        print("|---|---|---|---|---|")
        print(f"| Overview first complete render, headless Chromium (ms) | {cold:.0f} | "
              f"{statistics.median(warm):.0f} | {pct(warm, 0.95):.0f} | <= 1500 |")
        print(f"| Overview refresh, dashboard server time (ms) | — | {statistics.median(refresh):.0f} | "
              f"{pct(refresh, 0.95):.0f} | <= 300 |")
        print(f"| Overview refresh, leading index not cached (every 5 min) (ms) | — | "
              f"{statistics.median(uncached):.0f} | {pct(uncached, 0.95):.0f} | <= 300 |")
        print(f"| reference: the refresh's {len(calls)} API calls one after another (ms) | — | "
              f"{statistics.median(reference):.0f} | {pct(reference, 0.95):.0f} | |")
        print(f"| refresh / reference | | {statistics.median(refresh) / statistics.median(reference):.2f} | | |")
        print(f"\nrefresh response: {size / 1024:.0f} KiB")
    finally:
        if d is not None:
            profile = getattr(d, "_profile", None)
            d.quit()
            if profile:
                shutil.rmtree(profile, ignore_errors=True)
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        files.close()
        if args.keep:
            if not reuse:  # what a later run with --keep checks the sizes against
                meta = json.dumps({"shape": shape, "build": {}, "built_at_epoch": time.time()})
                with bench.admin(srv).connect() as c:
                    c.execute(text(f"COMMENT ON DATABASE \"{name}\" IS '{meta}'"))
        else:
            with bench.admin(srv).connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
