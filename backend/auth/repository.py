"""SQL for users, sessions, API keys, the audit log and login attempts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, text, update
from sqlalchemy.orm import Session

from backend.auth.models import ApiKey, AuditLog, AuthSession, LoginAttempt, User
from backend.registry.models import EnterpriseVersion


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def display_names(session: Session, user_ids: Sequence[int]) -> dict[int, str]:
    """Each user's display name (e.g. 值班员（乌达区）), for timelines."""
    if not user_ids:
        return {}
    return dict(session.execute(select(User.id, User.display_name).where(User.id.in_(set(user_ids)))).tuples().all())


def get_user_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def list_users(session: Session, *, limit: int, offset: int, order_by: Sequence[ColumnElement[Any]]
               ) -> tuple[list[User], int]:
    total = session.scalar(select(func.count()).select_from(User)) or 0
    rows = session.scalars(select(User).order_by(*order_by, User.id).limit(limit).offset(offset))
    return list(rows), total


def add(session: Session, obj: object) -> None:
    session.add(obj)
    session.flush()


def session_by_token_hash(session: Session, token_hash: str) -> tuple[AuthSession, User] | None:
    row = session.execute(select(AuthSession, User).join(User, User.id == AuthSession.user_id)
                          .where(AuthSession.token_hash == token_hash)).first()
    return (row[0], row[1]) if row else None


@dataclass(frozen=True)
class Credential:
    """What checking a session token or an API key needs, read as plain columns (no ORM
    objects: this runs on every request)."""

    secret_hash: str
    revoked_at: datetime | None
    expires_at: datetime | None
    user_id: int
    username: str
    role: str
    district_id: int | None
    enterprise_id: int | None
    user_active: bool
    key_id: int | None = None
    scopes: tuple[str, ...] | None = None
    last_used_at: datetime | None = None


# Plain SQL, built once: this runs on every request, and building the statement (and its
# cache key) per call costs as much as the round trip.
_USER_COLS = "u.id, u.username, u.role, u.district_id, u.enterprise_id, u.is_active"
_KEY_SQL = text(f"SELECT k.key_hash, k.revoked_at, k.expires_at, {_USER_COLS}, k.id, k.scopes, k.last_used_at "
                "FROM api_key k JOIN app_user u ON u.id = k.user_id WHERE k.prefix = :p")
_SESSION_SQL = text(f"SELECT s.token_hash, s.revoked_at, s.expires_at, {_USER_COLS} "
                    "FROM auth_session s JOIN app_user u ON u.id = s.user_id WHERE s.token_hash = :h")


def key_credential(session: Session, prefix: str) -> Credential | None:
    row = session.execute(_KEY_SQL, {"p": prefix}).first()
    if row is None:
        return None
    key_hash, revoked_at, expires_at, user_id, username, role, district_id, enterprise_id, active, key_id, scopes, \
        last_used_at = row
    return Credential(key_hash, revoked_at, expires_at, user_id, username, role, district_id, enterprise_id, active,
                      key_id, tuple(scopes), last_used_at)


def session_credential(session: Session, token_hash: str) -> Credential | None:
    row = session.execute(_SESSION_SQL, {"h": token_hash}).first()
    if row is None:
        return None
    token_hash, revoked_at, expires_at, user_id, username, role, district_id, enterprise_id, active = row
    return Credential(token_hash, revoked_at, expires_at, user_id, username, role, district_id, enterprise_id, active)


def touch_api_key(session: Session, key_id: int, now: datetime) -> None:
    session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))


def get_api_key(session: Session, key_id: int) -> ApiKey | None:
    return session.get(ApiKey, key_id)


def list_api_keys(session: Session, user_id: int | None) -> list[ApiKey]:
    q = select(ApiKey).order_by(ApiKey.id)
    if user_id is not None:
        q = q.where(ApiKey.user_id == user_id)
    return list(session.scalars(q))


def record_attempt(session: Session, username: str, ip: str | None, succeeded: bool, now: datetime) -> None:
    session.add(LoginAttempt(username=username, ip=ip, succeeded=succeeded, attempted_at=now))
    session.flush()


def failures_since(session: Session, username: str, ip: str | None, since: datetime
                   ) -> tuple[int, int, datetime | None]:
    """(failures for the username, failures from the ip, oldest of those) since `since`."""
    by_user = session.execute(select(func.count(), func.min(LoginAttempt.attempted_at)).where(
        LoginAttempt.username == username, LoginAttempt.succeeded.is_(False),
        LoginAttempt.attempted_at >= since)).one()
    by_ip = 0
    oldest = by_user[1]
    if ip is not None:
        row = session.execute(select(func.count(), func.min(LoginAttempt.attempted_at)).where(
            LoginAttempt.ip == ip, LoginAttempt.succeeded.is_(False), LoginAttempt.attempted_at >= since)).one()
        by_ip = row[0]
        if row[1] is not None and (oldest is None or row[1] < oldest):
            oldest = row[1]
    return by_user[0], by_ip, oldest


def add_audit(session: Session, entry: AuditLog) -> None:
    session.add(entry)
    session.flush()


def list_audit(session: Session, *, limit: int, offset: int, action: str | None, user_id: int | None,
               since: datetime | None) -> tuple[list[AuditLog], int]:
    conds: list[ColumnElement[bool]] = []
    if action:
        conds.append(AuditLog.action == action)
    if user_id is not None:
        conds.append(AuditLog.user_id == user_id)
    if since is not None:
        conds.append(AuditLog.at >= since)
    total = session.scalar(select(func.count()).select_from(AuditLog).where(*conds)) or 0
    rows = session.scalars(select(AuditLog).where(*conds).order_by(AuditLog.at.desc(), AuditLog.id.desc())
                           .limit(limit).offset(offset))
    return list(rows), total


def enterprise_district_ids(session: Session, enterprise_id: int) -> set[int]:
    return set(session.scalars(select(EnterpriseVersion.district_id)
                               .where(EnterpriseVersion.enterprise_id == enterprise_id)))
