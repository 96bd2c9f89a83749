"""The store on the real database: revisions, watermark, leases, quarantine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.ingestion import repository as repo
from backend.ingestion import service
from backend.ingestion.batch import ParsedRow, RejectedRow

NOW = datetime(2026, 11, 27, 8, tzinfo=UTC)
DAY = datetime(2026, 11, 25, 16, tzinfo=UTC)  # 2026-11-26 Beijing


def _uscc(session: Session) -> str:
    return str(session.execute(text("SELECT uscc FROM enterprise ORDER BY id LIMIT 1")).scalar_one())


def _register(session: Session) -> None:
    service.register_source(session, name="coal_production", family="coal", title_zh="煤", title_en="coal",
                            interval_s=600, expected_lag_s=86400)


def test_a_corrected_value_becomes_a_new_revision_and_a_repeat_changes_nothing(db_session: Session) -> None:
    _register(db_session)
    code = _uscc(db_session)
    row = ParsedRow("coal.raw_output", "enterprise", code, DAY, 0.5, "万吨")

    def store(r: ParsedRow) -> service.StoreResult:
        return service.store_batch(db_session, source="coal_production", batch_id="b", rows=[r], rejected=[],
                                   now=NOW, tz="Asia/Shanghai")

    assert store(row).inserted == 1
    assert store(row).unchanged == 1
    corrected = store(ParsedRow("coal.raw_output", "enterprise", code, DAY, 0.52, "万吨"))
    assert corrected.updated == 1
    value, revision = db_session.execute(text("SELECT value, revision FROM period_observation")).one()
    assert (value, revision) == (pytest.approx(5200.0), 1)
    assert db_session.execute(text("SELECT value FROM observation_revision")).scalar_one() == pytest.approx(5000.0)


def test_the_watermark_only_moves_forward_and_totals_add_up(db_session: Session) -> None:
    _register(db_session)
    code = _uscc(db_session)
    for wm, v in ((NOW, 0.1), (NOW - timedelta(days=3), 0.2)):
        service.store_batch(db_session, source="coal_production", batch_id="b", now=NOW, tz="Asia/Shanghai",
                            rows=[ParsedRow("coal.raw_output", "enterprise", code, DAY, v, "万吨")],
                            rejected=[RejectedRow("x,y", "bad / bad")], watermark=wm)
    src = repo.get_source(db_session, "coal_production")
    assert src is not None
    assert src.watermark_at == NOW and src.latest_data_at == DAY
    assert (src.rows_stored, src.rows_rejected, src.last_rows_stored) == (2, 2, 1)


def test_rows_for_unknown_enterprises_go_to_quarantine_with_the_good_rows_stored(db_session: Session) -> None:
    code = _uscc(db_session)
    res = service.store_batch(db_session, source="test", batch_id="b1", now=NOW, tz="Asia/Shanghai", rows=[
        ParsedRow("coal.raw_output", "enterprise", code, DAY, 1, "t", raw={"code": code}),
        ParsedRow("coal.raw_output", "enterprise", "911503990000000000", DAY, 1, "t", raw={"code": "?"})],
        rejected=[])
    assert (res.inserted, res.rejected, res.quarantined_new) == (1, 1, 1)
    total, rows = service.list_quarantine(db_session, source="test")
    assert total == 1 and "unknown enterprise" in rows[0].reason and rows[0].raw_json == {"code": "?"}
    reviewed = service.review_quarantine(db_session, rows[0].id, status="dismissed", by="duty", note="test firm",
                                         now=NOW)
    assert reviewed.status == "dismissed" and reviewed.reviewed_at == NOW


def test_a_lease_has_one_holder_until_it_expires_or_is_released(db_session: Session) -> None:
    assert service.claim_lease(db_session, "s", "a", NOW, 60)
    assert not service.claim_lease(db_session, "s", "b", NOW + timedelta(seconds=30), 60)
    assert service.claim_lease(db_session, "s", "a", NOW + timedelta(seconds=30), 60)  # renewal
    assert service.claim_lease(db_session, "s", "b", NOW + timedelta(seconds=91), 60)  # expired
    assert not repo.holds_lease(db_session, "s", "a", NOW + timedelta(seconds=92))
    service.release_lease(db_session, "s", "b", NOW + timedelta(seconds=100))
    assert service.claim_lease(db_session, "s", "c", NOW + timedelta(seconds=100), 60)


def test_a_lease_left_by_a_worker_killed_on_this_machine_is_taken_over_at_once(db_session: Session) -> None:
    import socket
    import subprocess
    import sys

    from ingest.runner import holder_is_dead, make_holder

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    here = socket.gethostname()
    dead, elsewhere = f"{here}:{gone.pid}:deadbeef", f"other-host:{gone.pid}:deadbeef"
    assert holder_is_dead(dead)
    assert not holder_is_dead(elsewhere) and not holder_is_dead(make_holder()) and not holder_is_dead("garbage")
    assert service.claim_lease(db_session, "s", dead, NOW, 300)
    me = make_holder()
    assert not service.claim_lease(db_session, "s", me, NOW + timedelta(seconds=5), 300)  # no judge: wait
    assert service.claim_lease(db_session, "s", me, NOW + timedelta(seconds=5), 300, holder_is_dead)
    assert repo.holds_lease(db_session, "s", me, NOW + timedelta(seconds=6))
    assert service.claim_lease(db_session, "t", elsewhere, NOW, 300)  # another machine's: never judged
    assert not service.claim_lease(db_session, "t", me, NOW + timedelta(seconds=5), 300, holder_is_dead)


def test_a_worker_that_lost_its_lease_cannot_write(db_session: Session) -> None:
    service.claim_lease(db_session, "coal_production", "b", datetime.now(UTC), 60)
    with pytest.raises(service.LeaseLost):
        service.store_batch(db_session, source="coal_production", batch_id="b", rows=[], rejected=[], now=NOW,
                            tz="Asia/Shanghai", holder="a")


def test_source_state_says_failing_late_or_ok() -> None:
    from backend.ingestion.models import IngestSource

    src = IngestSource(name="x", family="power", title_zh="", title_en="", interval_s=60, expected_lag_s=1800,
                       last_success_at=NOW, latest_data_at=NOW - timedelta(minutes=20))
    assert service.source_state(src, NOW).state == "ok"
    src.latest_data_at = NOW - timedelta(hours=2)
    assert service.source_state(src, NOW).state == "late"
    src.last_error_at = NOW + timedelta(seconds=1)
    assert service.source_state(src, NOW + timedelta(seconds=2)).state == "failing"
    assert service.source_state(IngestSource(name="y", interval_s=60, expected_lag_s=60), NOW).state == "never"
