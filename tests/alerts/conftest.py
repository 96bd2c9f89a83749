"""Fixtures for alert and notification tests: a real SMTP server (aiosmtpd) that can be taken
down and brought back, users with notification contacts, and synthetic 15-minute series."""

from __future__ import annotations

import math
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.notifications import repository as notifications_repo
from backend.notifications import service as notifications_service
from backend.notifications.smtp import SmtpConfig
from backend.observations import repository as obs_repo
from tests.api.support import app, client  # noqa: F401  (the API fixtures, for test_api)

TZ = ZoneInfo("Asia/Shanghai")
STEP = timedelta(minutes=15)


class _Handler:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        raw = envelope.original_content or envelope.content  # type: ignore[attr-defined]
        msg = message_from_bytes(raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        with self.lock:
            self.messages.append(msg)
        return "250 OK"


@dataclass
class SmtpServer:
    """A real SMTP server on a fixed local port that a test can stop and start again."""

    port: int
    handler: _Handler = field(default_factory=_Handler)
    controller: Controller | None = None

    def start(self) -> None:
        if self.controller is None:
            self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
            self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        with self.handler.lock:
            return list(self.handler.messages)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(_free_port())
    server.start()
    yield server
    server.stop()


def dispatch_config(port: int, **kw: object) -> notifications_service.DispatchConfig:
    return notifications_service.DispatchConfig(
        smtp=SmtpConfig("127.0.0.1", port, timeout_s=3.0), sender="运监 Yunjian <yunjian@wuhai.example>",
        dashboard_base_url="http://127.0.0.1:8050", tz=TZ, **kw)  # type: ignore[arg-type]


# --- people -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class People:
    duty: int
    chief: int
    bureau: int
    city: int
    other_district_duty: int
    english_bureau: int


def add_user(session: Session, username: str, role: str, email: str, *, position: str | None = None,
             language: str = "zh", district_id: int | None = None, min_level: str = "blue",
             digest: bool = False) -> int:
    u = User(username=username, display_name=username, role=role, district_id=district_id, is_active=True)
    session.add(u)
    session.flush()
    notifications_repo.upsert_contact(session, {"user_id": u.id, "email": email, "language": language,
                                                "position": position, "min_level": min_level,
                                                "daily_digest": digest, "enabled": True})
    return u.id


def add_people(session: Session, other_district_id: int) -> People:
    return People(
        duty=add_user(session, "t_duty", "duty_officer", "duty@wuhai.example", position="duty_officer"),
        chief=add_user(session, "t_chief", "leader", "chief@wuhai.example", position="section_chief"),
        bureau=add_user(session, "t_bureau", "leader", "bureau@wuhai.example", position="bureau_leader",
                        digest=True),
        city=add_user(session, "t_city", "leader", "city@wuhai.example", position="city_leader"),
        other_district_duty=add_user(session, "t_other_duty", "duty_officer", "other-duty@wuhai.example",
                                     position="duty_officer", district_id=other_district_id),
        english_bureau=add_user(session, "t_bureau_en", "leader", "bureau-en@wuhai.example",
                                position="bureau_leader", language="en"),
    )


# --- places and series --------------------------------------------------------------------------
@dataclass(frozen=True)
class Place:
    enterprise_ids: list[int]
    park_id: int
    district_id: int
    other_district_id: int


def park_with_enterprises(session: Session, n: int = 1) -> Place:
    """A park holding at least n enterprises (as of today), and another district."""
    row = session.execute(text("""
        SELECT park_id, district_id, array_agg(enterprise_id ORDER BY enterprise_id)
        FROM enterprise_version WHERE valid_to IS NULL AND park_id IS NOT NULL
        GROUP BY park_id, district_id HAVING count(*) >= :n ORDER BY count(*) DESC, park_id LIMIT 1"""),
        {"n": n}).one()
    other = session.execute(text("SELECT id FROM district WHERE id <> :d ORDER BY id LIMIT 1"),
                            {"d": row[1]}).scalar_one()
    return Place(list(row[2])[:n], row[0], row[1], other)


def series_for(session: Session, enterprise_id: int, indicator: str = "power.consumption") -> int:
    key = (indicator, "enterprise", enterprise_id)
    return obs_repo.ensure_series(session, [key])[key]


def profile(t: datetime, base: float = 1000.0) -> float:
    """A daily load curve (local time): low at night, high in the day shift."""
    local = t.astimezone(TZ)
    h = local.hour + local.minute / 60
    return base * (1.0 + 0.25 * math.sin(2 * math.pi * (h - 9) / 24))


def values(sid: int, start: datetime, n: int, *, seed: int, factor: float = 1.0, noise: float = 0.02,
           base: float = 1000.0) -> list[obs_repo.ObservationRow]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        t = start + i * STEP
        out.append(obs_repo.ObservationRow(sid, t, profile(t, base) * factor * (1 + noise * rng.standard_normal()),
                                           "test"))
    return out


def write(session: Session, rows: list[obs_repo.ObservationRow]) -> None:
    obs_repo.write_observations(session, rows, "observation", "Asia/Shanghai")


# A fixed start on a Monday, away from holidays.
START = datetime(2026, 3, 2, 0, 0, tzinfo=TZ).astimezone(UTC)
