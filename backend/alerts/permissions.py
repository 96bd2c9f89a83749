"""Who may do what with alerts (pure, no I/O).

The alerts router admits callers with `check`, and `GET /auth/me` lists `granted`, so the
permissions a client is shown and the checks the API makes come from the same table and
cannot disagree. District scope (which alerts a district officer sees) is applied separately,
per alert, by the router.
"""

from __future__ import annotations

from enum import StrEnum

from backend.auth.rules import Principal, Role


class AlertPermission(StrEnum):
    read = "alert.read"
    acknowledge = "alert.acknowledge"
    escalate = "alert.escalate"
    resolve = "alert.resolve"
    close = "alert.close"  # as a false alarm
    assign = "alert.assign"
    comment = "alert.comment"
    silence = "alert.silence"  # silences and maintenance windows
    manage_rules = "alert.manage_rules"
    manage_policies = "alert.manage_policies"
    manage_contacts = "alert.manage_contacts"


READERS = frozenset({Role.admin, Role.leader, Role.duty_officer, Role.analyst, Role.api_client})
HANDLERS = frozenset({Role.admin, Role.leader, Role.duty_officer})

ROLES: dict[AlertPermission, frozenset[Role]] = {
    AlertPermission.read: READERS,
    AlertPermission.acknowledge: HANDLERS,
    AlertPermission.escalate: HANDLERS,
    AlertPermission.resolve: HANDLERS,
    AlertPermission.close: HANDLERS,
    AlertPermission.assign: HANDLERS,
    AlertPermission.comment: HANDLERS | {Role.analyst},
    AlertPermission.silence: HANDLERS,
    AlertPermission.manage_rules: frozenset({Role.admin, Role.analyst, Role.leader}),
    AlertPermission.manage_policies: frozenset({Role.admin, Role.leader}),
    AlertPermission.manage_contacts: frozenset({Role.admin}),
}
# Everything but reading changes state, so an API key needs its `write` scope for it.
WRITES = frozenset(ROLES) - {AlertPermission.read}


def refusal(principal: Principal, permission: AlertPermission) -> str | None:
    """Why `principal` may not act under `permission`, or None when it may."""
    allowed = ROLES[permission]
    if principal.role not in allowed:
        return (f"role {principal.role.value} may not do this; allowed: "
                f"{', '.join(sorted(r.value for r in allowed))}")
    if permission in WRITES and "write" not in principal.scopes:
        return "this API key has no write scope"
    return None


def granted(principal: Principal) -> list[str]:
    """Every alert permission `principal` holds, sorted (what `GET /auth/me` reports)."""
    return sorted(p.value for p in AlertPermission if refusal(principal, p) is None)
