"""`yunjian bulk-import FILE --source NAME`: store a long CSV file of values."""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import click


@click.command("bulk-import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", "source_name", default="bulk", show_default=True,
              help="Source name recorded on every value and quarantined row.")
@click.option("--batch-id", help="Batch id for the quarantine (default: a new one).")
def bulk_import_command(file: Path, source_name: str, batch_id: str | None) -> None:
    """Import a long CSV file (indicator,entity_kind,entity_code,time,value,unit; UTF-8; ISO 8601
    times with an offset) in one transaction. Idempotent: a repeated file stores nothing, a
    corrected value becomes a new revision; malformed rows go to the quarantine with reasons."""
    from backend.config import get_settings
    from backend.db import make_engine, make_session_factory, transaction
    from backend.ingestion.batch import PayloadError
    from backend.ingestion.service import import_long_csv

    settings = get_settings()
    engine = make_engine(settings.effective_database_url())
    batch = batch_id or f"{file.name[:40]}-{uuid.uuid4().hex[:8]}"
    try:
        with transaction(make_session_factory(engine)) as s:
            res = import_long_csv(s, source=source_name, batch_id=batch, data=file.read_bytes(), now=datetime.now(UTC),
                                  tz=settings.timezone)
    except PayloadError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo(f"{file.name}: {res.received} 行 / rows; 新增 / inserted {res.inserted}, 更正 / corrected "
               f"{res.updated}, 未变 / unchanged {res.unchanged}, 拒收 / rejected {res.rejected} "
               f"(batch {batch}; rejected rows are in the quarantine)")
    if res.received and res.rejected == res.received:
        sys.exit(1)
