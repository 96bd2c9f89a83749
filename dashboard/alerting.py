"""Pure helpers of the alert desk: filtering and sorting, names, request bodies."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from dashboard import format as fmt
from dashboard.client import Alert, AlertDetail, AlertEvent
from dashboard.i18n import TEXT, t
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
    """The request body of an alert action (pure): `text` is the note, reason,
    countermeasures or comment; `to` the position escalated to, or the department assigned."""
    if action == "acknowledge":
        return {"note": text or None}
    if action == "escalate":
        return {"targets": [to or POSITIONS[0]], "reason": text}
    if action == "resolve":
        return {"countermeasures": text}
    if action == "close":
        return {"reason": text}
    if action == "assign":
        return {"department": to}
    return {"text": text}


def fact_rows(a: AlertDetail, lang: str, unit: str) -> list[tuple[str, str]]:
    """(label, text) rows for the value and the expected band; for a meter that stopped
    reporting (no value, no band), when its last report came instead of empty rows; and,
    while a silence covers the alert, until when no mail goes out."""
    out: list[tuple[str, str]] = []
    if a.silenced_until is not None:
        out.append((t("alerts.silenced_now", lang), fmt.local_time(a.silenced_until)))
    if a.department:
        out.append((t("alerts.department", lang), a.department))
    if a.report_gap is not None and a.value is None:
        out.append((t("alerts.last_report", lang), fmt.local_time(a.report_gap.since)))
    if a.value is not None:
        out.append((t("common.value", lang), fmt.number(a.value, lang, unit)))
    if a.lower is not None or a.upper is not None:
        out.append((t("area.band", lang), f"{fmt.number(a.lower, lang)} – {fmt.number(a.upper, lang)} "
                                          f"({t('area.expected', lang)} {fmt.number(a.expected, lang, unit)})"))
    return out


def event_label(e: AlertEvent, lang: str) -> str:
    """What happened, in the reader's language: the new handling state, or the kind of event
    (with whom the system notified); an unknown kind is shown as it is."""
    if e.kind == "comment":
        return t("alerts.comment", lang)
    if e.to_state:
        return t(f"state.{e.to_state}", lang)
    key = f"event.{e.kind}"
    what = t(key, lang) if key in TEXT else e.kind
    targets = e.detail.get("targets") if e.kind == "notified" else None
    if targets:
        sep = ", " if lang == "en" else "、"
        what += (": " if lang == "en" else "：") + sep.join(t(f"position.{p}", lang) for p in targets)
    return what


SILENCE_HOURS = (2, 8, 24, 72)


def silence_body(a: Alert, kind: str, hours: float, reason: str, now: datetime) -> dict[str, Any]:
    """The request body that silences (kind `silence`: no mail) or puts under maintenance
    (kind `maintenance`: no alerts) this alert's indicator on its entity, from now for
    `hours`, within the alert's district (pure)."""
    if kind not in ("silence", "maintenance"):
        raise ValueError(f"unknown silence kind {kind!r}")
    return {"kind": kind, "starts_at": now.isoformat(), "ends_at": (now + timedelta(hours=hours)).isoformat(),
            "reason": reason, "indicator_code": a.indicator_code, "entity_kind": a.entity_kind,
            "entity_id": a.entity_id, "district_id": a.district_id, "alert_id": a.id}


def state_text(a: Alert, lang: str) -> str:
    """The handling state as the alert list shows it, marked while a silence covers it."""
    text = t(f"state.{a.state}", lang)
    return f"{text} · {t('alerts.silenced_tag', lang)}" if a.silenced_until is not None else text
