"""Fault modes: each ends with exactly the delivered rows stored once (and bad rows quarantined)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from backend.ingestion import repository as ingest_repo
from ingest import runner
from ingest.simulator.generator import World
from ingest.sources.definitions import source_named
from tests.ingest.helpers import assert_same, expected, stored
from tests.ingest.support import SEED, Simulator, settings_for
from tests.ingest.test_end_to_end import END, FAMILIES, START

A = datetime(2026, 11, 12, 0, tzinfo=UTC)
B = A + timedelta(hours=6)


def _run(source: str, url: str, factory: sessionmaker[Session], sim: Simulator, start: datetime = A,
         end: datetime = B, **kw: object) -> runner.RunResult:
    return runner.run_source(source_named(source), factory, settings_for(url, sim, **kw), holder="t",
                             start=start, end=end, kind="backfill")


def _exactly_delivered(factory: sessionmaker[Session], source: str, start: datetime = A, end: datetime = B) -> None:
    want = expected(World(seed=SEED), FAMILIES[source], start, end)
    with factory() as s:
        assert_same(stored(s, source), want)


@pytest.mark.parametrize("faults", [{"error_5xx": 2}, {"error_5xx": 2, "error_status": 500},
                                    {"rate_limit": 2, "retry_after_s": 1}, {"truncate": 2}, {"duplicate": 2},
                                    {"latency_s": 4, "latency_requests": 1}])
def test_transient_upstream_faults_are_retried_and_end_with_every_row_stored_once(
        faults: dict[str, object], simulator: Simulator, fresh_database_url: str,
        fresh_factory: sessionmaker[Session]) -> None:
    simulator.faults(**faults)
    res = _run("power_metering", fresh_database_url, fresh_factory, simulator, ingest_http_timeout_s=1.5)
    assert res.status == "ok", res.error
    injected = simulator.faults()["injected"]
    assert sum(injected.values()) >= 1, "the fault should have been injected"
    _exactly_delivered(fresh_factory, "power_metering")


def test_a_burst_longer_than_the_retries_fails_the_run_and_the_next_run_catches_up(
        simulator: Simulator, fresh_database_url: str, fresh_factory: sessionmaker[Session]) -> None:
    src = source_named("gas_hourly")
    settings = settings_for(fresh_database_url, simulator)
    now = datetime(2026, 11, 12, 12, tzinfo=UTC)
    simulator.faults(error_5xx=50)
    failed = runner.run_source(src, fresh_factory, settings, holder="t", now=now)
    assert failed.status == "failed" and "HTTP 503" in (failed.error or "")
    with fresh_factory() as s:
        state = ingest_repo.get_source(s, "gas_hourly")
        assert state is not None and state.watermark_at is None and state.last_error
    simulator.reset()
    ok = runner.run_source(src, fresh_factory, settings, holder="t", now=now)
    assert ok.status == "ok", ok.error
    start, end = src.window(None, now)
    _exactly_delivered(fresh_factory, "gas_hourly", start, end)
    with fresh_factory() as s:
        state = ingest_repo.get_source(s, "gas_hourly")
        assert state is not None and state.watermark_at == end
        assert state.last_success_at is not None and state.last_error_at is not None
        assert state.last_success_at > state.last_error_at


def test_a_permanent_error_is_not_retried(simulator: Simulator, fresh_database_url: str,
                                          fresh_factory: sessionmaker[Session]) -> None:
    res = runner.run_source(source_named("oil_sales"), fresh_factory,
                            settings_for(fresh_database_url, simulator, ingest_credentials={"oil": "wrong"}),
                            holder="t", start=START, end=END, kind="backfill")
    assert res.status == "failed" and "HTTP 401" in (res.error or "")
    assert simulator.faults()["requests"] >= 1


@pytest.mark.parametrize("source", sorted(FAMILIES))
def test_malformed_rows_are_quarantined_with_reasons_and_the_good_rows_stored(
        source: str, simulator: Simulator, fresh_database_url: str, fresh_factory: sessionmaker[Session]) -> None:
    simulator.faults(malformed=1)
    res = _run(source, fresh_database_url, fresh_factory, simulator, START, END)
    assert res.status == "ok", res.error
    bad = simulator.faults()["injected"]["malformed_rows"]
    _exactly_delivered(fresh_factory, source, START, END)
    with fresh_factory() as s:
        total, rows = ingest_repo.list_quarantine(s, source_name=source, status=None, limit=100, offset=0)
    assert total == bad, [(r.reason, r.raw_text) for r in rows]
    assert all(" / " in r.reason and r.raw_text for r in rows)
    # the same bad rows delivered again are not quarantined twice
    simulator.faults(malformed=1)
    _run(source, fresh_database_url, fresh_factory, simulator, START, END)
    with fresh_factory() as s:
        again, rows = ingest_repo.list_quarantine(s, source_name=source, status=None, limit=100, offset=0)
    assert again == bad and all(r.seen_count == 2 for r in rows)


def test_a_database_connection_lost_mid_batch_is_retried_and_the_counts_match(
        simulator: Simulator, fresh_database_url: str, fresh_factory: sessionmaker[Session]) -> None:
    blocker = create_engine(fresh_database_url)
    locked = threading.Event()
    seen: dict[str, int] = {}

    def hold_rollups_then_kill_the_writer() -> None:
        # The store writes observations first and rollups after: hold the rollups so the
        # batch stops half-way, then kill its connection there. The run itself stays in
        # the test's main thread; this thread owns the blocking connection.
        with blocker.connect() as conn:
            tx = conn.begin()
            conn.execute(text("LOCK TABLE rollup_daily IN EXCLUSIVE MODE"))
            locked.set()
            deadline = time.monotonic() + 180  # generous: a loaded 2-core machine
            while time.monotonic() < deadline:
                # pg_stat_activity is a snapshot kept for the whole transaction: refresh it
                conn.execute(text("SELECT pg_stat_clear_snapshot()"))
                victim = conn.execute(text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'")).scalar()
                if victim is not None:
                    seen["half_way"] = conn.execute(text("SELECT count(*) FROM observation")).scalar_one()
                    seen["killed"] = int(bool(conn.execute(text("SELECT pg_terminate_backend(:p)"),
                                                           {"p": victim}).scalar()))
                    break
                time.sleep(0.05)
            tx.commit()

    t = threading.Thread(target=hold_rollups_then_kill_the_writer)
    t.start()
    assert locked.wait(30)
    res = _run("power_metering", fresh_database_url, fresh_factory, simulator)
    t.join(60)
    blocker.dispose()
    assert seen.get("killed") == 1, "the batch never reached the rollups"
    half_way = seen["half_way"]
    assert half_way == 0  # uncommitted: nobody else saw the half-written batch
    assert res.status == "ok", res.error
    assert res.store_attempts == 2
    _exactly_delivered(fresh_factory, "power_metering")
    with fresh_factory() as s:
        run = ingest_repo.runs(s, "power_metering", 1)[0]
        assert (run.status, run.attempts, run.rows_stored) == ("ok", 2, res.stored)
