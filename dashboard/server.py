"""Serving the dashboard: gunicorn with threaded workers in production (`yunjian dashboard`),
Flask's development server with `--dev`.

Each gunicorn worker builds its own app with `create_app(settings)` (nothing is shared across
processes but the API behind them): its own HTTP connection pool to the API and its own
reference-data cache. Threads serve the Dash callbacks of one worker concurrently; they spend
most of their time waiting for the API, so a few threads per worker keep a wall screen, the
Overview's refresh and a user's clicks from queueing behind one another.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from backend.config import Settings


class _Gunicorn(BaseApplication):
    def __init__(self, load_app: Callable[[], Any], options: dict[str, Any]) -> None:
        self._load_app = load_app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self._load_app()


def gunicorn_options(host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
    """The gunicorn settings of the dashboard (pure)."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        # A page renders in about a second; a minute means a worker is stuck, not busy.
        "timeout": 60,
        "graceful_timeout": 5,
        "keepalive": 5,
        "proc_name": "yunjian-dashboard",
        "errorlog": "-",
        "loglevel": "info",
        "preload_app": False,  # each worker builds its app (its own HTTP pool and caches)
        # gunicorn's control socket is one path per user: several dashboards (tests, a demo)
        # would take it from each other, and nothing here uses it.
        "control_socket_disable": True,
    }


def serve(settings: Settings, host: str, port: int, *, workers: int = 2, threads: int = 8, dev: bool = False) -> None:
    """Serve the dashboard until stopped (SIGTERM: finish requests in flight, then exit)."""
    from dashboard.app import create_app

    if dev:
        create_app(settings).run(host=host, port=port, debug=False)
        return
    _Gunicorn(lambda: create_app(settings).server, gunicorn_options(host, port, workers, threads)).run()
