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

    # Raw high-frequency observations (15 min, hourly) older than this are dropped by
    # `drop_chunks`; daily and monthly rollups and period data are kept.
    raw_retention_days: int = 400
    retention_interval_hours: float = 6.0

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
