"""`yunjian reporting …`: completeness of a month, and loading a reporting form from a file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from backend.reporting.rules import STATUS_ZH
from backend.reporting.service import Completeness


def format_completeness(c: Completeness, show_all: bool) -> list[str]:
    counts = c.counts
    lines = [f"{c.month:%Y-%m} 报送情况 / reporting completeness (截止 / due {c.due_at.isoformat()})",
             f"应报 due {c.due}   已报 reported {counts['reported']}   迟报 late {counts['late']}   "
             f"未报 missing {counts['missing']}   待报 pending {counts['pending']}"]
    rows = c.enterprises if show_all else [e for e in c.enterprises if e.status.value in ("missing", "late")]
    if rows:
        lines.append("")
    for e in rows:
        when = e.completed_at.isoformat() if e.completed_at else "-"
        lines.append(f"{STATUS_ZH[e.status]} {e.status.value:<8} {e.uscc} {e.name_zh}  {when}"
                     + (f"  缺 missing: {', '.join(e.missing)}" if e.missing and len(e.missing) < 5 else ""))
    return lines


@click.group("reporting")
def reporting_group() -> None:
    """Enterprise direct reporting (企业直报)."""


@reporting_group.command("completeness")
@click.option("--period", required=True, help="The month, e.g. 2026-10.")
@click.option("--all", "show_all", is_flag=True, help="List every enterprise, not only late and missing ones.")
def completeness_command(period: str, show_all: bool) -> None:
    """应报 / 已报 / 迟报 / 未报 for a month, as of now."""
    from backend.config import get_settings
    from backend.db import make_engine, make_session_factory
    from backend.reporting import rules, service

    settings = get_settings()
    try:
        month = rules.month_of(period)
    except rules.ReportError as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from exc
    engine = make_engine(settings.effective_database_url())
    try:
        with make_session_factory(engine)() as session:
            c = service.completeness(session, settings, month, datetime.now(UTC))
    finally:
        engine.dispose()
    click.echo("\n".join(format_completeness(c, show_all)))


@reporting_group.command("upload")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "submitted_by", default="cli", show_default=True, help="Recorded as the submitter.")
def upload_command(file: Path, submitted_by: str) -> None:
    """Load a reporting form (CSV/XLSX, rows naming their enterprise by credit code)."""
    from backend.config import get_settings
    from backend.db import make_engine, make_session_factory, transaction
    from backend.reporting import service
    from backend.reporting.upload import UploadError
    from backend.statistics.tables import TableError

    settings = get_settings()
    engine = make_engine(settings.effective_database_url())
    try:
        with transaction(make_session_factory(engine)) as session:
            res = service.upload(session, settings, data=file.read_bytes(), file_name=file.name,
                                 submitted_by=submitted_by, now=datetime.now(UTC))
    except (UploadError, TableError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    for s in res.submissions:
        click.echo(f"enterprise {s.enterprise_id} {s.month:%Y-%m}: {s.status}, stored {len(s.stored)}, "
                   f"flags {len(s.flags)}, rejected {len(s.rejected)}")
        for f in s.flags:
            click.echo(f"  flag   {f.indicator_code}: {f.message}")
        for r in s.rejected:
            click.echo(f"  reject {r.location}: {r.reason}")
    for r in res.rejected:
        click.echo(f"reject {r.location}: {r.reason}  ({r.raw})")


def run_demo_reports(echo: bool = True) -> None:
    """Store the demo's monthly direct reports and targets (see backend/reporting/demo.py),
    one transaction per month so that a stopped run keeps what it stored and resumes."""
    from backend.config import get_settings
    from backend.db import make_engine, make_session_factory
    from backend.reporting import demo

    settings = get_settings()
    engine = make_engine(settings.effective_database_url())
    started = datetime.now(UTC)
    try:
        with make_session_factory(engine)() as session:

            def commit(month: object, res: demo.DemoResult) -> None:
                session.commit()

            res = demo.seed_demo_reports(session, settings, started, on_month=commit)
            session.commit()
            # The city's monthly statistics bulletin for the same months, through the importer.
            from backend.statistics.demo import import_demo_bulletin
            from ingest.simulator.generator import World

            world = World(seed=settings.simulator_seed, enterprises=settings.simulator_enterprises)
            stats = import_demo_bulletin(session, world, res.months, settings.timezone, datetime.now(UTC))
            session.commit()
    finally:
        engine.dispose()
    if echo:
        took = (datetime.now(UTC) - started).total_seconds()
        click.echo(f"demo monthly reports {res.months[0]:%Y-%m}..{res.months[-1]:%Y-%m}: {res.submitted} "
                   f"submissions stored ({res.already} already there), {res.flags} review flags, "
                   f"{res.confirmed} older flags confirmed, {res.targets} targets added; statistics bulletin "
                   + (f"imported ({stats.inserted} values, {stats.rejected} rejected)" if stats.imported
                      else "already imported") + f"; {took:.1f} s")


@reporting_group.command("demo")
def demo_command() -> None:
    """Store the demo's monthly direct reports (企业直报) for the demo enterprises, derived
    from the simulator's world, through the reporting path (idempotent), value-added targets
    for the current year for districts without targets, and the city's monthly statistics
    bulletin (stats.*) through the statistics importer."""
    run_demo_reports()
