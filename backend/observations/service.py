"""Observation rules: which table a series' values go to, retention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from backend.observations import repository as repo

HIGH_FREQUENCY = {"15min", "hour"}


def table_for_frequency(frequency: str) -> repo.Table:
    """Raw high-frequency values go to `observation` (subject to retention); daily and
    monthly values to `period_observation` (kept for good)."""
    return "observation" if frequency in HIGH_FREQUENCY else "period_observation"


@dataclass(frozen=True)
class RetentionResult:
    cutoff: datetime
    method: str  # drop_chunks | delete
    removed: int  # chunks dropped, or rows deleted


def apply_retention(session: Session, now: datetime, keep_days: int) -> RetentionResult:
    """Remove raw high-frequency observations older than `keep_days`. Rollups stay, so
    day, month and year views keep their history."""
    if keep_days < 1:
        raise ValueError("keep_days must be at least 1")
    cutoff = now - timedelta(days=keep_days)
    if repo.is_hypertable(session, "observation"):
        res = RetentionResult(cutoff, "drop_chunks", repo.drop_raw_chunks(session, cutoff))
    else:
        res = RetentionResult(cutoff, "delete", repo.delete_raw_before(session, cutoff))
    if res.removed:
        # Hour views read raw rows, and no rollup changed: say so to the answer caches.
        repo.mark_all_data_changed(session)
    return res
