"""Running the simulator: write the labels file, then serve with uvicorn."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from backend.config import Settings
from ingest.simulator.app import create_app, label_window, write_labels
from ingest.simulator.generator import World

log = logging.getLogger("yunjian.simulator")


def serve(settings: Settings, *, host: str, port: int, seed: int, enterprises: int, labels_path: Path,
          history_days: int, labels_only: bool = False) -> None:
    import uvicorn

    world = World(seed=seed, enterprises=enterprises)
    labels_path.parent.mkdir(parents=True, exist_ok=True)
    start, end = label_window(datetime.now(UTC), history_days)
    n = write_labels(world, str(labels_path), start, end)
    log.info("simulator: seed %d, %d enterprises, %d series; %d incidents written to %s",
             seed, enterprises, len(world.series), n, labels_path)
    if labels_only:
        return
    uvicorn.run(create_app(world, settings.upstream_token), host=host, port=port, log_level="warning",
                access_log=False)
