"""Smoke test that also runs on plain PostgreSQL (no TimescaleDB): migrate, write, read a rollup."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from backend.observations import repository as repo
from backend.observations import service
from tests.conftest import expect_timescaledb


@pytest.mark.plainpg
def test_migrate_write_and_read_a_rollup(db_session: Session):
    assert (repo.timescaledb_version(db_session) is not None) == expect_timescaledb()
    sid = repo.ensure_series(db_session, [("gas.consumption", "park", 1)])[("gas.consumption", "park", 1)]
    start = datetime(2025, 12, 31, 16, tzinfo=UTC)  # 2026-01-01 00:00 in Asia/Shanghai
    rows = [repo.ObservationRow(sid, start + timedelta(hours=h), 100.0, "smoke") for h in range(24)]
    res = repo.write_observations(db_session, rows, service.table_for_frequency("hour"), "Asia/Shanghai")
    assert res.inserted == 24
    (month,) = repo.monthly(db_session, [sid], date(2026, 1, 1), date(2026, 2, 1))
    assert (month.sum, month.count) == (2400.0, 24)
    kept = service.apply_retention(db_session, datetime(2026, 3, 1, tzinfo=UTC), keep_days=400)
    assert kept.method == ("drop_chunks" if expect_timescaledb() else "delete")
