"""The schema is built only by the migrations; they round-trip and agree with the models."""

from __future__ import annotations

import uuid

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL

from backend import migrate
from backend.models import metadata
from tests.conftest import create_database, drop_database


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_migrations_upgrade_downgrade_to_base_and_upgrade_again(server_url: URL):
    name = f"yunjian_rt_{uuid.uuid4().hex[:8]}"
    url = create_database(server_url, name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        built = _tables(url)
        assert {"observation", "period_observation", "rollup_daily", "enterprise_version", "indicator"} <= built
        migrate.downgrade(url, "base")
        assert _tables(url) == set()
        migrate.upgrade(url)
        assert _tables(url) == built
    finally:
        drop_database(server_url, name)


def _relevant(diff: object) -> bool:
    # Indexes TimescaleDB adds to hypertables (time DESC) and the exclusion constraint the
    # ORM cannot express are expected differences, not drift.
    text_ = repr(diff)
    return not ("_time_idx" in text_ or "ex_enterprise_version_no_overlap" in text_)


def test_models_and_migrations_agree(template_url: URL):
    engine = create_engine(template_url)
    try:
        with engine.connect() as conn:
            diffs = [d for d in compare_metadata(MigrationContext.configure(conn), metadata) if _relevant(d)]
    finally:
        engine.dispose()
    assert diffs == []


def test_the_schema_is_at_head_after_migrating(template_url: URL):
    engine = create_engine(template_url)
    try:
        with engine.connect() as conn:
            assert migrate.current_revisions(conn) == migrate.head_revisions(str(template_url))
            assert conn.execute(text("SELECT count(*) FROM indicator")).scalar() >= 20
    finally:
        engine.dispose()
