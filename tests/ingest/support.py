"""Shared helpers for ingest tests: the simulator as a real HTTP server in its own process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from backend.config import PROJECT_ROOT, Settings

TOKEN = "test-upstream-token"
SEED = 7


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Simulator:
    url: str
    port: int
    labels: Path
    process: subprocess.Popen[bytes]

    def faults(self, **kw: Any) -> dict[str, Any]:
        if kw:
            r = httpx.post(f"{self.url}/admin/faults", json=kw, timeout=5)
        else:
            r = httpx.get(f"{self.url}/admin/faults", timeout=5)
        r.raise_for_status()
        return dict(r.json())

    def reset(self) -> None:
        httpx.delete(f"{self.url}/admin/faults", timeout=5).raise_for_status()


def start_simulator(port: int, labels: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "YUNJIAN_UPSTREAM_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "backend.cli", "simulate", "--port", str(port), "--seed", str(SEED),
                             "--labels", str(labels), "--history-days", "30"], cwd=PROJECT_ROOT, env=env)


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(url)


def settings_for(database_url: str, sim: Simulator, **kw: Any) -> Settings:
    return Settings(database_url=database_url, simulator_port=sim.port, upstream_token=TOKEN,
                    ingest_http_timeout_s=kw.pop("ingest_http_timeout_s", 3.0), **kw)
