"""Alert evaluation throughput and data-to-e-mail latency.

    python benchmarks/alerts.py [--series 1000] [--history-days 14]

Uses a throwaway database on the test cluster (TEST_DATABASE_URL, or var/pg-test started
as the test harness does), built by the migrations and seeded, and dropped at the end.

1. Throughput: N series of 15-minute data with two weeks of history (already scored), then
   one new day (96 points per series, 96,000 for 1,000 series, a few of them with an incident)
   written through the observation write path; the time of `alerts.service.evaluate` (the
   evaluation path: find new data, load and save detector state, score, track episodes,
   open/raise alerts, write chart points, group, escalate into the outbox, commit) against
   the 2 s target, and in the same run the detector alone on the same points.
2. Latency: a real SMTP server (aiosmtpd) and the worker's own jobs: a point with an incident
   is stored as an ingest source job stores it and evaluated as that job then does
   (`ingest.jobs.evaluate_alerts`, which sends new red/orange mail at once), while
   `ingest.jobs.dispatch_notifications` also runs on its production interval; the time from the commit of the data to the mail
   landing in the SMTP server, against one ingest interval + 10 s (the ingest interval is
   how long a value can wait upstream before the source job fetches it).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Engine, make_url

from backend import migrate
from backend.alerts import scoring
from backend.alerts import service as alerts_service
from backend.config import PROJECT_ROOT, Settings, normalise_url
from backend.db import make_engine, make_session_factory, transaction
from backend.observations import repository as obs_repo
from backend.seed import seed

STEP = timedelta(minutes=15)
TARGET_S = 2.0


def server_url() -> URL:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return make_url(normalise_url(url))
    from backend.platform.pgcluster import Cluster

    cluster = Cluster(var_dir=PROJECT_ROOT / "var", name="pg-test", port=54339, fast_unsafe=True)
    cluster.start()
    return make_url(cluster.url)


def admin(server: URL) -> Engine:
    return create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")


def make_database(server: URL) -> tuple[str, str]:
    name = f"yunjian_bench_{uuid.uuid4().hex[:8]}"
    with admin(server).connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as s:
        seed(s)
    engine.dispose()
    return name, url


def drop_database(server: URL, name: str) -> None:
    with admin(server).connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def curve(t0: datetime, n: int, rng: np.random.Generator, n_series: int) -> tuple[np.ndarray, np.ndarray]:
    """(times as epoch seconds, values (n_series, n)): daily load curves with 2 % noise."""
    ts = t0.timestamp() + 900.0 * np.arange(n)
    hours = ((ts / 3600.0) + 8) % 24
    base = rng.uniform(200, 5000, n_series)[:, None]
    shape = 1 + 0.25 * np.sin(2 * np.pi * (hours - 9) / 24)[None, :]
    return ts, base * shape * (1 + 0.02 * rng.standard_normal((n_series, n)))


def rows_for(sids: list[int], ts: np.ndarray, vals: np.ndarray) -> list[obs_repo.ObservationRow]:
    times = [datetime.fromtimestamp(float(t), UTC) for t in ts]
    return [obs_repo.ObservationRow(sid, times[j], float(vals[i, j]), "bench")
            for i, sid in enumerate(sids) for j in range(len(times))]


def throughput(url: str, n_series: int, history_days: int) -> dict[str, float]:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    rng = np.random.default_rng(1)
    start = datetime(2026, 3, 2, tzinfo=UTC) - timedelta(hours=8)
    n_hist = history_days * 96
    with transaction(factory) as s:
        keys = [("power.consumption", "enterprise", i) for i in range(1, n_series + 1)]
        ids = obs_repo.ensure_series(s, keys)
        sids = [ids[k] for k in keys]
    ts, vals = curve(start, n_hist + 96, rng, n_series)
    vals[:5, n_hist + 40:] *= 0.4  # five enterprises collapse during the new day
    t = time.perf_counter()
    for day in range(history_days):
        sl = slice(day * 96, (day + 1) * 96)
        with transaction(factory) as s:
            obs_repo.write_observations(s, rows_for(sids, ts[sl], vals[:, sl]), "observation", "Asia/Shanghai")
    write_hist = time.perf_counter() - t
    history_end = start + n_hist * STEP
    opts = alerts_service.EvaluationOptions(history_days=history_days + 1)
    t = time.perf_counter()
    with transaction(factory) as s:
        warm = alerts_service.evaluate(s, history_end, opts)
    warm_s = time.perf_counter() - t
    print(f"history: {n_series} series x {n_hist} points written in {write_hist:.1f} s; "
          f"first evaluation (learns {warm.points:,} points) {warm_s:.2f} s, alerts {len(warm.opened)}")
    new = slice(n_hist, n_hist + 96)
    t = time.perf_counter()
    with transaction(factory) as s:
        obs_repo.write_observations(s, rows_for(sids, ts[new], vals[:, new]), "observation", "Asia/Shanghai")
    write_s = time.perf_counter() - t
    # Detector alone on the same points, from the same saved state (read before evaluating).
    with factory() as s:
        blobs = [b for (b,) in s.execute(text("SELECT detector_state FROM alert_series_state "
                                              "WHERE series_id = ANY(:i) ORDER BY series_id"), {"i": sids})]
    cfg = opts.detector
    lay = scoring.layout(cfg)
    points = [(ts[new], vals[i, new]) for i in range(n_series)]
    t = time.perf_counter()
    bank = scoring.load_bank(blobs, cfg, lay)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    scoring.score_batch(bank, points, [scoring.RuleSet()] * n_series, cfg)
    detector_s = time.perf_counter() - t
    t = time.perf_counter()
    scoring.dump_bank(bank, lay)
    dump_s = time.perf_counter() - t
    t = time.perf_counter()
    with transaction(factory) as s:
        rep = alerts_service.evaluate(s, history_end + 96 * STEP, opts)
    eval_s = time.perf_counter() - t
    engine.dispose()
    print(f"new day: {rep.points:,} points of {rep.series} series stored in {write_s:.2f} s (write path, not timed "
          f"below)")
    print(f"evaluation path: {eval_s:.3f} s for {rep.points:,} points -> ratio to the {TARGET_S:.0f} s target "
          f"{eval_s / TARGET_S:.2f} ({'meets' if eval_s <= TARGET_S else 'MISSES'} it); "
          f"alerts opened {len(rep.opened)}, groups {len(rep.groups)}, notifications {rep.notifications}")
    print(f"detector only (same run, same points): score {detector_s:.3f} s; state load {load_s:.3f} s, "
          f"state save {dump_s:.3f} s; evaluation / detector = {eval_s / detector_s:.1f}x")
    return {"eval_s": eval_s, "detector_s": detector_s, "points": float(rep.points)}


class Inbox:
    def __init__(self) -> None:
        self.arrived: list[float] = []
        self.event = threading.Event()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.arrived.append(time.perf_counter())
        self.event.set()
        return "250 OK"


def latency(url: str, rounds: int) -> list[float]:
    import socket

    from apscheduler.schedulers.background import BackgroundScheduler

    from backend.alerts import service as alerts_service
    from backend.auth.models import User
    from backend.notifications import repository as notifications_repo
    from ingest.jobs import WorkerContext, dispatch_notifications, evaluate_alerts

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    settings = Settings(database_url=url, smtp_port=port)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    ctx = WorkerContext(settings=settings, session_factory=factory, started_at=datetime.now(UTC))
    rng = np.random.default_rng(2)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    now -= timedelta(minutes=now.minute % 15)
    # Three weeks of history: a sub-daily series' feature maxima still carry its first days
    # (before the seasonal baseline has learnt the daily curve) for about two weeks, during
    # which a collapse scores lower (docs/detection.md, "Cold start").
    n_hist = 21 * 96
    with transaction(factory) as s:
        user = User(username="bench_duty", display_name="bench", role="duty_officer", is_active=True)
        s.add(user)
        s.flush()
        notifications_repo.upsert_contact(s, {"user_id": user.id, "email": "duty@bench.example",
                                              "position": "duty_officer"})
        # The benchmark's meters count as key enterprises' (importance 1.5): a minor enterprise's
        # shutdown is rightly only yellow, which the default policy does not mail at once.
        alerts_service.upsert_rule(s, None, name="bench: key meters", indicator_code="power.grid_load",
                                   kind="importance", params={}, entity_kind=None, entity_id=None,
                                   importance=1.5, enabled=True, user_id=None, now=now)
        keys = [("power.grid_load", "enterprise", 5000 + r) for r in range(rounds)]
        ids = obs_repo.ensure_series(s, keys)
        sids = [ids[k] for k in keys]
        # History up to an hour ago; each round's incident is the next two points of its own series.
        hist_end = now - timedelta(hours=1)
        ts, vals = curve(hist_end - n_hist * STEP, n_hist, rng, rounds)
        obs_repo.write_observations(s, rows_for(sids, ts, vals), "observation", "Asia/Shanghai")
    evaluate_alerts(ctx)  # learn the history: no alert
    sched = BackgroundScheduler(timezone=UTC)
    sched.add_job(lambda: dispatch_notifications(ctx), "interval", seconds=settings.outbox_interval_s,
                  max_instances=1, coalesce=True)
    sched.start()
    out = []
    try:
        for r in range(rounds):
            inbox.event.clear()
            before = len(inbox.arrived)
            last = vals[r, -96:]
            # Two 15-minute points of a shutdown (the minimum duration), delivered by one ingest cycle.
            pts = [obs_repo.ObservationRow(sids[r], hist_end + k * STEP, float(last[-1] * 0.05), "bench")
                   for k in range(2)]
            with transaction(factory) as s:
                obs_repo.write_observations(s, pts, "observation", "Asia/Shanghai")
            stored = time.perf_counter()
            evaluate_alerts(ctx)  # as ingest.jobs.ingest_source does right after storing
            while len(inbox.arrived) == before:
                if not inbox.event.wait(30):
                    raise RuntimeError("no mail within 30 s")
            out.append(inbox.arrived[before] - stored)
    finally:
        sched.shutdown(wait=True)
        smtp.stop()
        engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--history-days", type=int, default=14)
    ap.add_argument("--latency-rounds", type=int, default=5)
    args = ap.parse_args()
    server = server_url()
    name, url = make_database(server)
    try:
        throughput(url, args.series, args.history_days)
        lat = latency(url, args.latency_rounds)
        s = Settings()
        interval = 60.0  # the power metering source's interval (ingest/sources/definitions.py)
        print(f"data stored -> mail in SMTP server: median {np.median(lat):.2f} s, max {max(lat):.2f} s over "
              f"{len(lat)} incidents (the ingest job dispatches at once; the dispatcher job also polls every "
              f"{s.outbox_interval_s:.0f} s)")
        print(f"data at the upstream -> mail: at most {interval:.0f} s (ingest interval) + {max(lat):.2f} s; "
              f"target {interval:.0f} s + 10 s: {'meets' if max(lat) <= 10 else 'MISSES'} it")
    finally:
        drop_database(server, name)


if __name__ == "__main__":
    main()
