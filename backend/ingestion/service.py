"""Ingest rules: storing a parsed batch, leases, job runs, source status, the quarantine.

`store_batch` is the single place where fetched rows enter the database. In the caller's one
transaction it: checks the lease is still held, resolves entities and series, converts every
value to its indicator's unit, writes through `observations.repository.write_observations`
(idempotent: a repeated delivery changes nothing, a corrected value becomes a new revision),
quarantines every rejected row with its reason, and advances the watermark. If anything fails,
all of it rolls back together and the batch can simply be stored again.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from backend.catalogue import repository as catalogue_repo
from backend.catalogue.service import UnitError, conversion_factor
from backend.ingestion import repository as repo
from backend.ingestion.batch import ParsedRow, RejectedRow
from backend.ingestion.models import QUARANTINE_STATUSES, IngestJobRun, IngestSource, QuarantineRow
from backend.observations import repository as obs_repo
from backend.observations.service import table_for_frequency

SeriesKey = tuple[str, str, int]


class LeaseLost(RuntimeError):
    """Another worker holds the source's lease now: this one must not write."""


class QuarantineNotFound(LookupError):
    pass


class ResolvedRow(NamedTuple):
    key: SeriesKey
    time: datetime
    value: float  # in the indicator's unit
    table: obs_repo.Table


@dataclass(frozen=True)
class StoreResult:
    received: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    quarantined_new: int
    latest_data_at: datetime | None

    @property
    def stored(self) -> int:
        return self.inserted + self.updated


def resolve_rows(rows: Sequence[ParsedRow], entities: dict[tuple[str, str], int],
                 indicators: dict[str, tuple[str, str]], units: dict[str, tuple[str, float]],
                 ) -> tuple[list[ResolvedRow], list[RejectedRow]]:
    """Pure: map external codes to ids and convert units. Rows that cannot be placed
    (unknown entity, indicator or unit, a unit of another dimension, a value that is not a
    finite non-negative number) are rejected with a reason."""
    good: list[ResolvedRow] = []
    bad: list[RejectedRow] = []
    factors: dict[tuple[str, str], float] = {}
    tables = {code: table_for_frequency(freq) for code, (_, freq) in indicators.items()}
    isfinite = math.isfinite
    for r in rows:
        ind = indicators.get(r.indicator)
        if ind is None:
            bad.append(RejectedRow(_raw(r), f"未知指标 / unknown indicator {r.indicator!r}"))
            continue
        entity_id = 0 if r.entity_kind == "city" else entities.get((r.entity_kind, r.entity_code))
        if entity_id is None:
            bad.append(RejectedRow(_raw(r), f"未知{_KIND_ZH.get(r.entity_kind, '对象')} / unknown {r.entity_kind} "
                                        f"{r.entity_code!r}"))
            continue
        pair = (r.unit, ind[0])
        if pair not in factors:
            try:
                factors[pair] = conversion_factor(units, r.unit, ind[0])
            except UnitError as exc:
                bad.append(RejectedRow(_raw(r), str(exc)))
                continue
        if not isfinite(r.value) or r.value < 0:
            bad.append(RejectedRow(_raw(r), f"数值无效 / value must be a finite non-negative number: {r.value!r}"))
            continue
        good.append(ResolvedRow((r.indicator, r.entity_kind, entity_id), r.time, r.value * factors[pair],
                                tables[r.indicator]))
    return good, bad


_KIND_ZH = {"enterprise": "企业", "district": "区县", "park": "园区", "city": "城市"}


def _raw(r: ParsedRow) -> Any:
    """The record to keep for a rejected row; built only on rejection (bulk files are large)."""
    return r.raw if r.raw is not None else _describe(r)


def _describe(r: ParsedRow) -> dict[str, object]:
    return {"indicator": r.indicator, "entity_kind": r.entity_kind, "entity_code": r.entity_code,
            "time": r.time.isoformat(), "value": r.value, "unit": r.unit}


def store_batch(session: Session, *, source: str, batch_id: str, rows: Sequence[ParsedRow],
                rejected: Sequence[RejectedRow], now: datetime, tz: str, holder: str | None = None,
                watermark: datetime | None = None) -> StoreResult:
    """Store one batch in the caller's transaction (see the module docstring). With `holder`,
    raises LeaseLost unless that holder still has the source's lease."""
    if holder is not None and not repo.holds_lease(session, source, holder, now):
        raise LeaseLost(f"lease on {source} lost by {holder}")
    good, bad = resolve_rows(rows, repo.entity_ids(session), repo.indicators(session),
                             catalogue_repo.unit_table(session))
    bad = list(rejected) + bad
    ids = obs_repo.ensure_series(session, {r.key for r in good})
    by_table: dict[obs_repo.Table, list[obs_repo.ObservationRow]] = defaultdict(list)
    for r in good:
        by_table[r.table].append(obs_repo.ObservationRow(ids[r.key], r.time, r.value, source))
    inserted = updated = unchanged = 0
    for table, obs in by_table.items():
        res = obs_repo.write_observations(session, obs, table, tz)
        inserted, updated = inserted + res.inserted, updated + res.updated
        unchanged += res.unchanged + res.duplicates_in_batch
    new = quarantine(session, source=source, batch_id=batch_id, rows=bad, now=now)
    latest = max((r.time for r in good), default=None)
    if repo.get_source(session, source) is not None:
        repo.record_success(session, source, now=now, watermark=watermark, latest_data=latest,
                            stored=inserted + updated, rejected=len(bad))
    return StoreResult(received=len(rows) + len(rejected), inserted=inserted, updated=updated, unchanged=unchanged,
                       rejected=len(bad), quarantined_new=new, latest_data_at=latest)


def quarantine(session: Session, *, source: str, batch_id: str, rows: Sequence[RejectedRow], now: datetime) -> int:
    """Keep rejected rows with their reasons. Usable by every ingest path (direct reporting,
    statistics import). The same content and reason from the same source is kept once."""
    values = []
    seen: set[str] = set()
    for r in rows:
        raw_text = r.raw_text()
        digest = hashlib.sha256(f"{r.reason}\x00{raw_text}".encode()).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        values.append({"source_name": source, "batch_id": batch_id, "raw_text": raw_text, "raw_json": r.raw_json(),
                       "reason": r.reason, "content_hash": digest, "received_at": now, "last_seen_at": now,
                       "seen_count": 1, "status": "open"})
    return repo.quarantine(session, values)


def list_quarantine(session: Session, *, source: str | None = None, status: str | None = None, limit: int = 100,
                    offset: int = 0) -> tuple[int, list[QuarantineRow]]:
    return repo.list_quarantine(session, source_name=source, status=status, limit=limit, offset=offset)


def review_quarantine(session: Session, row_id: int, *, status: str, by: str, note: str | None,
                      now: datetime) -> QuarantineRow:
    if status not in QUARANTINE_STATUSES:
        raise ValueError(f"status must be one of {QUARANTINE_STATUSES}")
    row = repo.get_quarantine(session, row_id)
    if row is None:
        raise QuarantineNotFound(row_id)
    row.status, row.reviewed_by, row.review_note, row.reviewed_at = status, by, note, now
    session.flush()
    return row


# --- sources, leases, runs -----------------------------------------------------------------------
def register_source(session: Session, *, name: str, family: str, title_zh: str, title_en: str, interval_s: int,
                    expected_lag_s: int) -> None:
    repo.upsert_source(session, name=name, family=family, title_zh=title_zh, title_en=title_en,
                       interval_s=interval_s, expected_lag_s=expected_lag_s)


def watermark(session: Session, source: str) -> datetime | None:
    src = repo.get_source(session, source)
    return src.watermark_at if src else None


def claim_lease(session: Session, source: str, holder: str, now: datetime, ttl_s: float) -> bool:
    return repo.claim_lease(session, source, holder, now, now + timedelta(seconds=ttl_s))


def release_lease(session: Session, source: str, holder: str, now: datetime) -> None:
    repo.release_lease(session, source, holder, now)


def start_run(session: Session, *, source: str, kind: str, holder: str, now: datetime) -> int:
    return repo.start_run(session, source_name=source, kind=kind, holder=holder, now=now)


def record_skipped(session: Session, *, source: str, kind: str, holder: str, now: datetime) -> None:
    repo.start_run(session, source_name=source, kind=kind, holder=holder, now=now, status="skipped")


def finish_run(session: Session, run_id: int, *, source: str, now: datetime, error: str | None,
               window: tuple[datetime, datetime] | None, received: int, stored: int, unchanged: int, rejected: int,
               attempts: int) -> None:
    repo.finish_run(session, run_id, status="failed" if error else "ok", finished_at=now, error=error,
                    window_start_at=window[0] if window else None, window_end_at=window[1] if window else None,
                    rows_received=received, rows_stored=stored, rows_unchanged=unchanged, rows_rejected=rejected,
                    attempts=attempts)
    if repo.get_source(session, source) is not None:
        repo.record_outcome(session, source, now=now, error=error)


def recent_runs(session: Session, source: str | None = None, limit: int = 100) -> list[IngestJobRun]:
    return repo.runs(session, source, limit)


@dataclass(frozen=True)
class SourceStatus:
    source: IngestSource
    lag_s: float | None  # now - newest data time stored
    state: str  # ok | late | failing | never


def source_state(src: IngestSource, now: datetime) -> SourceStatus:
    """Pure: a source is `failing` when its last run failed, `late` when its newest data is
    older than twice its expected lag plus one interval, `never` before its first success."""
    lag = (now - src.latest_data_at).total_seconds() if src.latest_data_at else None
    if src.last_error_at and (src.last_success_at is None or src.last_error_at > src.last_success_at):
        state = "failing"
    elif src.last_success_at is None:
        state = "never"
    elif lag is None or lag > 2 * src.expected_lag_s + src.interval_s:
        state = "late"
    else:
        state = "ok"
    return SourceStatus(src, lag, state)


def source_statuses(session: Session, now: datetime) -> list[SourceStatus]:
    return [source_state(s, now) for s in repo.list_sources(session)]
