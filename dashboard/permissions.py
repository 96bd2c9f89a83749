"""Which alert actions a role may take (what the page offers; the API enforces the same)."""

from __future__ import annotations

ACTIONS = ("acknowledge", "escalate", "resolve", "comment")
# Permission names the API may report in /auth/me, per action.
PERMISSION = {"acknowledge": "handle_alerts", "escalate": "handle_alerts", "resolve": "handle_alerts",
              "comment": "comment_alerts"}
ROLE_ACTIONS = {
    "admin": frozenset(ACTIONS),
    "leader": frozenset(ACTIONS),
    "duty_officer": frozenset(ACTIONS),
    "analyst": frozenset({"comment"}),
    "enterprise_reporter": frozenset(),
    "api_client": frozenset(),
}


def allowed_actions(role: str, permissions: list[str], state: str) -> frozenset[str]:
    """The actions to enable for a user on an alert in `state`: by the role (or by explicit
    permissions when the API reports alert permissions), and by what the state admits."""
    if any(p in permissions for p in PERMISSION.values()):
        by_role = frozenset(a for a in ACTIONS if PERMISSION[a] in permissions)
    else:
        by_role = ROLE_ACTIONS.get(role, frozenset())
    if state in ("resolved", "false_alarm"):
        return by_role & {"comment"}
    if state in ("acknowledged", "escalated"):
        return by_role - {"acknowledge"}
    return by_role
