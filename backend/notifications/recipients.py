"""Who receives a notification: by position (role), district and level. Pure.

Positions map onto roles: ``duty_officer`` is any duty officer (or a contact whose position
says so); ``section_chief``, ``bureau_leader`` and ``city_leader`` are leaders whose contact
carries that position. A district officer only hears about alerts in their district;
city-wide users about every alert. A contact may ask not to be mailed below a level.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from backend.alerts.levels import Level


@dataclass(frozen=True)
class Recipient:
    user_id: int
    username: str
    display_name: str
    role: str
    district_id: int | None
    email: str
    language: str
    position: str | None
    min_level: str
    daily_digest: bool
    active: bool = True


def holds(r: Recipient, position: str) -> bool:
    if r.position is not None:
        return r.position == position
    return position == "duty_officer" and r.role == "duty_officer"


def select(recipients: Iterable[Recipient], positions: Sequence[str], district_id: int | None, level: Level
           ) -> list[Recipient]:
    """Recipients holding one of ``positions`` who may see the district and want this level."""
    out: dict[int, Recipient] = {}
    for r in recipients:
        if not r.active or not r.email:
            continue
        if not any(holds(r, p) for p in positions):
            continue
        if r.district_id is not None and r.district_id != district_id:
            continue
        if level < Level.parse(r.min_level):
            continue
        out.setdefault(r.user_id, r)
    return sorted(out.values(), key=lambda r: r.user_id)


def digest_recipients(recipients: Iterable[Recipient]) -> list[Recipient]:
    """Leaders (and anyone who asked) who take the daily digest."""
    return sorted((r for r in recipients if r.active and r.email and r.daily_digest), key=lambda r: r.user_id)
