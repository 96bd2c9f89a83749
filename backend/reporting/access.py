"""Pure access rules for direct reporting (on top of backend.auth's roles).

- An enterprise reporter submits and uploads for its own enterprise only; an admin may
  submit for any enterprise (entering a paper form, or a bulk upload). An API key needs the
  `write` scope to submit.
- Completeness and flags are read by city roles (all enterprises) and district officers
  (their district); a reporter reads its own enterprise's flags only.
- Flags are resolved by admins, duty officers and analysts; deadlines set by admins.
"""

from __future__ import annotations

from backend.auth.rules import Principal, Role

REVIEWERS = frozenset({Role.admin, Role.duty_officer, Role.analyst})


def may_submit(p: Principal, enterprise_id: int | None) -> bool:
    """`enterprise_id` None: an upload that names its enterprises row by row."""
    if "write" not in p.scopes:
        return False
    if p.role == Role.enterprise_reporter:
        return p.enterprise_id is not None and (enterprise_id is None or p.enterprise_id == enterprise_id)
    return p.role == Role.admin


def bound_enterprise(p: Principal) -> int | None:
    """The one enterprise a principal reports for, or None (admin: any)."""
    return p.enterprise_id if p.role == Role.enterprise_reporter else None


def may_read_completeness(p: Principal) -> bool:
    return p.role != Role.enterprise_reporter


def may_resolve_flags(p: Principal) -> bool:
    return p.role in REVIEWERS and "write" in p.scopes


def may_set_deadlines(p: Principal) -> bool:
    return p.role == Role.admin and "write" in p.scopes
