"""Test harness: a real PostgreSQL (+ TimescaleDB) built by the migrations.

- `TEST_DATABASE_URL` names the server to use (`make test` starts a throwaway cluster and
  sets it). Without it, the harness starts the project-local cluster `var/pg-test` itself.
- Once per run, a template database is built with `alembic upgrade heads` and seeded
  (catalogue, Wuhai registry, demo enterprises).
- `db_session`: a session on a copy of the template, inside a transaction rolled back
  after each test (services may flush and even commit: commits become savepoints).
- `fresh_database_url`: a brand-new database cloned from the template, for tests that need
  real commits seen by other processes (API servers, workers); dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session

from backend.config import PROJECT_ROOT, normalise_url

# Per-run names, so that several test runs can share one server at once.
TEMPLATE_DB = f"yunjian_tmpl_{os.getpid()}"
SHARED_DB = f"yunjian_test_{os.getpid()}"


def _server_url() -> URL:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return make_url(normalise_url(url))
    from backend.platform.pgcluster import Cluster

    cluster = Cluster(var_dir=PROJECT_ROOT / "var", name="pg-test", port=54339, fast_unsafe=True)
    cluster.start()
    return make_url(cluster.url)


def expect_timescaledb() -> bool:
    return os.environ.get("YUNJIAN_TEST_EXPECT_TIMESCALEDB", "1") == "1"


def _admin_engine(server: URL) -> Engine:
    return create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")


def create_database(server: URL, name: str, template: str | None = None) -> URL:
    with _admin_engine(server).connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    return server.set(database=name)


def drop_database(server: URL, name: str) -> None:
    with _admin_engine(server).connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def server_url() -> URL:
    return _server_url()


@pytest.fixture(scope="session")
def template_url(server_url: URL) -> Iterator[URL]:
    """The migrated and seeded template every test database is cloned from."""
    from backend import migrate
    from backend.db import make_engine, make_session_factory, transaction
    from backend.seed import seed

    url = create_database(server_url, TEMPLATE_DB)
    rendered = url.render_as_string(hide_password=False)
    migrate.upgrade(rendered)
    engine = make_engine(rendered)
    with transaction(make_session_factory(engine)) as s:
        seed(s)
    engine.dispose()
    yield url
    drop_database(server_url, TEMPLATE_DB)


@pytest.fixture(scope="session")
def shared_engine(server_url: URL, template_url: URL) -> Iterator[Engine]:
    url = create_database(server_url, SHARED_DB, template=TEMPLATE_DB)
    engine = create_engine(url, connect_args={"options": "-c timezone=UTC"})
    yield engine
    engine.dispose()
    drop_database(server_url, SHARED_DB)


@pytest.fixture()
def db_session(shared_engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test."""
    with shared_engine.connect() as conn:
        trans = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield session
        finally:
            session.close()
            trans.rollback()


@pytest.fixture()
def fresh_database_url(server_url: URL, template_url: URL) -> Iterator[str]:
    """A new database (migrated and seeded) for tests whose commits other processes must see."""
    name = f"yunjian_t_{uuid.uuid4().hex[:10]}"
    url = create_database(server_url, name, template=TEMPLATE_DB)
    yield url.render_as_string(hide_password=False)
    drop_database(server_url, name)


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """Where tests leave artefacts for people to look at (screenshots, emails)."""
    d = PROJECT_ROOT / "test-output"
    d.mkdir(exist_ok=True)
    return d
