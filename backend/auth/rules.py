"""Pure authorisation rules: roles, permissions, district scope, throttling, secrets.

No I/O here: every function is unit-tested on its own.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    leader = "leader"
    duty_officer = "duty_officer"
    analyst = "analyst"
    enterprise_reporter = "enterprise_reporter"
    api_client = "api_client"


class Permission(StrEnum):
    read = "read"  # registry, catalogue, series, aggregates, targets, leading index
    write_targets = "write_targets"
    write_index_weights = "write_index_weights"
    manage_users = "manage_users"
    read_audit = "read_audit"
    manage_own_keys = "manage_own_keys"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.admin: frozenset(Permission),
    Role.leader: frozenset({Permission.read, Permission.read_audit, Permission.write_targets}),
    Role.duty_officer: frozenset({Permission.read}),
    Role.analyst: frozenset({Permission.read, Permission.write_targets, Permission.write_index_weights,
                             Permission.manage_own_keys}),
    # An enterprise reporter reads only its own enterprise (checked by `can_see_enterprise`).
    Role.enterprise_reporter: frozenset({Permission.read}),
    Role.api_client: frozenset({Permission.read, Permission.manage_own_keys}),
}

# Permissions an API key needs the `write` scope for; everything else needs `read`.
WRITE_PERMISSIONS = frozenset({Permission.write_targets, Permission.write_index_weights, Permission.manage_users,
                               Permission.manage_own_keys})
KEY_SCOPES = ("read", "write")

SESSION_TTL = timedelta(hours=12)
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_IP = 20


@dataclass(frozen=True)
class Principal:
    """Who is calling: a logged-in human or an API key (acting for its owner user)."""

    user_id: int
    username: str
    role: Role
    district_id: int | None = None
    enterprise_id: int | None = None
    api_key_id: int | None = None
    scopes: frozenset[str] = field(default_factory=lambda: frozenset(KEY_SCOPES))

    @property
    def actor(self) -> str:
        return f"{self.username} (key {self.api_key_id})" if self.api_key_id else self.username

    @property
    def city_wide(self) -> bool:
        """City roles see everything; district officers and enterprise reporters do not."""
        return self.district_id is None and self.role != Role.enterprise_reporter


def has_permission(p: Principal, perm: Permission) -> bool:
    if perm not in ROLE_PERMISSIONS[p.role]:
        return False
    needed = "write" if perm in WRITE_PERMISSIONS else "read"
    return needed in p.scopes


def can_see_district(p: Principal, district_id: int | None) -> bool:
    """district_id None means the city as a whole."""
    if p.role == Role.enterprise_reporter:
        return False
    return p.district_id is None or p.district_id == district_id


def can_see_enterprise(p: Principal, enterprise_district_ids: set[int], enterprise_id: int) -> bool:
    """`enterprise_district_ids`: every district the enterprise has ever belonged to (a district
    officer sees an enterprise's whole history if it was ever in their district)."""
    if p.role == Role.enterprise_reporter:
        return p.enterprise_id == enterprise_id
    return p.district_id is None or p.district_id in enterprise_district_ids


def throttled(failures_for_username: int, failures_for_ip: int) -> bool:
    return failures_for_username >= MAX_FAILURES_PER_USERNAME or failures_for_ip >= MAX_FAILURES_PER_IP


def retry_after_seconds(oldest_failure_in_window: datetime | None, now: datetime) -> int:
    if oldest_failure_in_window is None:
        return int(THROTTLE_WINDOW.total_seconds())
    return max(1, int((oldest_failure_in_window + THROTTLE_WINDOW - now).total_seconds()) + 1)


def digest(secret: str) -> str:
    """SHA-256 hex of a high-entropy random secret (tokens and API keys: no salt needed,
    unlike passwords, because they cannot be guessed from a dictionary)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def new_api_key() -> tuple[str, str]:
    """(the full key, shown once; its prefix, stored in clear to recognise it)."""
    prefix = secrets.token_hex(4)
    return f"yj_{prefix}_{secrets.token_urlsafe(32)}", prefix


def key_prefix(key: str) -> str | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "yj" or len(parts[1]) != 8:
        return None
    return parts[1]
