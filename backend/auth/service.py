"""Authentication rules: passwords, login with throttling, sessions, API keys, users, audit.

Services flush, never commit: the request (or command) that calls them commits.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from backend.api.problems import Conflict, Forbidden, InvalidRequest, NotFound, TooManyRequests, Unauthorized
from backend.auth import repository as repo
from backend.auth import rules
from backend.auth.models import ApiKey, AuditLog, AuthSession, User
from backend.auth.rules import Principal, Role

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both paths take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


@dataclass(frozen=True)
class Origin:
    """Where a request came from, for the audit log."""

    ip: str | None = None
    user_agent: str | None = None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def principal_for(user: User) -> Principal:
    """The principal of a logged-in user (every scope: scopes narrow API keys only)."""
    return Principal(user_id=user.id, username=user.username, role=Role(user.role), district_id=user.district_id,
                     enterprise_id=user.enterprise_id, scopes=frozenset(rules.KEY_SCOPES))


def audit(session: Session, actor: Principal | None, action: str, object_type: str, object_id: object = None,
          detail: dict[str, Any] | None = None, origin: Origin | None = None, actor_name: str | None = None) -> None:
    """Record one write: who, what, when (database clock), from where."""
    origin = origin or Origin()
    repo.add_audit(session, AuditLog(
        user_id=actor.user_id if actor else None, api_key_id=actor.api_key_id if actor else None,
        actor=actor.actor if actor else (actor_name or "anonymous"), action=action, object_type=object_type,
        object_id=None if object_id is None else str(object_id), detail=detail or {}, ip=origin.ip,
        user_agent=origin.user_agent))


def login(session: Session, username: str, password: str, origin: Origin, now: datetime) -> tuple[str, User,
                                                                                                     datetime]:
    """Check the password and open a session; returns (token, user, expires_at).

    Throttling: after 5 failures for a username, or 20 from one address, within 15 minutes,
    every attempt is refused with 429 until the window has passed (a correct password too,
    so that guessing cannot continue behind the throttle)."""
    n_user, n_ip, oldest = repo.failures_since(session, username, origin.ip, now - rules.THROTTLE_WINDOW)
    if rules.throttled(n_user, n_ip):
        wait = rules.retry_after_seconds(oldest, now)
        raise TooManyRequests(f"too many failed logins; try again in {wait} s",
                              headers={"Retry-After": str(wait)})
    user = repo.get_user_by_username(session, username)
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        repo.record_attempt(session, username, origin.ip, False, now)
        audit(session, None, "auth.login_failed", "user", username, origin=origin, actor_name=username)
        raise Unauthorized("wrong username or password")
    repo.record_attempt(session, username, origin.ip, True, now)
    token = rules.new_session_token()
    expires = now + rules.SESSION_TTL
    repo.add(session, AuthSession(user_id=user.id, token_hash=rules.digest(token), expires_at=expires,
                                  created_at=now, ip=origin.ip, user_agent=origin.user_agent))
    audit(session, principal_for(user), "auth.login", "user", user.id, origin=origin)
    return token, user, expires


def logout(session: Session, token: str, principal: Principal, origin: Origin, now: datetime) -> None:
    found = repo.session_by_token_hash(session, rules.digest(token))
    if found is not None and found[0].revoked_at is None:
        found[0].revoked_at = now
        session.flush()
    audit(session, principal, "auth.logout", "user", principal.user_id, origin=origin)


def authenticate(session: Session, credential: str, now: datetime) -> Principal | None:
    """The principal for a session token or an API key, or None if it is not valid now."""
    prefix = rules.key_prefix(credential)
    found = (repo.key_credential(session, prefix) if prefix is not None
             else repo.session_credential(session, rules.digest(credential)))
    if (found is None or not hmac.compare_digest(found.secret_hash, rules.digest(credential))
            or found.revoked_at is not None or (found.expires_at is not None and found.expires_at <= now)
            or not found.user_active):
        return None
    # Only touch a key's row once a minute at most, so reads do not write on every call.
    if found.key_id is not None and (found.last_used_at is None or (now - found.last_used_at).total_seconds() > 60):
        repo.touch_api_key(session, found.key_id, now)
    return Principal(user_id=found.user_id, username=found.username, role=Role(found.role),
                     district_id=found.district_id, enterprise_id=found.enterprise_id, api_key_id=found.key_id,
                     scopes=frozenset(found.scopes if found.scopes is not None else rules.KEY_SCOPES))


def create_user(session: Session, actor: Principal | None, *, username: str, display_name: str,
                password: str | None, role: Role, district_id: int | None = None,
                enterprise_id: int | None = None, origin: Origin | None = None) -> User:
    if repo.get_user_by_username(session, username) is not None:
        raise Conflict(f"user {username!r} already exists")
    _check_role_fields(role, enterprise_id)
    if password is not None and len(password) < 8:
        raise InvalidRequest("a password needs at least 8 characters")
    user = User(username=username, display_name=display_name,
                password_hash=hash_password(password) if password else None, role=role.value,
                district_id=district_id, enterprise_id=enterprise_id, is_active=True)
    repo.add(session, user)
    audit(session, actor, "user.create", "user", user.id,
          {"username": username, "role": role.value, "district_id": district_id, "enterprise_id": enterprise_id},
          origin)
    return user


def _check_role_fields(role: Role, enterprise_id: int | None) -> None:
    if role == Role.enterprise_reporter and enterprise_id is None:
        raise InvalidRequest("an enterprise_reporter needs an enterprise_id")


def update_user(session: Session, actor: Principal, user_id: int, changes: dict[str, Any], now: datetime,
                origin: Origin) -> User:
    user = repo.get_user(session, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    if "password" in changes:
        password = changes.pop("password")
        if password is not None:
            if len(password) < 8:
                raise InvalidRequest("a password needs at least 8 characters")
            user.password_hash = hash_password(password)
            changes["password"] = "(changed)"
    for field_name in ("display_name", "role", "is_active"):
        if field_name in changes and changes[field_name] is None:
            raise InvalidRequest(f"{field_name} cannot be null: leave it out to keep it unchanged")
    for field_name in ("display_name", "role", "district_id", "enterprise_id", "is_active"):
        if field_name in changes:
            value = changes[field_name]
            setattr(user, field_name, value.value if isinstance(value, Role) else value)
    _check_role_fields(Role(user.role), user.enterprise_id)
    if user.id == actor.user_id and (user.role != Role.admin.value or not user.is_active):
        raise Forbidden("you cannot remove your own admin role or deactivate yourself")
    user.updated_at = now
    session.flush()
    audit(session, actor, "user.update", "user", user.id,
          {k: (v.value if isinstance(v, Role) else v) for k, v in changes.items()}, origin)
    return user


def create_api_key(session: Session, actor: Principal, *, owner_id: int, name: str, scopes: list[str],
                   expires_at: datetime | None, origin: Origin) -> tuple[ApiKey, str]:
    """Create a key for `owner_id` (yourself unless you are an admin); returns (row, key).
    The key itself is returned once and stored only as a hash."""
    if owner_id != actor.user_id and actor.role != Role.admin:
        raise Forbidden("only an admin can create keys for another user")
    owner = repo.get_user(session, owner_id)
    if owner is None:
        raise NotFound(f"user {owner_id} does not exist")
    bad = set(scopes) - set(rules.KEY_SCOPES)
    if bad or not scopes:
        raise InvalidRequest(f"scopes must be a non-empty subset of {list(rules.KEY_SCOPES)}")
    key, prefix = rules.new_api_key()
    row = ApiKey(user_id=owner_id, name=name, prefix=prefix, key_hash=rules.digest(key), scopes=sorted(set(scopes)),
                 expires_at=expires_at)
    repo.add(session, row)
    audit(session, actor, "api_key.create", "api_key", row.id,
          {"owner_id": owner_id, "name": name, "scopes": row.scopes, "prefix": prefix}, origin)
    return row, key


def list_api_keys(session: Session, actor: Principal, all_users: bool) -> list[ApiKey]:
    if all_users and actor.role != Role.admin:
        raise Forbidden("only an admin can list every user's keys")
    return repo.list_api_keys(session, None if all_users else actor.user_id)


def revoke_api_key(session: Session, actor: Principal, key_id: int, now: datetime, origin: Origin) -> ApiKey:
    key = repo.get_api_key(session, key_id)
    if key is None or (key.user_id != actor.user_id and actor.role != Role.admin):
        raise NotFound(f"API key {key_id} does not exist")
    if key.revoked_at is None:
        key.revoked_at = now
        session.flush()
    audit(session, actor, "api_key.revoke", "api_key", key.id, {"prefix": key.prefix}, origin)
    return key


def ensure_user(session: Session, *, username: str, display_name: str, password: str, role: Role,
                district_id: int | None = None, enterprise_id: int | None = None) -> bool:
    """Create the user if missing (for seeding); returns whether it was created. Idempotent."""
    if repo.get_user_by_username(session, username) is not None:
        return False
    create_user(session, None, username=username, display_name=display_name, password=password, role=role,
                district_id=district_id, enterprise_id=enterprise_id)
    return True
