"""The embedded, project-local PostgreSQL + TimescaleDB cluster (`yunjian db ...`).

The cluster lives under `var/` (data, socket and log), listens on a unix socket and on
127.0.0.1 at a configurable port, and is started and stopped only by these functions.
PostgreSQL refuses to run as root, so as root every server command runs as the
`postgres` system user on a data directory that user owns.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SERVER_USER = "postgres"


class ClusterError(RuntimeError):
    pass


def find_bindir(var_dir: Path) -> Path:
    """The PostgreSQL server binaries to use: $YUNJIAN_PG_BINDIR, the one recorded by
    scripts/ensure-system.sh, else the newest under /usr/lib/postgresql."""
    env = os.environ.get("YUNJIAN_PG_BINDIR")
    if env:
        return Path(env)
    recorded = var_dir / "pg_bindir"
    if recorded.is_file():
        return Path(recorded.read_text().strip())
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if candidates:
        return candidates[-1].parent
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    raise ClusterError("no PostgreSQL server binaries found; run scripts/ensure-system.sh (or `make demo`)")


def _is_root() -> bool:
    return os.geteuid() == 0


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--", *cmd] if _is_root() else cmd


def _server_user_can_use(path: Path) -> bool:
    """True when the postgres user can reach and write `path` (its parent chain is searchable)."""
    probe = path if path.exists() else path.parent
    return subprocess.run(_as_server_user(["test", "-w", str(probe), "-a", "-x", str(probe)]), check=False).returncode == 0


@dataclass(frozen=True)
class Cluster:
    """One project-local cluster. `name` separates the demo cluster from throwaway test ones."""

    var_dir: Path
    name: str = "pg"
    port: int = 54329
    timescaledb: bool = True
    database: str = "yunjian"
    user: str = "yunjian"
    fast_unsafe: bool = False  # fsync off etc.: for throwaway test clusters only

    @property
    def link(self) -> Path:
        return self.var_dir / self.name

    @property
    def data_dir(self) -> Path:
        return self.link / "data"

    @property
    def socket_dir(self) -> Path:
        return self.link / "run"

    @property
    def log_file(self) -> Path:
        return self.link / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def _pg(self, tool: str) -> str:
        return str(find_bindir(self.var_dir) / tool)

    def _run(self, cmd: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        res = subprocess.run(_as_server_user(cmd), capture_output=True, text=True, check=False)
        if check and res.returncode != 0:
            raise ClusterError(f"{' '.join(cmd)} failed:\n{res.stdout}{res.stderr}")
        return res

    def _prepare_home(self) -> None:
        """Create var/<name>, owned by the server user. If that user cannot reach the
        project folder (say, a checkout under /root), the cluster lives under
        /var/lib/yunjian and var/<name> is a link to it."""
        self.var_dir.mkdir(parents=True, exist_ok=True)
        if self.link.exists():
            return
        home = self.link
        if _is_root():
            self.var_dir.chmod(self.var_dir.stat().st_mode | 0o011)
            if not _server_user_can_use(self.var_dir):
                digest = hashlib.sha1(str(self.link.resolve()).encode()).hexdigest()[:12]
                home = Path("/var/lib/yunjian") / f"{self.name}-{digest}"
        home.mkdir(parents=True, exist_ok=True)
        if home != self.link:
            self.link.symlink_to(home)
        if _is_root():
            pw = pwd.getpwnam(SERVER_USER)
            os.chown(home, pw.pw_uid, pw.pw_gid)

    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    def init(self) -> None:
        self._prepare_home()
        if self.initialised():
            return
        self._run([self._pg("initdb"), "-D", str(self.data_dir), "-U", SERVER_USER, "--auth=trust",
                   "--encoding=UTF8", "--locale=C.UTF-8"])
        self._run(["mkdir", "-p", str(self.socket_dir)])
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "timezone": "'UTC'",
            "max_connections": "200",
            "shared_buffers": "'256MB'",
            # TimescaleDB's own job scheduler stays off: Yunjian runs retention itself
            # (the Apache edition has no policies), and idle workers would block
            # CREATE DATABASE ... TEMPLATE in the tests.
            "timescaledb.max_background_workers": "0",
            "timescaledb.telemetry_level": "off",
        }
        if self.timescaledb:
            settings["shared_preload_libraries"] = "'timescaledb'"
        if self.fast_unsafe:
            settings.update({"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"})
        conf = "\n# --- yunjian ---\n" + "\n".join(f"{k} = {v}" for k, v in settings.items()) + "\n"
        if not self.timescaledb:
            conf = "\n".join(line for line in conf.splitlines() if not line.startswith("timescaledb.")) + "\n"
        with open(self.data_dir / "postgresql.conf", "a", encoding="utf-8") as fh:
            fh.write(conf)

    def running(self) -> bool:
        if not self.initialised():
            return False
        return self._run([self._pg("pg_ctl"), "-D", str(self.data_dir), "status"], check=False).returncode == 0

    def start(self) -> None:
        """Initialise if needed, start, and make sure the app role and database exist."""
        self.init()
        if not self.running():
            self._run([self._pg("pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60", "start"])
        self._wait_ready()
        self._ensure_role_and_database()

    def stop(self) -> None:
        if self.running():
            self._run([self._pg("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])

    def destroy(self) -> None:
        self.stop()
        target = self.link.resolve() if self.link.exists() else None
        if self.link.is_symlink():
            self.link.unlink()
        if target and target.exists():
            shutil.rmtree(target)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            res = self._run([self._pg("pg_isready"), "-h", str(self.socket_dir), "-p", str(self.port)], check=False)
            if res.returncode == 0:
                return
            time.sleep(0.2)
        raise ClusterError(f"PostgreSQL did not become ready; see {self.log_file}")

    def psql(self, sql: str, database: str = "postgres") -> str:
        res = self._run([self._pg("psql"), "-h", str(self.socket_dir), "-p", str(self.port), "-U", SERVER_USER,
                         "-d", database, "-tAX", "-v", "ON_ERROR_STOP=1", "-c", sql])
        return res.stdout.strip()

    def _ensure_role_and_database(self) -> None:
        if not self.psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{self.user}'"):
            # Superuser so that migrations can CREATE EXTENSION timescaledb; this is a
            # local development cluster with trust authentication, never a production one.
            self.psql(f'CREATE ROLE "{self.user}" LOGIN SUPERUSER')
        if not self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'"):
            self.psql(f'CREATE DATABASE "{self.database}" OWNER "{self.user}"')

    def server_version(self) -> str:
        return self.psql("SHOW server_version")
