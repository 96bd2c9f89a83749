"""Fixtures for ingest tests: the simulator as a real HTTP server in its own process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from backend.db import make_engine, make_session_factory
from tests.ingest.support import Simulator, free_port, start_simulator, wait_http


@pytest.fixture(scope="session")
def simulator_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    port = free_port()
    labels = tmp_path_factory.mktemp("sim") / "labels.json"
    proc = start_simulator(port, labels)
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc)
        yield Simulator(f"http://127.0.0.1:{port}", port, labels, proc)
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture()
def simulator(simulator_process: Simulator) -> Iterator[Simulator]:
    """The shared simulator with no faults pending before and after the test."""
    simulator_process.reset()
    yield simulator_process
    simulator_process.reset()


@pytest.fixture()
def fresh_factory(fresh_database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(fresh_database_url)
    yield make_session_factory(engine)
    engine.dispose()
