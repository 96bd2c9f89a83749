"""`yunjian demo`: the whole system in the foreground, stopped cleanly on Ctrl-C / SIGTERM.

Starts the embedded cluster (unless DATABASE_URL points elsewhere), migrates, seeds, then
runs every process of the system as a child and watches them. On a signal, or when a
child dies, it stops all children (SIGTERM, then SIGKILL after a grace period) and the
cluster it started, so nothing is left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

from backend.config import Settings


@dataclass
class ProcessSpec:
    name: str
    argv: list[str]
    url: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    oneshot: bool = False  # a task that ends by itself (exit 0 is fine, not a reason to stop)
    # Phase 0 starts first; phase 1 after the demo's warm-up step (recent history stored), so
    # that the worker's first checks never see half-filled series (false 缺报 alerts).
    phase: int = 1


def yunjian_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "backend.cli", *args]


def demo_processes(settings: Settings) -> list[ProcessSpec]:
    """Every process the system has; each domain adds its own here."""
    procs = [
        ProcessSpec("api", yunjian_argv("api"), url=f"http://{settings.api_host}:{settings.api_port}", phase=0),
        # The simulated upstreams start before the worker that fetches from them.
        ProcessSpec("simulator", yunjian_argv("simulate"), url=settings.simulator_url, phase=0),
        # Alert e-mails of the demo land here (var/mail/*.eml); a real deployment sets YUNJIAN_SMTP_*.
        ProcessSpec("mailsink", yunjian_argv("mailsink"), phase=0),
        # The demo enterprises' monthly direct reports (企业直报), district targets and the city's
        # statistics bulletin, oldest month first; 1-3 min on first start (nothing waits for it),
        # two seconds once stored.
        ProcessSpec("reports", yunjian_argv("reporting", "demo"), oneshot=True, phase=0),
        ProcessSpec("ingest", yunjian_argv("ingest")),
        # History for 同比 and trends, fetched from the simulator newest first, while live data flows.
        ProcessSpec("history", yunjian_argv("history", "--days", str(settings.demo_history_days)), oneshot=True),
        ProcessSpec("dashboard", yunjian_argv("dashboard"),
                    url=f"http://{settings.dashboard_host}:{settings.dashboard_port}"),
    ]
    return procs


class Supervisor:
    def __init__(self, specs: list[ProcessSpec], env: dict[str, str], on_exit: Callable[[], None] | None = None,
                 grace_s: float = 10.0) -> None:
        self.specs = specs
        self.env = env
        self.on_exit = on_exit
        self.grace_s = grace_s
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self._stopping = False

    def _signal(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def _oneshot(self, name: str) -> bool:
        return any(s.oneshot for s in self.specs if s.name == name)

    def start(self, phase: int | None = None) -> None:
        """Start the processes of `phase` (all when None)."""
        for spec in self.specs:
            if phase is None or spec.phase == phase:
                self.children[spec.name] = subprocess.Popen(spec.argv, env={**self.env, **spec.env})

    def wait(self) -> int:
        signal.signal(signal.SIGINT, self._signal)
        signal.signal(signal.SIGTERM, self._signal)
        rc = 0
        while not self._stopping:
            for name, proc in self.children.items():
                code = proc.poll()
                if code == 0 and self._oneshot(name):
                    continue
                if code is not None:
                    print(f"[demo] {name} exited with {code}; stopping everything", file=sys.stderr)
                    self._stopping, rc = True, code or 1
                    break
            time.sleep(0.3)
        self.stop()
        return rc

    def stop(self) -> None:
        for proc in self.children.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + self.grace_s
        for proc in self.children.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.on_exit:
            self.on_exit()


def child_env(settings: Settings, database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
