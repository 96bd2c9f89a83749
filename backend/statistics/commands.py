"""`yunjian import FILE --mapping MAPPING [--dry-run]`: the official statistics importer."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from backend.statistics.rules import QUALITY_DERIVED
from backend.statistics.service import ImportReport


def format_report(report: ImportReport, show: int) -> list[str]:
    """The lines a person reads after an import or a dry run (Chinese first)."""
    head = "试运行，未写入 / DRY RUN, nothing stored" if report.dry_run else f"已导入 / imported: batch {report.batch_id}"
    lines = [
        f"{head}",
        f"文件 / file: {report.file_name} ({report.file_format}), sha256 {report.file_sha256[:12]}",
        f"表头行 / header rows: {report.header_rows}; 列 / columns: "
        + (", ".join(f"{k}={v}" for k, v in report.columns.items()) or "(wide)"),
        f"单元格 / cells: {report.cells}; 入库 / to store: {len(report.facts)} "
        f"(推算 / derived {report.derived}); 未公布 / not published: {report.not_published}; "
        f"忽略 / ignored: {sum(report.ignored.values())}; 拒收 / rejected: {len(report.rejections)}",
    ]
    if not report.dry_run:
        lines.append(f"写入结果 / written: inserted {report.inserted}, corrected {report.updated} "
                     f"(previous values kept as revisions), unchanged {report.unchanged}")
    if report.kept_published:
        lines.append(f"已有公布值，未用推算值覆盖 / derived values not stored over published ones: "
                     f"{report.kept_published}")
    if report.facts:
        lines.append("")
        lines.append(f"{'indicator':<32} {'entity':<16} {'month':<8} {'value':>20}  from")
        for f in sorted(report.facts, key=lambda f: (f.indicator_code, f.entity_kind, f.entity_id, f.year,
                                                     f.month))[:show]:
            src = "derived" if f.quality == QUALITY_DERIVED else f.location
            lines.append(f"{f.indicator_code:<32} {f.entity_kind + ':' + str(f.entity_id):<16} "
                         f"{f.year}-{f.month:02d}  {f.value:>20,.4f}  {src}{'  ' + f.note if f.note else ''}")
        if len(report.facts) > show:
            lines.append(f"… {len(report.facts) - show} more (--show N)")
    if report.ignored:
        lines.append("")
        lines.append("忽略 / ignored:")
        lines += [f"  {n:>5} × {reason}" for reason, n in sorted(report.ignored.items())]
    if report.rejections:
        lines.append("")
        lines.append("拒收 / rejected (kept in the quarantine with their raw content):")
        lines += [f"  {r.location:<6} {r.reason}\n         {r.raw}" for r in report.rejections]
    if report.warnings:
        lines.append("")
        lines.append("提示 / warnings:")
        lines += [f"  {w}" for w in report.warnings]
    return lines


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mapping", "mapping_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The mapping file (YAML): columns, indicators, regions. See docs/statistics-import.md.")
@click.option("--dry-run", is_flag=True, help="Show what would be stored and rejected; store nothing.")
@click.option("--show", type=int, default=200, show_default=True, help="How many values to list.")
def import_command(file: Path, mapping_file: Path, dry_run: bool, show: int) -> None:
    """Import an official statistics file (CSV in UTF-8/GBK, XLSX, XLS) into the monthly series."""
    from backend.config import get_settings
    from backend.db import make_engine, make_session_factory, transaction
    from backend.statistics.layout import LayoutError
    from backend.statistics.mapping import MappingError, load_mapping
    from backend.statistics.service import import_file
    from backend.statistics.tables import TableError

    settings = get_settings()
    try:
        mapping = load_mapping(mapping_file)
    except MappingError as exc:
        raise click.ClickException(str(exc)) from exc
    engine = make_engine(settings.effective_database_url())
    factory = make_session_factory(engine)
    try:
        if dry_run:
            with factory() as session:  # closed without commit: nothing is kept
                report = import_file(session, file.read_bytes(), file.name, mapping, tz=settings.timezone,
                                     now=datetime.now(UTC), dry_run=True)
        else:
            with transaction(factory) as session:
                report = import_file(session, file.read_bytes(), file.name, mapping, tz=settings.timezone,
                                     now=datetime.now(UTC))
    except (TableError, LayoutError, MappingError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo("\n".join(format_report(report, show)))
    if report.rejections and not report.facts:
        sys.exit(1)
