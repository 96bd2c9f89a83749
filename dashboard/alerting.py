"""Pure helpers of the alert desk: filtering and sorting, names, request bodies."""

from __future__ import annotations

from typing import Any

from dashboard import views
from dashboard.client import Alert
from dashboard.i18n import name, t
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


def entity_name(a: Alert, r: views.Refs, lang: str, enterprises: dict[int, str] | None = None) -> str:
    """A readable name for the alert's entity (district and park names from the registry,
    enterprise names from `enterprises`)."""
    named = a.entity_name_en if lang == "en" and a.entity_name_en else a.entity_name_zh
    if named:
        return named
    if a.entity_kind == "enterprise" and enterprises and a.entity_id in enterprises:
        return enterprises[a.entity_id]
    if a.entity_kind == "district":
        d = r.district_by_id(a.entity_id)
        return name(d, lang) if d else str(a.entity_id)
    if a.entity_kind == "park":
        p = next((p for p in r.parks if p.id == a.entity_id), None)
        return name(p, lang) if p else str(a.entity_id)
    if a.entity_kind == "city":
        return t("common.city", lang)
    return f"#{a.entity_id}"


def action_body(action: str, text: str, to: str) -> dict[str, Any]:
    """The request body of an alert action (pure)."""
    if action == "acknowledge":
        return {"note": text or None}
    if action == "escalate":
        return {"targets": [to or POSITIONS[0]], "reason": text}
    if action == "resolve":
        return {"countermeasures": text}
    return {"text": text}
