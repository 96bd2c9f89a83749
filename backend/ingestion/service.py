"""Ingest rules: storing a parsed batch, leases, job runs, source status, the quarantine.

`store_batch` is the single place where fetched rows enter the database. In the caller's one
transaction it: checks the lease is still held, resolves entities and series, converts every
value to its indicator's unit, writes through `observations.repository.write_observations`
(idempotent: a repeated delivery changes nothing, a corrected value becomes a new revision),
quarantines every rejected row with its reason, and advances the watermark. If anything fails,
all of it rolls back together and the batch can simply be stored again.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import logging
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from backend.catalogue import repository as catalogue_repo
from backend.catalogue.service import UnitError, conversion_factor
from backend.ingestion import columns, plausibility
from backend.ingestion import repository as repo
from backend.ingestion.batch import ParsedRow, PayloadError, RejectedRow
from backend.ingestion.models import QUARANTINE_STATUSES, IngestJobRun, IngestSource, QuarantineRow
from backend.observations import repository as obs_repo
from backend.observations.service import table_for_frequency

SeriesKey = tuple[str, str, int]
log = logging.getLogger("yunjian.ingest")


class LeaseLost(RuntimeError):
    """Another worker holds the source's lease now: this one must not write."""


class QuarantineNotFound(LookupError):
    pass


class ResolvedRow(NamedTuple):
    key: SeriesKey
    time: datetime
    value: float  # in the indicator's unit
    table: obs_repo.Table
    origin: ParsedRow | None = None  # the row as parsed (kept if it is held later)


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
    resolve = _resolver(entities, indicators, units)
    for r in rows:
        res = resolve(r)
        if isinstance(res, RejectedRow):
            bad.append(res)
        else:
            good.append(res)
    return good, bad


Placement = tuple[SeriesKey, float, obs_repo.Table]  # series key, factor to the indicator's unit, table


def _placer(entities: dict[tuple[str, str], int], indicators: dict[str, tuple[str, str]],
            units: dict[str, tuple[str, float]]) -> Callable[[str, str, str, str], Placement | str]:
    """Where the rows of one (indicator, entity kind, entity code, unit) go, or why they
    cannot be placed (unknown indicator, entity or unit, a unit of another dimension).
    Conversion factors are cached across calls."""
    factors: dict[tuple[str, str], float | str] = {}
    tables = {code: table_for_frequency(freq) for code, (_, freq) in indicators.items()}

    def place(indicator: str, kind: str, code: str, unit: str) -> Placement | str:
        ind = indicators.get(indicator)
        if ind is None:
            return f"未知指标 / unknown indicator {indicator!r}"
        entity_id = 0 if kind == "city" else entities.get((kind, code))
        if entity_id is None:
            return f"未知{_KIND_ZH.get(kind, '对象')} / unknown {kind} {code!r}"
        pair = (unit, ind[0])
        factor = factors.get(pair)
        if factor is None:
            try:
                factor = factors[pair] = conversion_factor(units, unit, ind[0])
            except UnitError as exc:
                factor = factors[pair] = str(exc)
        if isinstance(factor, str):
            return factor
        return (indicator, kind, entity_id), factor, tables[indicator]

    return place


def _resolver(entities: dict[tuple[str, str], int], indicators: dict[str, tuple[str, str]],
              units: dict[str, tuple[str, float]]) -> Callable[[ParsedRow], ResolvedRow | RejectedRow]:
    """The rules of `resolve_rows` for one row (conversion factors cached across rows)."""
    place = _placer(entities, indicators, units)
    isfinite = math.isfinite

    def resolve(r: ParsedRow) -> ResolvedRow | RejectedRow:
        where = place(r.indicator, r.entity_kind, r.entity_code, r.unit)
        if isinstance(where, str):
            return RejectedRow(_raw(r), where)
        if not isfinite(r.value) or r.value < 0:
            return RejectedRow(_raw(r), f"数值无效 / value must be a finite non-negative number: {r.value!r}")
        key, factor, table = where
        return ResolvedRow(key, r.time, r.value * factor, table, r)

    return resolve


_KIND_ZH = {"enterprise": "企业", "district": "区县", "park": "园区", "city": "城市"}


def _raw(r: ParsedRow) -> Any:
    """The record to keep for a rejected row; built only on rejection (bulk files are large)."""
    return r.raw if r.raw is not None else _describe(r)


def _describe(r: ParsedRow) -> dict[str, object]:
    return {"indicator": r.indicator, "entity_kind": r.entity_kind, "entity_code": r.entity_code,
            "time": r.time.isoformat(), "value": r.value, "unit": r.unit}


def store_batch(session: Session, *, source: str, batch_id: str, rows: Sequence[ParsedRow],
                rejected: Sequence[RejectedRow], now: datetime, tz: str, holder: str | None = None,
                watermark: datetime | None = None, hold_implausible: bool = False) -> StoreResult:
    """Store one batch in the caller's transaction (see the module docstring). With `holder`,
    raises LeaseLost unless that holder still has the source's lease. With
    `hold_implausible` (the scheduled feeds), values that look like a unit mix-up against
    their series' history are quarantined instead of stored (`plausibility.py`)."""
    if holder is not None and not repo.holds_lease(session, source, holder, now):
        raise LeaseLost(f"lease on {source} lost by {holder}")
    indicators = repo.indicators(session)
    good, bad = resolve_rows(rows, repo.entity_ids(session), indicators, catalogue_repo.unit_table(session))
    bad = list(rejected) + bad
    ids = obs_repo.ensure_series(session, {r.key for r in good})
    if hold_implausible and good:
        good, held = _hold_implausible(session, good, ids, indicators, now, tz, source)
        bad += held
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


def _hold_implausible(session: Session, good: list[ResolvedRow], ids: dict[SeriesKey, int],
                      indicators: dict[str, tuple[str, str]], now: datetime, tz: str, source: str
                      ) -> tuple[list[ResolvedRow], list[RejectedRow]]:
    """Split resolved rows into those to store and those held as suspected unit mix-ups."""
    since = now.astimezone(ZoneInfo(tz)).date() - timedelta(days=plausibility.HISTORY_DAYS)
    found = obs_repo.series_ceilings(session, list({ids[r.key] for r in good}), since)
    ceilings = {sid: plausibility.Ceiling(top, n, mid) for sid, (top, n, mid) in found.items()}
    # Series without a history of their own are judged against their indicator's other series,
    # stored and in this batch.
    young = {r.key[0] for r in good
             if ceilings.get(ids[r.key], plausibility.Ceiling(0, 0)).days < plausibility.MIN_HISTORY_DAYS}
    stored_top = obs_repo.indicator_ceilings(session, sorted(young), since) if young else {}
    batch_max: dict[str, dict[int, float]] = defaultdict(dict)
    for r in good:
        if r.key[0] in young:
            sid = ids[r.key]
            batch_max[r.key[0]][sid] = max(batch_max[r.key[0]].get(sid, 0.0), r.value)
    peers_of = {code: plausibility.peer_ceilings(stored_top.get(code, []), batch_max[code]) for code in young}
    keep: list[ResolvedRow] = []
    held: list[RejectedRow] = []
    held_log: dict[tuple[str, int], list[tuple[datetime, float, str]]] = defaultdict(list)
    for r in good:
        sid = ids[r.key]
        peers = peers_of[r.key[0]].get(sid) if r.key[0] in young else None
        hold = plausibility.judge(r.value, ceilings.get(sid), peers)
        if hold is None:
            keep.append(r)
        else:
            held_log[(r.key[0], sid)].append((r.time, hold.ratio, f"{hold.basis} yardstick {hold.yardstick:.6g}"))
            # Kept with the series it would have gone to, so that a missing-report alert on that
            # series can say where its data are (`held_counts`).
            # With what a resubmission "as is" needs: the value in the indicator's unit.
            held.append(RejectedRow({"series_id": sid, "indicator": r.key[0], "entity_kind": r.key[1],
                                     "entity_code": r.origin.entity_code if r.origin is not None else "",
                                     "time": r.time.isoformat(), "value": r.value,
                                     "unit": indicators[r.key[0]][0],
                                     "record": _raw(r.origin) if r.origin is not None else None},
                                    plausibility.hold_reason(r.value, indicators[r.key[0]][0])))
    _log_per_series("held", held_log)
    held += _withdraw_implausible(session, good, ids, indicators, ceilings, since, tz, source)
    return keep, held


def _log_per_series(what: str, found: dict[tuple[str, int], list[tuple[datetime, float, str]]]) -> None:
    """One log line per series, not per value: a mix-up in a backfill is hundreds of values."""
    for (code, sid), items in found.items():
        times = sorted(t for t, _, _ in items)
        ratios = [ratio for _, ratio, _ in items]
        log.info("%s %d value(s) of %s series %d, %s .. %s: %.0f-%.0fx the %s", what, len(items), code, sid,
                 times[0].isoformat(), times[-1].isoformat(), min(ratios), max(ratios), items[-1][2])


def _withdraw_implausible(session: Session, good: list[ResolvedRow], ids: dict[SeriesKey, int],
                          indicators: dict[str, tuple[str, str]], ceilings: dict[int, plausibility.Ceiling],
                          since: date, tz: str, source: str) -> list[RejectedRow]:
    """Take out of the store, into the quarantine, what the hold would hold now among the
    values this feed stored for the batch's series (`plausibility.withdraw_limit`): a mix-up
    stored while its series had no days of its own to be judged by (a backfill that starts
    with the newest day, judged against peers the slip stayed under) is withdrawn once it
    has. Values other paths stored (a file import, as given) and values a person resubmitted
    are left alone."""
    out: list[RejectedRow] = []
    withdrawn_log: dict[tuple[str, int], list[tuple[datetime, float, str]]] = defaultdict(list)
    by_table: dict[obs_repo.Table, dict[int, float]] = defaultdict(dict)
    about: dict[int, ResolvedRow] = {}
    for r in good:
        sid = ids[r.key]
        limit = plausibility.withdraw_limit(ceilings.get(sid))
        if limit is not None:
            by_table[r.table][sid] = limit
            about[sid] = r
    for table, limits in by_table.items():
        days = obs_repo.days_reaching(session, limits, since)
        if not days:  # the common case: one cheap rollup read, nothing more
            continue
        keep = repo.resolved_points(session, sorted({sid for sid, _ in days}))
        for sid, t, value in obs_repo.withdraw_at_or_above(session, table, days, limits, tz, source, keep):
            r = about[sid]
            withdrawn_log[(r.key[0], sid)].append((t, value / limits[sid] * plausibility.HOLD_FACTOR,
                                                   "own yardstick"))
            out.append(RejectedRow({"series_id": sid, "indicator": r.key[0], "entity_kind": r.key[1],
                                    "entity_code": r.origin.entity_code if r.origin is not None else "",
                                    "time": t.isoformat(), "value": value, "unit": indicators[r.key[0]][0],
                                    "withdrawn": True},
                                   plausibility.hold_reason(value, indicators[r.key[0]][0])))
    _log_per_series("withdrew", withdrawn_log)
    return out


def held_counts(session: Session, series_ids: Sequence[int]) -> dict[int, int]:
    """How many values of each series are held in the quarantine (open) as suspected unit mix-ups."""
    return repo.held_counts(session, series_ids)


LONG_HEADER = ("indicator", "entity_kind", "entity_code", "time", "value", "unit")


def import_long_csv(session: Session, *, source: str, batch_id: str, data: bytes, now: datetime, tz: str
                    ) -> StoreResult:
    """Store a long file (`indicator,entity_kind,entity_code,time,value,unit`, UTF-8, ISO 8601
    times with an offset) in the caller's transaction, with exactly the results of
    `parse_long_csv` + `store_batch` (same rows stored, same revisions and rollups, same
    rejected rows and reasons), but without taking the good rows through Python:

    1. the file's text is COPYed as-is into a session-local table (text columns);
    2. codes, units and times are resolved once per distinct value in SQL, against the same
       lookups `store_batch` uses (entities, indicators, unit factors computed by
       `conversion_factor`), and the good rows are staged with their series and value in
       the indicator's unit;
    3. only the rows SQL could not place (malformed, unknown codes, other units, exotic
       time or number spellings) go through the Python parser and resolver, which decides
       each of them exactly as the row-by-row path does: rejected with its reason into the
       quarantine, or staged;
    4. missing series are created in one statement, and the staged rows go through the
       write path (`observations.repository.write_staged`: new points inserted, existing
       ones compared and revised, rollups merged).

    Files the COPY cannot take cell for cell (quoted cells, a row with another number of
    cells than 6) are stored by the row-by-row path instead: same results, slower. Raises
    PayloadError when the file is not UTF-8, holds NUL bytes or its header is wrong.
    """
    try:
        text_ = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"文件不是 UTF-8 编码 / the file is not UTF-8: {exc}") from exc
    if "\x00" in text_:  # PostgreSQL text cannot hold it, not even in the quarantine
        raise PayloadError("文件含 NUL 字节 / the file contains NUL bytes: not a text file")
    if "\r" in text_:  # as Python's universal newlines read it
        text_ = text_.replace("\r\n", "\n").replace("\r", "\n")
    first, _, body = text_.partition("\n")
    if any(c in text_ for c in ('"', "\x02")) or "\\." in body:
        return _import_row_by_row(session, source=source, batch_id=batch_id, text_=text_, now=now, tz=tz)
    header = tuple(h.strip() for h in first.split(","))
    if header != LONG_HEADER:
        raise PayloadError(f"CSV 表头不符 / expected header {','.join(LONG_HEADER)}, got {header}")
    try:
        with session.begin_nested():
            fast = _import_columns(session, source=source, batch_id=batch_id, body=body, now=now, tz=tz)
    except (psycopg.errors.UniqueViolation, NotColumnar):  # a point stored already, or twice in the file,
        fast = None  # or a line of another shape: the staged path merges, or says which line is wrong
    if fast is not None:
        return fast
    repo.bulk_prepare(session)
    lines = repo.bulk_copy_csv(session, body.encode()) if body else 0
    if lines is None:  # some row has another number of cells: let the parser say which
        return _import_row_by_row(session, source=source, batch_id=batch_id, text_=text_, now=now, tz=tz)
    inds = repo.indicators(session)
    units = catalogue_repo.unit_table(session)
    factors: dict[tuple[str, str], float] = {}
    for target in {u for u, _ in inds.values()}:
        for name in units:
            with contextlib.suppress(UnitError):  # other dimension: never a match
                factors[(name, target)] = conversion_factor(units, name, target)
    repo.bulk_resolve_keys(session, indicators={c: (u, table_for_frequency(f)) for c, (u, f) in inds.items()},
                           factors=factors)
    try:
        with session.begin_nested():
            staged = repo.bulk_stage_good(session, source=source, careful=False)
    except DBAPIError as exc:
        if not isinstance(exc.orig, psycopg.DataError):  # SQLSTATE class 22
            raise
        staged = repo.bulk_stage_good(session, source=source, careful=True)  # a value that is not a plain number
    bad: list[RejectedRow] = []
    tables, unplaced = repo.bulk_key_summary(session)
    if staged < lines:
        bad, placed_in = _place_unstaged(session, source, repo.bulk_unstaged(session), inds, units)
        tables |= placed_in
    if unplaced:
        repo.bulk_create_series(session)
    inserted = updated = unchanged = 0
    latest: datetime | None = None
    obs_repo.prepare_stage(session)
    for table in obs_repo.TABLES:
        if table not in tables:
            continue
        stage = "bulk_stage" if len(tables) == 1 else f"(SELECT * FROM bulk_stage WHERE tbl = '{table}')"
        res = obs_repo.write_staged(session, table, tz, stage=stage)
        inserted, updated = inserted + res.inserted, updated + res.updated
        unchanged += res.unchanged + res.duplicates_in_batch
        if res.latest_at is not None and (latest is None or res.latest_at > latest):
            latest = res.latest_at
    new = quarantine(session, source=source, batch_id=batch_id, rows=bad, now=now)
    if repo.get_source(session, source) is not None:
        repo.record_success(session, source, now=now, watermark=None, latest_data=latest,
                            stored=inserted + updated, rejected=len(bad))
    return StoreResult(received=lines, inserted=inserted, updated=updated, unchanged=unchanged, rejected=len(bad),
                       quarantined_new=new, latest_data_at=latest)


class NotColumnar(Exception):
    """A long file the column-wise fast path cannot read (a line without six cells)."""


_FIRST_PIECE, _PIECE = 1 << 20, 5 << 20  # characters: the first piece small, so that the server starts soon;
# then few COPY statements, each of which costs the hypertable some set-up


def _import_columns(session: Session, *, source: str, batch_id: str, body: str, now: datetime, tz: str
                    ) -> StoreResult | None:
    """The fast path of `import_long_csv`, for a file of new points. The body is read
    column-wise in Python (`columns.py`), piece by piece; each distinct key and time is
    resolved once; each piece's points go into the hypertable with a binary COPY that the
    server runs while the next piece is read, and the daily buckets are merged from
    aggregates computed on the client (`observations.repository.NewPointWriter`). Rows the
    columns cannot take as they stand are decided one by one by the row parser and resolver,
    exactly as on the row-by-row path.

    Raises NotColumnar when some line has not exactly six cells, and
    psycopg.errors.UniqueViolation when a point is stored already or comes twice in the file:
    the caller runs this in a savepoint, rolls back to it and takes the staged path (which
    merges, and says which line is wrong). Returns None for an empty body."""
    from ingest.sources.parsers import parse_long_record

    lines = body[:-1] if body.endswith("\n") else body
    if not lines:
        return None
    zone = ZoneInfo(tz)
    inds = repo.indicators(session)
    units = catalogue_repo.unit_table(session)
    entities = repo.entity_ids(session)
    resolve = _resolver(entities, inds, units)
    place = _placer(entities, inds, units)
    known_keys: dict[tuple[str, ...], tuple[SeriesKey, float, int] | None] = {}
    known_times: dict[str, tuple[int, int] | None] = {}

    def placed_key(key: tuple[str, ...]) -> tuple[SeriesKey, float, int] | None:
        """`place` of a file key with the table as its index in TABLES; None if the resolver
        would reject its rows. Once per distinct key of the file."""
        if key not in known_keys:
            where = place(*key)
            known_keys[key] = None if isinstance(where, str) else (where[0], where[1], obs_repo.TABLES.index(where[2]))
        return known_keys[key]

    # Series keys are numbered as first met; their ids (-1: not known yet) are looked up when
    # the first piece is read, while no COPY is in flight. Rows of series that turn up later
    # and do not exist yet wait until every piece is in: then they are created in one go.
    skey_no: dict[SeriesKey, int] = {}
    skey_id: list[int] = []

    def numbered(key: SeriesKey) -> int:
        no = skey_no.get(key)
        if no is None:
            no = skey_no[key] = len(skey_id)
            skey_id.append(-1)
        return no

    received = 0
    parse_bad: list[RejectedRow] = []
    resolve_bad: list[RejectedRow] = []
    waiting: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    with columns.gc_paused(), obs_repo.NewPointWriter(session, source) as writer:

        def send(sid: np.ndarray, tus: np.ndarray, value: np.ndarray, day: np.ndarray, table: np.ndarray) -> None:
            for t, name in enumerate(obs_repo.TABLES):
                sel = table == t
                if sel.any():
                    writer.send(name, sid[sel], tus[sel], value[sel], day[sel])

        for n_piece, piece in enumerate(columns.pieces(lines, _FIRST_PIECE, _PIECE)):
            if not columns.six_cells_each(piece):
                raise NotColumnar
            cols = columns.split_columns(piece)
            received += len(cols)
            key_of_row, keys = columns.factorize_rows(cols.indicator, cols.entity_kind, cols.entity_code, cols.unit)
            time_of_row, times = columns.factorize(cols.time)
            values = columns.read_values(cols.value)
            placed_keys = [placed_key(k) for k in keys]
            new_times = [t for t in times if t not in known_times]
            if new_times:
                known_times.update(columns.read_times(new_times, zone))
            read = [known_times[t] for t in times]
            good = (np.array([p is not None for p in placed_keys], bool)[key_of_row]
                    & np.array([r is not None for r in read], bool)[time_of_row] & (values >= 0) & (values < np.inf))

            # The rows the columns could not take: the row parser and resolver decide each of them.
            placed: list[tuple[int, ResolvedRow]] = []
            for i in np.flatnonzero(~good).tolist():
                parsed = parse_long_record(cols.cells(i))
                if isinstance(parsed, RejectedRow):
                    parse_bad.append(parsed)
                    continue
                res = resolve(parsed)
                if isinstance(res, RejectedRow):
                    resolve_bad.append(res)
                else:
                    placed.append((i, res))

            rows = np.flatnonzero(good)
            k_rows, t_rows = key_of_row[rows], time_of_row[rows]
            used = set(np.unique(k_rows).tolist())  # a key all of whose rows were rejected gets no series
            key_ski = np.array([numbered(p[0]) if p is not None and k in used else 0
                                for k, p in enumerate(placed_keys)], np.int64)
            key_factor = np.array([np.nan if p is None else p[1] for p in placed_keys], np.float64)
            key_table = np.array([0 if p is None else p[2] for p in placed_keys], np.int64)
            ski = key_ski[k_rows]
            tus = np.array([r[0] if r else 0 for r in read], np.int64)[t_rows]
            day = np.array([r[1] if r else 0 for r in read], np.int64)[t_rows]
            value, table = values[rows] * key_factor[k_rows], key_table[k_rows]
            if placed:  # back in their place in the file, so that sums add in delivery order
                extra = [(i, numbered(r.key), *columns.instant(r.time, zone), r.value, obs_repo.TABLES.index(r.table))
                         for i, r in placed]
                order = np.argsort(np.concatenate((rows, np.array([e[0] for e in extra], np.int64))), kind="stable")
                ski, tus, day, value, table = (
                    np.concatenate((a, np.array([e[j] for e in extra], a.dtype)))[order]
                    for j, a in ((1, ski), (2, tus), (3, day), (4, value), (5, table)))
            if n_piece == 0:  # nothing in flight yet: every series of these indicators, and the new ones
                wanted = {skey for skey, no in skey_no.items() if skey_id[no] < 0}
                found = obs_repo.series_of_indicators(session, {(k[0], k[1]) for k in wanted})
                found.update(obs_repo.ensure_series(session, wanted - found.keys()))
                for skey, sid in found.items():
                    if skey in skey_no:
                        skey_id[skey_no[skey]] = sid
                    else:
                        skey_id.append(sid)
                        skey_no[skey] = len(skey_id) - 1
            sid = np.array(skey_id, np.int64)[ski]
            later = sid < 0
            if later.any():
                waiting.append((ski[later], tus[later], value[later], day[later], table[later]))
                now_ = ~later
                sid, tus, value, day, table = sid[now_], tus[now_], value[now_], day[now_], table[now_]
            send(sid, tus, value, day, table)
        if waiting:
            writer.wait()  # the session is free: create the series that turned up after the first piece
            missing = [skey for skey, no in skey_no.items() if skey_id[no] < 0]
            for skey, sid in obs_repo.ensure_series(session, missing).items():
                skey_id[skey_no[skey]] = sid
            for ski, tus, value, day, table in waiting:
                send(np.array(skey_id, np.int64)[ski], tus, value, day, table)
        stored = writer.finish()
    inserted = sum(r.inserted for r in stored.values())
    latest = max((r.latest_at for r in stored.values() if r.latest_at is not None), default=None)
    bad = parse_bad + resolve_bad
    new = quarantine(session, source=source, batch_id=batch_id, rows=bad, now=now)
    if repo.get_source(session, source) is not None:
        repo.record_success(session, source, now=now, watermark=None, latest_data=latest, stored=inserted,
                            rejected=len(bad))
    return StoreResult(received=received, inserted=inserted, updated=0, unchanged=0, rejected=len(bad),
                       quarantined_new=new, latest_data_at=latest)


def _import_row_by_row(session: Session, *, source: str, batch_id: str, text_: str, now: datetime, tz: str
                       ) -> StoreResult:
    from ingest.sources.parsers import parse_long_csv

    try:
        parsed = parse_long_csv(text_)
    except csv.Error as exc:  # e.g. a NUL byte, or a quoted cell left open
        raise PayloadError(f"CSV 无法解析 / the file is not readable CSV: {exc}") from exc
    return store_batch(session, source=source, batch_id=batch_id, rows=parsed.rows, rejected=parsed.rejected,
                       now=now, tz=tz)


def _place_unstaged(session: Session, source: str, rows: list[tuple[int, list[str]]],
                    inds: dict[str, tuple[str, str]], units: dict[str, tuple[str, float]]
                    ) -> tuple[list[RejectedRow], set[str]]:
    """Decide the rows SQL left over with the row-by-row parser and resolver: stage the good
    ones (in their place in the file); return the rejected ones with their reasons, and the
    tables of the staged ones."""
    from ingest.sources.parsers import parse_long_record

    parsed: list[tuple[int, ParsedRow]] = []
    bad: list[RejectedRow] = []
    for seq, cells in rows:
        r = parse_long_record(cells)
        if isinstance(r, RejectedRow):
            bad.append(r)
        else:
            parsed.append((seq, r))
    if not parsed:
        return bad, set()
    resolve = _resolver(repo.entity_ids(session), inds, units)
    placed: list[tuple[int, ResolvedRow]] = []
    for seq, r in parsed:
        res = resolve(r)
        if isinstance(res, RejectedRow):
            bad.append(res)
        else:
            placed.append((seq, res))
    if placed:
        ids = obs_repo.ensure_series(session, {r.key for _, r in placed})
        repo.bulk_stage_rows(session, [(seq, ids[r.key], r.time, r.value, source, r.table) for seq, r in placed])
    return bad, {r.table for _, r in placed}


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
                    offset: int = 0, batch: str | None = None, reason: str | None = None,
                    seen_from: datetime | None = None, seen_to: datetime | None = None,
                    ) -> tuple[int, list[QuarantineRow]]:
    """Quarantined rows, most recently seen first; `reason` matches a substring (any case),
    `seen_from`/`seen_to` bound `last_seen_at` (from inclusive, to exclusive)."""
    return repo.list_quarantine(session, source_name=source, status=status, limit=limit, offset=offset,
                                batch_id=batch, reason=reason, seen_from=seen_from, seen_to=seen_to)


class CorrectionRejected(ValueError):
    """A corrected row that the store would reject too; the message is the reason."""


def resubmit_quarantine(session: Session, row_id: int, *, row: ParsedRow, by: str, note: str | None, now: datetime,
                        tz: str) -> tuple[QuarantineRow, StoreResult]:
    """Store a corrected version of a quarantined row through the normal store (same rules:
    resolution, unit conversion, revisions, rollups) under the row's source, and mark the
    quarantined row resolved. Raises CorrectionRejected (nothing stored) when the correction
    would be rejected too, QuarantineNotFound for an unknown id."""
    q = repo.get_quarantine(session, row_id)
    if q is None:
        raise QuarantineNotFound(row_id)
    good, bad = resolve_rows([row], repo.entity_ids(session), repo.indicators(session),
                             catalogue_repo.unit_table(session))
    if bad:
        raise CorrectionRejected(bad[0].reason)
    res = store_batch(session, source=q.source_name, batch_id=f"resubmit-{row_id}", rows=[row], rejected=[],
                      now=now, tz=tz)
    text_ = f"resubmitted ({'stored' if res.stored else 'unchanged'})" + (f": {note}" if note else "")
    return review_quarantine(session, row_id, status="resolved", by=by, note=text_, now=now), res


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


def claim_lease(session: Session, source: str, holder: str, now: datetime, ttl_s: float,
                holder_is_dead: Callable[[str], bool] | None = None) -> bool:
    """Take the source's lease when it is free, expired or ours; with `holder_is_dead`, also
    when its holder is known to be gone (a worker killed mid-run on this machine), instead of
    waiting for the lease to expire."""
    expires = now + timedelta(seconds=ttl_s)
    if repo.claim_lease(session, source, holder, now, expires):
        return True
    if holder_is_dead is None:
        return False
    current = repo.lease_holder(session, source, now)
    return current is not None and holder_is_dead(current) and repo.take_over_lease(
        session, source, current, holder, now, expires)


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


def prune_job_runs(session: Session, now: datetime, keep_days: int) -> int:
    """Delete ingest_job_run rows that started more than `keep_days` ago (runs still marked
    running are kept whatever their age, so a stuck run stays visible). Returns how many."""
    if keep_days < 1:
        raise ValueError("keep_days must be at least 1")
    return repo.delete_runs_before(session, now - timedelta(days=keep_days))


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
