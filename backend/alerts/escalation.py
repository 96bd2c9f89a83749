"""Escalation policies: who is told, when, for each warning level. Pure: no I/O.

A policy is a list of steps for one level. Each step fires once per alert, ``after_minutes``
after the alert reached that level, if its condition still holds then:

- ``always``: fire regardless (the immediate notification at minute 0);
- ``unacknowledged``: nobody has acknowledged the alert yet;
- ``unresolved``: the alert is not resolved yet (acknowledged or not).

Targets are positions: ``duty_officer`` (值班员), ``section_chief`` (科长),
``bureau_leader`` (局领导), ``city_leader`` (市政府领导, 上报市政府). A step with
``escalate`` moves the alert to the escalated state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from backend.alerts.levels import Level

POSITIONS = ("duty_officer", "section_chief", "bureau_leader", "city_leader")
POSITION_ZH = {"duty_officer": "值班员", "section_chief": "科长", "bureau_leader": "局领导",
               "city_leader": "市政府领导"}
CONDITIONS = ("always", "unacknowledged", "unresolved")


@dataclass(frozen=True)
class Step:
    after_minutes: float
    condition: str
    targets: tuple[str, ...]
    escalate: bool = False
    email: bool = True

    def __post_init__(self) -> None:
        if self.condition not in CONDITIONS:
            raise ValueError(f"unknown condition {self.condition!r}; use one of {', '.join(CONDITIONS)}")
        unknown = [t for t in self.targets if t not in POSITIONS]
        if unknown:
            raise ValueError(f"unknown target position(s) {unknown}; use {', '.join(POSITIONS)}")
        if self.after_minutes < 0:
            raise ValueError("after_minutes must be >= 0")

    def to_json(self) -> dict[str, Any]:
        return {"after_minutes": self.after_minutes, "condition": self.condition, "targets": list(self.targets),
                "escalate": self.escalate, "email": self.email}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Step:
        return cls(after_minutes=float(d["after_minutes"]), condition=str(d["condition"]),
                   targets=tuple(d["targets"]), escalate=bool(d.get("escalate", False)),
                   email=bool(d.get("email", True)))


@dataclass(frozen=True)
class Policy:
    level: Level
    steps: tuple[Step, ...]
    resolve_within_hours: float  # the alert is overdue after this

    def due_at(self, level_since: datetime) -> datetime:
        return _later(level_since, hours=self.resolve_within_hours)


def _later(t: datetime, *, minutes: float = 0.0, hours: float = 0.0) -> datetime:
    """t plus a delay; a delay beyond the calendar (a policy stored before the API bounded it)
    means never, not a crashed job."""
    try:
        return t + timedelta(minutes=minutes, hours=hours)
    except OverflowError:
        return datetime.max.replace(tzinfo=t.tzinfo)


def default_policies(city_after_hours: float = 4.0) -> dict[Level, Policy]:
    """The defaults the policy document describes; rows in alert_escalation_policy override them."""
    return {
        Level.blue: Policy(Level.blue, (), resolve_within_hours=72),
        Level.yellow: Policy(Level.yellow, (
            Step(0, "always", ("duty_officer",), email=False),
            Step(30, "unacknowledged", ("section_chief",), escalate=True),
        ), resolve_within_hours=24),
        Level.orange: Policy(Level.orange, (
            Step(0, "always", ("duty_officer", "section_chief")),
            Step(60, "unacknowledged", ("bureau_leader",), escalate=True),
        ), resolve_within_hours=12),
        Level.red: Policy(Level.red, (
            Step(0, "always", ("duty_officer", "bureau_leader")),
            Step(city_after_hours * 60, "unresolved", ("city_leader",), escalate=True),
        ), resolve_within_hours=city_after_hours),
    }


def step_key(level: Level, index: int) -> str:
    return f"{level.name}:{index}"


def due_steps(policy: Policy, level_since: datetime, now: datetime, *, acknowledged: bool, resolved: bool,
              done: Iterable[str]) -> list[tuple[str, Step]]:
    """Steps of ``policy`` that are due at ``now`` and have not fired yet, in order."""
    if resolved:
        return []
    fired = set(done)
    out: list[tuple[str, Step]] = []
    for i, s in enumerate(policy.steps):
        key = step_key(policy.level, i)
        if key in fired or now < _later(level_since, minutes=s.after_minutes):
            continue
        if s.condition == "unacknowledged" and acknowledged:
            continue
        out.append((key, s))
    return out


def overdue(due_at: datetime | None, now: datetime, resolved: bool) -> bool:
    return not resolved and due_at is not None and now > due_at


def parse_steps(raw: Sequence[Mapping[str, Any]]) -> tuple[Step, ...]:
    steps = tuple(Step.from_json(d) for d in raw)
    return tuple(sorted(steps, key=lambda s: s.after_minutes))
