"""Importing an official statistics file: read -> lay out -> interpret -> derive -> store.

Good cells are stored through the observations write path (idempotent, keeps revisions);
rejected cells go to the shared quarantine with their reason and raw content; one
`import_batch` row records the counts. The caller owns the transaction (flush, never
commit). A dry run reads the database (catalogue, registry, stored values) but writes
nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from backend.catalogue import repository as catalogue_repo
from backend.ingestion import repository as ingestion_repo
from backend.observations import repository as obs_repo
from backend.statistics import repository as repo
from backend.statistics.layout import column_letter, read_layout
from backend.statistics.mapping import Mapping, MappingError
from backend.statistics.rules import QUALITY_DERIVED, Fact, IndicatorInfo, Rejection, plan_import
from backend.statistics.tables import read_table


@dataclass
class ImportReport:
    file_name: str
    file_sha256: str
    file_format: str
    header_rows: list[int]
    columns: dict[str, str]  # role -> column letter
    cells: int
    facts: list[Fact]  # what is (or would be) stored, published and derived
    rejections: list[Rejection]
    not_published: int
    ignored: dict[str, int]
    warnings: list[str] = field(default_factory=list)
    kept_published: int = 0  # derived values dropped because a published value is stored
    dry_run: bool = True
    batch_id: int | None = None
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def derived(self) -> int:
        return sum(1 for f in self.facts if f.quality == QUALITY_DERIVED)


def check_targets(mapping: Mapping, catalogue: dict[str, IndicatorInfo]) -> None:
    """Every indicator the mapping names exists and is monthly (stored in period_observation)."""
    problems = []
    for key, t in mapping.indicators.items():
        for code in (t.month, t.ytd, t.growth_month, t.growth_ytd):
            if code is None:
                continue
            if code not in catalogue:
                problems.append(f"{key}: {code} is not in the catalogue")
            elif catalogue[code].frequency != "month":
                problems.append(f"{key}: {code} is a {catalogue[code].frequency} indicator, not monthly")
    if problems:
        raise MappingError("映射中的指标有误 / mapping names bad indicators: " + "; ".join(problems))


def import_file(session: Session, data: bytes, file_name: str, mapping: Mapping, *, tz: str, now: datetime,
                dry_run: bool = False) -> ImportReport:
    """Import one statistics file. Raises TableError / LayoutError / MappingError when the
    file or mapping cannot be used at all; otherwise every cell is stored, rejected (with a
    reason) or counted as not published / ignored."""
    sha = hashlib.sha256(data).hexdigest()
    grid, file_format = read_table(data, file_name, mapping.sheet)
    table = read_layout(grid, mapping.layout)
    catalogue = repo.indicator_infos(session)
    check_targets(mapping, catalogue)
    plan = plan_import(table, mapping, catalogue, catalogue_repo.unit_table(session), repo.registry_index(session))

    report = ImportReport(
        file_name=file_name, file_sha256=sha, file_format=file_format, header_rows=table.header_rows,
        columns={role: column_letter(j) for role, j in table.roles.items()}, cells=len(table.cells), facts=[],
        rejections=plan.rejections, not_published=plan.not_published, ignored=plan.ignored,
        warnings=plan.warnings, dry_run=dry_run)

    series = obs_repo.ensure_series(session, {(f.indicator_code, f.entity_kind, f.entity_id) for f in plan.facts}) \
        if not dry_run else repo.existing_series(session, {(f.indicator_code, f.entity_kind, f.entity_id) for f in plan.facts})
    # A derived value never replaces a published one already stored (from another file).
    derived_keys = [(series[k], f.time(tz)) for f in plan.derived
                    if (k := (f.indicator_code, f.entity_kind, f.entity_id)) in series]
    stored = repo.stored_qualities(session, derived_keys)
    facts = []
    for f in plan.facts:
        sid = series.get((f.indicator_code, f.entity_kind, f.entity_id))
        if f.quality == QUALITY_DERIVED and sid is not None and stored.get((sid, f.time(tz)), 1) == 0:
            report.kept_published += 1
            continue
        facts.append(f)
    report.facts = facts
    if dry_run:
        return report

    rows = [obs_repo.ObservationRow(series[(f.indicator_code, f.entity_kind, f.entity_id)], f.time(tz), f.value,
                                    mapping.source, f.quality) for f in facts]
    res = obs_repo.write_observations(session, rows, "period_observation", tz)
    report.inserted, report.updated, report.unchanged = res.inserted, res.updated, res.unchanged
    batch = repo.add_batch(
        session, source=mapping.source, file_name=file_name, file_sha256=sha, mapping_name=mapping.name,
        file_format=file_format, started_at=now, finished_at=now, cells=len(table.cells), inserted=res.inserted,
        updated=res.updated, unchanged=res.unchanged, derived=report.derived, not_published=plan.not_published,
        ignored=sum(plan.ignored.values()), rejected=len(plan.rejections),
        summary={"ignored": plan.ignored, "warnings": plan.warnings, "header_rows": table.header_rows,
                 "columns": report.columns, "kept_published": report.kept_published})
    report.batch_id = batch.id
    quarantine_rejections(session, mapping.source, f"import:{batch.id}", file_name, sha, plan.rejections, now)
    return report


def quarantine_rejections(session: Session, source: str, batch: str, file_name: str, sha: str,
                          rejections: list[Rejection], now: datetime) -> int:
    """Keep rejected cells in the shared quarantine; the same file again adds nothing new."""
    rows = [{
        "source_name": source, "batch_id": batch,
        "raw_text": f"{file_name} {r.location}: {r.raw}",
        "raw_json": {"file": file_name, "file_sha256": sha, "location": r.location, "row": r.row, "raw": r.raw},
        "reason": r.reason,
        "content_hash": hashlib.sha256(f"{sha}|{r.location}|{r.reason}".encode()).hexdigest(),
        "received_at": now, "last_seen_at": now,
    } for r in rejections]
    return ingestion_repo.quarantine(session, rows)
