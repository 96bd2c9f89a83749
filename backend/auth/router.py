"""Login, logout, users, API keys and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from backend.alerts import permissions as alert_permissions
from backend.api import problems
from backend.api.deps import (
    SESSION_COOKIE,
    OriginDep,
    PrincipalDep,
    SessionDep,
    bearer_scheme,
    cookie_scheme,
    credential_from,
    require,
)
from backend.api.pagination import MAX_ID, IdPath, Page, PageDep, sort_clauses
from backend.api.problems import Unauthorized
from backend.api.types import Instant
from backend.auth import repository as repo
from backend.auth import service
from backend.auth.models import User
from backend.auth.rules import ROLE_PERMISSIONS, Permission, Principal, has_permission
from backend.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    AuditEntryOut,
    LoginRequest,
    LoginResponse,
    MeOut,
    UserCreate,
    UserOut,
    UserUpdate,
)

router = APIRouter(tags=["auth"])

Admin = Annotated[Principal, Depends(require(Permission.manage_users))]
AuditReader = Annotated[Principal, Depends(require(Permission.read_audit))]
KeyManager = Annotated[Principal, Depends(require(Permission.manage_own_keys))]


@router.post("/auth/login", response_model=LoginResponse, summary="Log in with a password",
             responses=problems.responses(401, 422, 429))
def login(body: LoginRequest, response: Response, session: SessionDep, origin: OriginDep) -> LoginResponse:
    """Exchange a username and password for a session token valid 12 hours. Send it as
    `Authorization: Bearer <token>` on every call; it is also set as an HttpOnly cookie
    (`yunjian_session`) for browser use. After 5 failed attempts for a username (or 20 from one
    address) within 15 minutes, logins are refused with 429 and a `Retry-After` header."""
    try:
        token, user, expires = service.login(session, body.username, body.password, origin, datetime.now(UTC))
    except Unauthorized:
        session.commit()  # keep the failed attempt: the throttle counts it
        raise
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", expires=expires)
    return LoginResponse(token=token, expires_at=expires, user=UserOut.model_validate(user))


@router.post("/auth/logout", status_code=204, summary="Log out (revoke this session)",
             responses=problems.responses(401))
def logout(principal: PrincipalDep, session: SessionDep, origin: OriginDep, response: Response,
           bearer: Annotated[object, Depends(bearer_scheme)],
           cookie: Annotated[str | None, Depends(cookie_scheme)]) -> Response:
    """Revoke the session token used for this call and clear the cookie. (API keys are revoked
    with `DELETE /api/v1/api-keys/{id}`.)"""
    credential = credential_from(bearer, cookie)  # type: ignore[arg-type]
    if credential and principal.api_key_id is None:
        service.logout(session, credential, principal, origin, datetime.now(UTC))
    out = Response(status_code=204)
    out.delete_cookie(SESSION_COOKIE)
    return out


@router.get("/auth/me", response_model=MeOut, summary="Who am I", responses=problems.responses(401))
def me(principal: PrincipalDep, session: SessionDep) -> MeOut:
    """The calling user, its role, district scope, and what it may do."""
    user = repo.get_user(session, principal.user_id)
    if user is None:
        raise Unauthorized()
    perms = [p.value for p in ROLE_PERMISSIONS[principal.role] if has_permission(principal, p)]
    # Alert permissions from the very rule the alerts router checks (backend.alerts.permissions).
    perms += alert_permissions.granted(principal)
    return MeOut(user=UserOut.model_validate(user), api_key_id=principal.api_key_id,
                 scopes=sorted(principal.scopes), permissions=sorted(perms))


USER_SORT = {"id": User.id, "username": User.username, "role": User.role, "created_at": User.created_at}


@router.get("/users", response_model=Page[UserOut], summary="List users (admin)",
            responses=problems.responses(401, 403, 422))
def list_users(_: Admin, session: SessionDep, page: PageDep,
               sort: Annotated[str | None, Query(description="Fields: id, username, role, created_at; "
                                                             "prefix `-` for descending.")] = None
               ) -> Page[UserOut]:
    rows, total = repo.list_users(session, limit=page.limit, offset=page.offset,
                                  order_by=sort_clauses(sort, USER_SORT, "username"))
    return Page(items=[UserOut.model_validate(r) for r in rows], total=total, limit=page.limit, offset=page.offset)


@router.post("/users", response_model=UserOut, status_code=201, summary="Create a user (admin)",
             responses=problems.responses(401, 403, 409, 422))
def create_user(body: UserCreate, actor: Admin, session: SessionDep, origin: OriginDep) -> UserOut:
    """Create a user. `district_id` restricts it to one district (a district officer);
    leave it null for city-wide roles."""
    _check_refs(session, body.district_id, body.enterprise_id)
    user = service.create_user(session, actor, username=body.username, display_name=body.display_name,
                               password=body.password, role=body.role, district_id=body.district_id,
                               enterprise_id=body.enterprise_id, origin=origin)
    return UserOut.model_validate(user)


@router.patch("/users/{user_id}", response_model=UserOut, summary="Change a user (admin)",
              responses=problems.responses(401, 403, 404, 422))
def update_user(user_id: IdPath, body: UserUpdate, actor: Admin, session: SessionDep, origin: OriginDep) -> UserOut:
    """Change role, district scope, password or active flag. Deactivating a user ends its
    sessions and keys at their next use."""
    changes = body.model_dump(exclude_unset=True)
    _check_refs(session, changes.get("district_id"), changes.get("enterprise_id"))
    user = service.update_user(session, actor, user_id, changes, datetime.now(UTC), origin)
    return UserOut.model_validate(user)


def _check_refs(session: SessionDep, district_id: int | None, enterprise_id: int | None) -> None:
    from backend.registry import repository as registry_repo

    if district_id is not None and registry_repo.get_district(session, district_id) is None:
        raise problems.InvalidRequest(f"district {district_id} does not exist")
    if enterprise_id is not None and registry_repo.get_enterprise(session, enterprise_id) is None:
        raise problems.InvalidRequest(f"enterprise {enterprise_id} does not exist")


@router.get("/api-keys", response_model=list[ApiKeyOut], summary="List API keys",
            responses=problems.responses(401, 403))
def list_keys(principal: KeyManager, session: SessionDep,
              all_users: Annotated[bool, Query(alias="all", description="Every user's keys (admin).")] = False
              ) -> list[ApiKeyOut]:
    """Your API keys (never the keys themselves: only their prefixes)."""
    return [ApiKeyOut.model_validate(k) for k in service.list_api_keys(session, principal, all_users)]


@router.post("/api-keys", response_model=ApiKeyCreated, status_code=201, summary="Create an API key",
             responses=problems.responses(401, 403, 404, 422))
def create_key(body: ApiKeyCreate, principal: KeyManager, session: SessionDep, origin: OriginDep) -> ApiKeyCreated:
    """Create an API key acting with the owner's role and district scope, limited to `scopes`.
    The response shows the key once; store it safely. Use it as `Authorization: Bearer yj_…`."""
    row, key = service.create_api_key(session, principal, owner_id=body.user_id or principal.user_id,
                                      name=body.name, scopes=body.scopes, expires_at=body.expires_at, origin=origin)
    return ApiKeyCreated(**ApiKeyOut.model_validate(row).model_dump(), key=key)


@router.delete("/api-keys/{key_id}", response_model=ApiKeyOut, summary="Revoke an API key",
               responses=problems.responses(401, 403, 404))
def revoke_key(key_id: IdPath, principal: KeyManager, session: SessionDep, origin: OriginDep) -> ApiKeyOut:
    """Revoke a key at once. Revoking twice is harmless."""
    return ApiKeyOut.model_validate(service.revoke_api_key(session, principal, key_id, datetime.now(UTC), origin))


@router.get("/audit-log", response_model=Page[AuditEntryOut], summary="The audit log",
            responses=problems.responses(401, 403, 422))
def audit_log(_: AuditReader, session: SessionDep, page: PageDep,
              action: Annotated[str | None, Query(max_length=64, examples=["user.create"])] = None,
              user_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
              since: Instant | None = None) -> Page[AuditEntryOut]:
    """Every write, newest first: who (user, API key), what (action, object), when, from where."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    rows, total = repo.list_audit(session, limit=page.limit, offset=page.offset, action=action, user_id=user_id,
                                  since=since)
    return Page(items=[AuditEntryOut.model_validate(r) for r in rows], total=total, limit=page.limit,
                offset=page.offset)

