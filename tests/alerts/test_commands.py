"""`yunjian alerts digest|escalate --now`: run by hand as if it were another time, in a real
process against a real database."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import create_engine, text

from backend.db import make_session_factory, transaction
from tests.alerts.conftest import add_user


def _yunjian(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "backend.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_digest_now_queues_the_digest_of_that_day_once_and_not_before_its_hour(fresh_database_url: str):
    engine = create_engine(fresh_database_url)
    with transaction(make_session_factory(engine)) as s:
        add_user(s, "cli_leader", "leader", "cli-leader@wuhai.example", position="bureau_leader", digest=True)
    early = _yunjian(fresh_database_url, "alerts", "digest", "--now", "2026-03-02T07:59:00+08:00")
    assert early.returncode == 0, early.stderr
    assert early.stdout.strip().endswith(": 0")
    on_time = _yunjian(fresh_database_url, "alerts", "digest", "--now", "2026-03-02T08:30:00+08:00")
    assert on_time.returncode == 0, on_time.stderr
    again = _yunjian(fresh_database_url, "alerts", "digest", "--now", "2026-03-02T17:00:00+08:00")
    assert again.stdout.strip().endswith(": 0")  # once a day
    with engine.connect() as c:
        keys = c.execute(text("SELECT n.dedup_key FROM notification n JOIN app_user u ON u.id = n.user_id "
                              "WHERE n.kind = 'digest' AND u.username = 'cli_leader'")).scalars().all()
    engine.dispose()
    assert len(keys) == 1 and "2026-03-02" in keys[0]
    assert int(on_time.stdout.strip().rsplit(":", 1)[1]) >= 1


def test_now_without_an_offset_or_not_a_time_is_refused_with_a_clear_message(fresh_database_url: str):
    for bad, words in (("2026-03-02T08:30:00", "offset"), ("tomorrow", "ISO 8601")):
        r = _yunjian(fresh_database_url, "alerts", "escalate", "--now", bad)
        assert r.returncode == 2 and words in r.stderr, r.stderr
