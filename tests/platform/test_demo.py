"""`yunjian demo` brings the whole system up and Ctrl-C leaves no process behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from backend.config import PROJECT_ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _descendants(pid: int) -> set[int]:
    out: set[int] = set()
    todo = [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            for child in task.read_text().split():
                out.add(int(child))
                todo.append(int(child))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_demo_serves_a_healthy_system_and_ctrl_c_stops_every_process(fresh_database_url: str, tmp_path: Path):
    api_port = _free_port()
    env = {**os.environ, "DATABASE_URL": fresh_database_url, "YUNJIAN_API_PORT": str(api_port),
           "YUNJIAN_DASHBOARD_PORT": str(_free_port()), "YUNJIAN_SIMULATOR_PORT": str(_free_port()),
           "YUNJIAN_SMTP_PORT": str(_free_port()), "YUNJIAN_DEMO_HISTORY_DAYS": "2",
           "YUNJIAN_VAR_DIR": str(tmp_path)}
    log = (tmp_path / "demo.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "demo"], cwd=PROJECT_ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        body: dict[str, object] = {}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                body = httpx.get(f"http://127.0.0.1:{api_port}/health", timeout=2).json()
                workers = {w["name"] for w in body.get("workers", [])}  # type: ignore[union-attr]
                if body.get("status") == "ok" and "ingest" in workers:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        assert body.get("status") == "ok", (tmp_path / "demo.log").read_text()
        assert body["migrations_at_head"] is True
        children = _descendants(proc.pid)
        assert len(children) >= 5  # api, simulator, mailsink, ingest, dashboard (+ history while it runs)
    finally:
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=60)
        log.close()
    assert rc == 0
    time.sleep(0.5)
    assert [p for p in children if _alive(p)] == []
