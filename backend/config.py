"""Typed settings for every Yunjian process (one class, read from the environment).

Nothing is built at import: processes call `get_settings()` at start-up.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """All configuration. Environment variables use the `YUNJIAN_` prefix, except
    `DATABASE_URL`, which is read as is (the convention most tools share)."""

    model_config = SettingsConfigDict(env_prefix="YUNJIAN_", env_file=None, extra="ignore")

    # Database. Empty means: the embedded project-local cluster (see `yunjian db`).
    database_url: str = Field(default="", validation_alias="DATABASE_URL")
    var_dir: Path = PROJECT_ROOT / "var"
    pg_port: int = 54329
    pg_database: str = "yunjian"
    pg_user: str = "yunjian"

    timezone: str = "Asia/Shanghai"

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = 8050
    # Where the dashboard reaches the REST API; empty: http://{api_host}:{api_port}.
    api_url: str = ""
    dashboard_refresh_s: int = 60  # the Overview refreshes itself this often
    # Computed /series and /series/top answers kept per API process while their data is
    # unchanged (backend/aggregates/cache.py); 0 turns the cache off.
    answer_cache_mb: int = Field(default=64, ge=0)
    dashboard_cycle_s: int = 30  # the wall screen (大屏) moves to its next page this often

    # Raw high-frequency observations (15 min, hourly) older than this are dropped by
    # `drop_chunks`; daily and monthly rollups and period data are kept.
    raw_retention_days: int = 400
    retention_interval_hours: float = 6.0
    ingest_run_retention_days: int = 90  # ingest_job_run rows older than this are pruned by the retention job

    # Ingest: the upstream simulator (`yunjian simulate`) and the worker (`yunjian ingest`).
    simulator_host: str = "127.0.0.1"
    simulator_port: int = 8090
    simulator_seed: int = 1
    simulator_enterprises: int = 150
    # Base URL per upstream (power, coal, rail, gas, oil, road, dispatch); missing ones use the simulator.
    ingest_urls: dict[str, str] = Field(default_factory=dict)
    # Credential per upstream (token, API key or password); missing ones use upstream_token.
    ingest_credentials: dict[str, str] = Field(default_factory=dict)
    upstream_token: str = "yunjian-demo-upstream"
    ingest_only: str = ""  # comma-separated source names to schedule; empty: all
    ingest_interval_s: float = 0.0  # > 0 overrides every source's interval (tests, benchmarks)
    ingest_http_timeout_s: float = 10.0
    ingest_lease_ttl_s: int = 300

    # Enterprise direct reporting (企业直报): a month is due by this day of the next month
    # (local time, end of day); a value moving more than `reporting_jump_ratio` against the
    # previous month (环比), or whose electricity intensity moves more than
    # `reporting_power_ratio`, is flagged for review.
    reporting_deadline_day: int = Field(default=8, ge=1, le=28)
    reporting_jump_ratio: float = 0.5
    reporting_power_ratio: float = 0.5

    # Alerts and e-mail notifications (backend/alerts, backend/notifications).
    dashboard_base_url: str = "http://127.0.0.1:8050"  # links in e-mails: <base>/alerts/<id>
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_security: str = "none"  # none | starttls | tls (implicit TLS, usually port 465)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = "运监 Yunjian <yunjian@wuhai.example>"
    smtp_timeout_s: float = 10.0
    alerts_interval_s: float = 60.0  # evaluation of new observations
    escalation_interval_s: float = 60.0
    outbox_interval_s: float = 5.0
    digest_hour: int = 8  # local hour after which the leaders' daily digest goes out

    # Days of history `yunjian demo` fetches from the simulator at start (in the background).
    demo_history_days: int = 400
    # Demo credentials printed by `make demo`.
    demo_user: str = "admin"
    demo_password: str = "yunjian-demo"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, v: str) -> str:
        ZoneInfo(v)  # raises for an unknown zone
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def effective_api_url(self) -> str:
        return (self.api_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")

    @property
    def simulator_url(self) -> str:
        return f"http://{self.simulator_host}:{self.simulator_port}"

    def upstream_url(self, upstream: str) -> str:
        return self.ingest_urls.get(upstream, self.simulator_url).rstrip("/")

    def upstream_credential(self, upstream: str) -> str:
        return self.ingest_credentials.get(upstream, self.upstream_token)

    def effective_database_url(self) -> str:
        """The SQLAlchemy URL to use: DATABASE_URL if set, else the embedded cluster."""
        if self.database_url:
            return normalise_url(self.database_url)
        return f"postgresql+psycopg://{self.pg_user}@127.0.0.1:{self.pg_port}/{self.pg_database}"


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` / `postgres://` URLs and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
