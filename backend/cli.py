"""The `yunjian` command: everything a person runs."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from backend.config import Settings, get_settings
from backend.platform.pgcluster import Cluster


def _settings() -> Settings:
    return get_settings()


def _cluster(settings: Settings, name: str = "pg", port: int | None = None, timescaledb: bool = True,
             fast_unsafe: bool = False) -> Cluster:

    return Cluster(var_dir=settings.var_dir, name=name, port=port or settings.pg_port, timescaledb=timescaledb,
                   database=settings.pg_database, user=settings.pg_user, fast_unsafe=fast_unsafe)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def cli(verbose: bool) -> None:
    """Yunjian 运监: industrial-economy operation monitoring and dispatch."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    if not verbose:
        # A line per scheduled run (every 5 s) and per upstream request buried what an
        # operator needs in the log; failures and missed runs are still logged (WARNING+).
        for noisy in ("apscheduler.executors.default", "apscheduler.scheduler", "httpx", "mail.log"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


# --- the embedded database -------------------------------------------------------------
@cli.group()
def db() -> None:
    """The embedded project-local PostgreSQL + TimescaleDB cluster (data under var/)."""


_name = click.option("--name", default="pg", show_default=True, help="Cluster folder under var/.")
_port = click.option("--port", type=int, default=None, help="TCP port on 127.0.0.1 [default: YUNJIAN_PG_PORT].")


@db.command("start")
@_name
@_port
@click.option("--fresh", is_flag=True, help="Destroy any existing cluster of that name first.")
@click.option("--no-timescaledb", is_flag=True, help="Plain PostgreSQL (no shared_preload_libraries).")
@click.option("--fast-unsafe", is_flag=True, help="fsync off: only for throwaway test clusters.")
def db_start(name: str, port: int | None, fresh: bool, no_timescaledb: bool, fast_unsafe: bool) -> None:
    """Initialise (first time) and start the cluster; prints its URL."""
    c = _cluster(_settings(), name, port, not no_timescaledb, fast_unsafe)
    if fresh:
        c.destroy()
    c.start()
    click.echo(c.url)


@db.command("stop")
@_name
@_port
def db_stop(name: str, port: int | None) -> None:
    """Stop the cluster (fast shutdown)."""
    _cluster(_settings(), name, port).stop()


@db.command("destroy")
@_name
@_port
def db_destroy(name: str, port: int | None) -> None:
    """Stop the cluster and delete its data."""
    _cluster(_settings(), name, port).destroy()


@db.command("status")
@_name
@_port
def db_status(name: str, port: int | None) -> None:
    """Whether the cluster runs, where, and the TimescaleDB version."""
    c = _cluster(_settings(), name, port)
    if not c.running():
        click.echo(f"stopped ({c.data_dir})")
        sys.exit(3)
    ts = c.psql("SELECT coalesce((SELECT extversion FROM pg_extension WHERE extname='timescaledb'), 'absent')",
                database=c.database)
    click.echo(f"running: {c.url}  PostgreSQL {c.server_version()}  TimescaleDB {ts}  data {c.data_dir}")


# --- schema and data ---------------------------------------------------------------------
@cli.command()
@click.option("--revision", default="heads", show_default=True)
def migrate(revision: str) -> None:
    """Apply migrations up to REVISION."""
    from backend import migrate as m

    m.upgrade(_settings().effective_database_url(), revision)


@cli.command()
@click.option("--city", "city_file", type=click.Path(exists=True, path_type=Path), default=None,
              help="City reference file (districts, parks, industry groups), YAML. Default: Wuhai.")
@click.option("--enterprises", "enterprises_file", type=click.Path(exists=True, path_type=Path), default=None,
              help="Enterprises as CSV or YAML instead of the synthetic demo set.")
@click.option("--demo-contacts", is_flag=True, help="Give the demo users e-mail addresses (@wuhai.example).")
@click.option("--demo-monthly", is_flag=True,
              help="Also store the demo enterprises' monthly direct reports and district targets "
                   "(`yunjian reporting demo`).")
def seed(city_file: Path | None, enterprises_file: Path | None, demo_contacts: bool, demo_monthly: bool) -> None:
    """Load the indicator catalogue, the city registry and the demo enterprises (idempotent)."""
    from backend.db import make_engine, make_session_factory, transaction
    from backend.seed import seed as do_seed

    engine = make_engine(_settings().effective_database_url())
    with transaction(make_session_factory(engine)) as s:
        res = do_seed(s, city_file=city_file, enterprises_file=enterprises_file, demo_contacts=demo_contacts)
    click.echo(f"seeded {res.indicators} indicators, {res.enterprises} enterprises")
    if demo_monthly:
        from backend.reporting.commands import run_demo_reports

        run_demo_reports()


# --- processes ---------------------------------------------------------------------------
@cli.command()
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
@click.option("--workers", type=int, default=1, show_default=True)
def api(host: str | None, port: int | None, workers: int) -> None:
    """Serve the REST API (uvicorn)."""
    import uvicorn

    s = _settings()
    uvicorn.run("backend.main:create_app", factory=True, host=host or s.api_host, port=port or s.api_port,
                workers=workers, log_level="info")


@cli.command()
@click.option("--host", default=None, help="Listen address [default: YUNJIAN_DASHBOARD_HOST].")
@click.option("--port", type=int, default=None, help="Port [default: YUNJIAN_DASHBOARD_PORT, 8050].")
@click.option("--workers", type=int, default=2, show_default=True, envvar="YUNJIAN_DASHBOARD_WORKERS",
              help="gunicorn worker processes.")
@click.option("--threads", type=int, default=8, show_default=True, envvar="YUNJIAN_DASHBOARD_THREADS",
              help="Threads per worker.")
@click.option("--dev", is_flag=True, help="Flask's development server instead of gunicorn.")
def dashboard(host: str | None, port: int | None, workers: int, threads: int, dev: bool) -> None:
    """Serve the dashboard (Dash on gunicorn); it reads everything through the REST API (YUNJIAN_API_URL)."""
    from dashboard.server import serve

    s = _settings()
    serve(s, host or s.dashboard_host, port or s.dashboard_port, workers=workers, threads=threads, dev=dev)


@cli.command()
def ingest() -> None:
    """Run the ingest worker: the scheduler with every job in ingest/jobs.py."""
    from ingest.scheduler import run

    run(_settings())


@cli.command()
@click.option("--host", default=None, help="[default: YUNJIAN_SIMULATOR_HOST]")
@click.option("--port", type=int, default=None, help="[default: YUNJIAN_SIMULATOR_PORT, 8090]")
@click.option("--seed", type=int, default=None, help="Data seed [default: YUNJIAN_SIMULATOR_SEED].")
@click.option("--enterprises", type=int, default=None, help="Demo enterprises [default: 150, as `yunjian seed`].")
@click.option("--labels", "labels_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Incident ground truth file [default: var/simulator/labels.json].")
@click.option("--history-days", type=int, default=120, show_default=True,
              help="Labels cover this many days before now (and 7 after).")
@click.option("--labels-only", is_flag=True, help="Write the labels file and exit.")
def simulate(host: str | None, port: int | None, seed: int | None, enterprises: int | None,
             labels_path: Path | None, history_days: int, labels_only: bool) -> None:
    """Serve the simulated upstreams (power metering, coal monitoring, railway, gas, oil, road, grid dispatch)."""
    from ingest.simulator.server import serve

    s = _settings()
    serve(s, host=host or s.simulator_host, port=port or s.simulator_port,
          seed=s.simulator_seed if seed is None else seed, enterprises=enterprises or s.simulator_enterprises,
          labels_path=labels_path or s.var_dir / "simulator" / "labels.json", history_days=history_days,
          labels_only=labels_only)


@cli.command()
@click.option("--source", "source_name", required=True, help="Source name, e.g. power_metering (see docs/ingest.md).")
@click.option("--start", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M"]), required=True,
              help="First local (Beijing) day or time, inclusive.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M"]), required=True,
              help="Local day or time, exclusive.")
def backfill(source_name: str, start: Any, end: Any) -> None:
    """Fetch and store one source for a past range (idempotent; never moves the watermark back)."""
    from ingest.runner import backfill as do_backfill

    res = do_backfill(_settings(), source_name, start, end)
    click.echo(f"{res.source}: {res.status}; {res.chunks} chunks, {res.received} rows received, {res.stored} stored, "
               f"{res.unchanged} unchanged, {res.rejected} rejected" + (f"; error: {res.error}" if res.error else ""))
    if res.status != "ok":
        sys.exit(1)


@cli.command()
@click.option("--days", type=int, default=400, show_default=True, help="How far back.")
@click.option("--chunk-days", type=int, default=7, show_default=True)
def history(days: int, chunk_days: int) -> None:
    """Backfill every source for the last DAYS days, newest chunk first, so that recent
    history appears at once and 同比 follows (used by `yunjian demo`; idempotent)."""
    from ingest.runner import backfill as do_backfill
    from ingest.sources.definitions import sources_for

    s = _settings()
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    failed = 0
    for step in range(0, days, chunk_days):
        b = end - timedelta(days=step)
        a = b - timedelta(days=min(chunk_days, days - step))
        for src in sources_for(s):
            res = do_backfill(s, src.name, a, b)
            for _ in range(60):  # the live worker holds the source's lease for a moment: wait our turn
                if res.status != "skipped":
                    break
                time.sleep(1)
                res = do_backfill(s, src.name, a, b)
            failed += res.status != "ok"
        click.echo(f"[history] {a:%Y-%m-%d} .. {b:%Y-%m-%d} stored")
    sys.exit(1 if failed else 0)


@cli.command("detect-csv")
@click.option("--input", "input_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--output", "output_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
def detect_csv(input_dir: Path, output_dir: Path) -> None:
    """Run the production detector over every CSV (timestamp,value) under INPUT and write
    timestamp,anomaly_score files mirroring the tree under OUTPUT.

    Rows whose timestamp or value cannot be read score 0 and are listed; a file that
    cannot be read is listed and skipped (exit code 1), the others are still scored."""
    from backend.detection.csvrun import REPORT_NAME, run_directory

    report = run_directory(input_dir, output_dir)
    lines = report.lines()
    click.echo(f"{lines[0]} into {output_dir}")
    for line in lines[1:]:
        click.echo(line, err=True)
    if report.rejected_rows or report.rejected_files:
        click.echo(f"the full list: {output_dir / REPORT_NAME}", err=True)
    if not report.files and not report.rejected_files:
        click.echo(f"no .csv files under {input_dir}", err=True)
    sys.exit(1 if report.failed else 0)


@cli.command()
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to keep the messages [default: var/mail].")
def mailsink(host: str | None, port: int | None, folder: Path | None) -> None:
    """A local SMTP server that keeps every e-mail as an .eml file (for the demo)."""
    from backend.notifications.sink import serve

    s = _settings()
    serve(host or s.smtp_host, port or s.smtp_port, folder or s.var_dir / "mail")


@cli.command()
def demo() -> None:
    """The whole system on the embedded default, in the foreground (Ctrl-C stops all)."""
    from backend import migrate as m
    from backend.db import make_engine, make_session_factory, transaction
    from backend.platform.supervisor import Supervisor, child_env, demo_processes, yunjian_argv
    from backend.seed import seed as do_seed

    s = _settings()
    cluster = None
    if not s.database_url:
        cluster = _cluster(s)
        click.echo(f"[demo] starting the embedded PostgreSQL + TimescaleDB cluster in {cluster.link}")
        cluster.start()
    url = s.effective_database_url()
    try:
        click.echo("[demo] migrating")
        m.upgrade(url)
        engine = make_engine(url)
        with transaction(make_session_factory(engine)) as session:
            res = do_seed(session, demo_contacts=True)
        engine.dispose()
        click.echo(f"[demo] seeded {res.indicators} indicators and {res.enterprises} enterprises")
    except BaseException:
        if cluster:
            cluster.stop()
        raise
    specs = demo_processes(s)
    env = child_env(s, url)
    sup = Supervisor(specs, env, on_exit=cluster.stop if cluster else None)
    try:
        sup.start(phase=0)
        _wait_http(f"{s.simulator_url}/health", timeout_s=60)
        click.echo("[demo] fetching the last two days from the simulator before the workers start")
        if subprocess.run(yunjian_argv("history", "--days", "2", "--chunk-days", "1"), env=env).returncode:
            # The workers fetch whatever is missing on their first runs; say so and go on.
            click.echo("[demo] warning: some sources could not be fetched up front (see above); the ingest "
                       "worker will fetch them on its first runs")
        sup.start(phase=1)
    except BaseException:
        sup.stop()
        raise
    click.echo("\n[demo] Yunjian is running. Press Ctrl-C to stop everything.")
    for spec in specs:
        if spec.url:
            click.echo(f"  {spec.name:<10} {spec.url}")
    click.echo(f"  health     http://{s.api_host}:{s.api_port}/health")
    click.echo(f"  API docs   http://{s.api_host}:{s.api_port}/docs")
    click.echo(f"  mail       e-mails to leaders are kept in {s.var_dir / 'mail'} (*.eml)")
    click.echo(f"  login      {s.demo_user} / {s.demo_password}   (other demo users, same password: "
               "duty, wuda_duty, leader, city_leader, analyst, reporter, api_client)")
    click.echo(f"  database   {url}")
    sys.exit(sup.wait())


def _add_domain_commands() -> None:
    from backend.alerts.commands import alerts_group

    cli.add_command(alerts_group)
    from backend.ingestion.commands import bulk_import_command

    cli.add_command(bulk_import_command)
    from backend.reporting.commands import reporting_group
    from backend.statistics.commands import import_command

    cli.add_command(import_command)
    cli.add_command(reporting_group)


_add_domain_commands()


def _wait_http(url: str, timeout_s: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise click.ClickException(f"{url} did not answer within {timeout_s:.0f} s")
        time.sleep(0.3)


def main() -> None:
    cli(prog_name="yunjian")


if __name__ == "__main__":
    main()
