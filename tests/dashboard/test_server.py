"""`yunjian dashboard` serves the app with gunicorn (threaded workers), not Flask's
development server, and stops cleanly on SIGTERM (as `yunjian demo` and Docker stop it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

from backend.config import PROJECT_ROOT
from tests.dashboard.stack import free_port, wait_http


def test_the_dashboard_command_serves_on_gunicorn_and_stops_on_sigterm() -> None:
    port = free_port()
    env = {**os.environ, "YUNJIAN_API_URL": "http://127.0.0.1:9", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "dashboard", "--port", str(port), "--workers", "2",
                             "--threads", "4"], cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/healthz", proc)
        # Several requests at once are served (threads), and a page without login redirects.
        with httpx.Client(base_url=url) as c:
            r = c.get("/healthz")
            assert r.status_code == 200 and r.headers["server"].startswith("gunicorn")
            assert c.get("/alerts").status_code == 302
        proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        out, _ = proc.communicate(timeout=15)
        assert proc.returncode == 0 and time.monotonic() - t0 < 10
        log = out.decode()
        assert "Using worker: gthread" in log and log.count("Booting worker") == 2
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
