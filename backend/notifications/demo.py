"""How the demo users are reached (created by `yunjian seed`, never overwritten): each gets
an address @wuhai.example, a position on the escalation path, and a language; the demo's
mail sink (`yunjian mailsink`) receives everything."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.notifications import repository as repo

# username: (position, language, lowest level mailed, daily digest)
DEMO_CONTACTS: dict[str, tuple[str, str, str, bool]] = {
    "duty": ("duty_officer", "zh", "blue", False),
    "wuda_duty": ("duty_officer", "zh", "blue", False),
    "hainan_duty": ("duty_officer", "zh", "blue", False),
    "analyst": ("section_chief", "en", "yellow", False),
    "leader": ("bureau_leader", "zh", "orange", True),
    "city_leader": ("city_leader", "zh", "red", True),
}


def seed_contacts(session: Session) -> int:
    """Add a contact for each demo user that has none; returns how many were added."""
    added = 0
    users: dict[str, int] = {name: uid for name, uid in session.execute(
        select(User.username, User.id).where(User.username.in_(DEMO_CONTACTS)))}
    for username, (position, language, min_level, digest) in DEMO_CONTACTS.items():
        user_id = users.get(username)
        if user_id is None or repo.get_contact(session, user_id) is not None:
            continue
        repo.upsert_contact(session, {"user_id": user_id, "email": f"{username}@wuhai.example", "language": language,
                                      "position": position, "min_level": min_level, "daily_digest": digest})
        added += 1
    return added
