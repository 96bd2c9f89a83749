"""Which alert actions to offer a user: the alert permissions the API reports in `GET /auth/me`
(the same rule its alerts router enforces, so the page never offers what the API refuses),
narrowed by what the alert's state admits."""

from __future__ import annotations

ACTIONS = ("acknowledge", "escalate", "resolve", "close", "assign", "comment")
# The permission (as listed by /auth/me) each action needs.
PERMISSION = {"acknowledge": "alert.acknowledge", "escalate": "alert.escalate", "resolve": "alert.resolve",
              "close": "alert.close", "assign": "alert.assign", "comment": "alert.comment"}
SILENCE_PERMISSION = "alert.silence"  # silences and maintenance windows


def allowed_actions(permissions: list[str], state: str) -> frozenset[str]:
    """The actions to enable on an alert in `state` for a user holding `permissions` (pure)."""
    held = frozenset(a for a in ACTIONS if PERMISSION[a] in permissions)
    if state in ("resolved", "false_alarm"):
        return held & {"comment"}
    if state in ("acknowledged", "escalated"):
        return held - {"acknowledge"}
    return held
