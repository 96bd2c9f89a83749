"""Pure helpers of the alert desk: filtering and sorting, names, request bodies."""

from __future__ import annotations

from typing import Any

from dashboard import format as fmt
from dashboard.client import Alert
from dashboard.theme import LEVEL_RANK

ACTIVE = ("open", "acknowledged", "escalated")
STATES = ("open", "acknowledged", "escalated", "resolved", "false_alarm")
POSITIONS = ("section_chief", "bureau_leader", "city_leader", "duty_officer")


def filter_alerts(alerts: list[Alert], astate: str) -> list[Alert]:
    """Apply the state filter ("" = still active) and sort: most severe first, newest first."""
    if astate == "":
        alerts = [a for a in alerts if a.state in ACTIVE]
    elif astate != "all":
        alerts = [a for a in alerts if a.state == astate]
    return sorted(alerts, key=lambda a: (LEVEL_RANK.get(a.level, 9), -a.opened_at.timestamp()))


def level_counts(alerts: list[Alert]) -> dict[str, int]:
    out: dict[str, int] = {}
    for a in alerts:
        out[a.level] = out.get(a.level, 0) + 1
    return out


def place_name(zh: str | None, en: str | None, lang: str) -> str:
    """A name the API gave in both languages: English where asked for and known, else Chinese."""
    return (en if lang == "en" and en else zh) or fmt.DASH


def entity_name(a: Alert, lang: str) -> str:
    """What the alert is about (乌海市, a district, a park or an enterprise), as the API names it."""
    return place_name(a.entity_name_zh, a.entity_name_en, lang) if a.entity_name_zh else f"#{a.entity_id}"


def action_body(action: str, text: str, to: str) -> dict[str, Any]:
    """The request body of an alert action (pure)."""
    if action == "acknowledge":
        return {"note": text or None}
    if action == "escalate":
        return {"targets": [to or POSITIONS[0]], "reason": text}
    if action == "resolve":
        return {"countermeasures": text}
    return {"text": text}
