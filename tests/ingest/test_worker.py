"""The ingest worker as real processes: two at once never run the same source together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from backend.config import PROJECT_ROOT
from tests.ingest.support import TOKEN, Simulator


def _worker(database_url: str, sim: Simulator, only: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": database_url, "YUNJIAN_SIMULATOR_PORT": str(sim.port),
           "YUNJIAN_UPSTREAM_TOKEN": TOKEN, "YUNJIAN_INGEST_ONLY": only, "YUNJIAN_INGEST_INTERVAL_S": "1",
           "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "backend.cli", "ingest"], cwd=PROJECT_ROOT, env=env)


def _runs(factory: sessionmaker[Session]) -> list[tuple[str, str, object, object]]:
    with factory() as s:
        rows = s.execute(text("SELECT holder, status, started_at, finished_at FROM ingest_job_run "
                              "ORDER BY started_at, id")).all()
        return [(h, st, a, b) for h, st, a, b in rows]


def _wait_for(factory: sessionmaker[Session], cond: object, timeout_s: float = 60) -> list[tuple[str, str, object, object]]:
    deadline = time.monotonic() + timeout_s
    while True:
        runs = _runs(factory)
        if cond(runs) or time.monotonic() > deadline:  # type: ignore[operator]
            return runs
        time.sleep(0.3)


def _pid(holder: str) -> int:
    return int(holder.split(":")[-2])


def test_two_worker_processes_never_run_the_same_source_at_once_and_the_survivor_takes_over(
        simulator: Simulator, fresh_database_url: str, fresh_factory: sessionmaker[Session]) -> None:
    # Every upstream request takes 0.3 s, so runs last long enough to overlap if the lease did not hold.
    simulator.faults(latency_s=0.3, latency_requests=10_000)
    workers = {w.pid: w for w in (_worker(fresh_database_url, simulator, "power_grid_load") for _ in range(2))}
    try:
        runs = _wait_for(fresh_factory, lambda rs: sum(r[1] == "ok" for r in rs) >= 3
                         and any(r[1] == "skipped" for r in rs))
        owners = {_pid(h) for h, st, _, _ in runs if st == "ok"}
        assert any(st == "skipped" for _, st, _, _ in runs), "the second worker never tried"
        # stop the worker that holds the source (a restart); the other one must carry on
        first = _pid(next(h for h, st, _, _ in runs if st == "ok"))
        workers[first].send_signal(signal.SIGTERM)
        assert workers[first].wait(30) == 0
        survivor = next(p for p in workers if p != first)
        runs = _wait_for(fresh_factory, lambda rs: sum(r[1] == "ok" and _pid(r[0]) == survivor for r in rs) >= 2)
    finally:
        for w in workers.values():
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in workers.values():
            w.wait(30)
    assert all(w.returncode == 0 for w in workers.values()), [w.returncode for w in workers.values()]
    done = [(h, a, b) for h, st, a, b in runs if st in ("ok", "failed")]
    assert not [r for r in runs if r[1] == "failed"]
    assert {_pid(h) for h, _, _ in done} == set(workers), f"both processes should have run it (first: {owners})"
    for (_, _, end_a), (_, start_b, _) in zip(done, done[1:], strict=False):
        assert end_a is not None and end_a <= start_b, "two runs of one source overlapped"  # type: ignore[operator]
    with fresh_factory() as s:
        heartbeat = s.execute(text("SELECT heartbeat_at FROM ingest_source WHERE name = 'power_grid_load'")).scalar()
        stored = s.execute(text("SELECT count(*) FROM observation")).scalar_one()
    assert heartbeat is not None and stored > 0
