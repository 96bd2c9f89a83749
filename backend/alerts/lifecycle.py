"""The alert lifecycle (预警处置) as a state machine. Pure: no I/O.

    open ──acknowledge──> acknowledged ──escalate──> escalated ──resolve──> resolved
      │  └─────────────escalate──────────────────────^   │
      └──resolve / close as false alarm (any active state) ─> resolved | false_alarm

An escalated alert may still be acknowledged (by whoever it was escalated to) and escalated
again; resolved and false_alarm are final: a new episode of the series raises a new alert.
Resolving needs the countermeasures taken (对策建议); closing as a false alarm needs a reason.
Every transition yields a timeline entry (see `service`), so the audit trail is complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    escalated = "escalated"
    resolved = "resolved"
    false_alarm = "false_alarm"


class Action(StrEnum):
    acknowledge = "acknowledge"
    escalate = "escalate"
    resolve = "resolve"
    close_false_alarm = "close_false_alarm"
    comment = "comment"
    assign = "assign"


ACTIVE = frozenset({State.open, State.acknowledged, State.escalated})
FINAL = frozenset({State.resolved, State.false_alarm})

STATE_ZH = {State.open: "待处置", State.acknowledged: "已确认", State.escalated: "已升级",
            State.resolved: "已办结", State.false_alarm: "误报关闭"}


class TransitionError(ValueError):
    """The action is not allowed in the alert's current state (or lacks what it needs)."""


@dataclass(frozen=True)
class Transition:
    to_state: State
    acknowledges: bool = False  # sets acknowledged_at/by if not yet set


def transition(state: State, action: Action, *, already_acknowledged: bool = False, text: str | None = None
               ) -> Transition:
    """The state after ``action``; raises TransitionError when not allowed.

    ``text``: the countermeasures for resolve, the reason for a false alarm and for an
    escalation, the comment itself for comment.
    """
    if action is Action.comment:
        if not (text and text.strip()):
            raise TransitionError("a comment needs text")
        return Transition(state)
    if state in FINAL:
        raise TransitionError(f"the alert is already {state.value}; a closed alert cannot be {action.value}d")
    if action is Action.assign:
        return Transition(state)
    if action is Action.acknowledge:
        if already_acknowledged:
            raise TransitionError("the alert is already acknowledged")
        # Acknowledging an escalated alert records who took it but keeps it escalated.
        return Transition(State.escalated if state is State.escalated else State.acknowledged, acknowledges=True)
    if action is Action.escalate:
        if not (text and text.strip()):
            raise TransitionError("say why the alert is escalated")
        return Transition(State.escalated)
    if action is Action.resolve:
        if not (text and text.strip()):
            raise TransitionError("resolving needs the countermeasures taken (对策建议)")
        return Transition(State.resolved)
    if action is Action.close_false_alarm:
        if not (text and text.strip()):
            raise TransitionError("closing as a false alarm needs a reason")
        return Transition(State.false_alarm)
    raise TransitionError(f"unknown action {action!r}")  # pragma: no cover - enum is exhaustive
