"""Dependencies every router uses: the request's database session and who is calling.

`SessionDep` opens one session per request and commits it when the endpoint returns,
before the response is sent (`scope="function"`, FastAPI >= 0.121), or rolls it back if
the endpoint raised.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from backend.api.problems import Forbidden, Unauthorized
from backend.auth import service as auth_service
from backend.auth.rules import Permission, Principal, has_permission

SESSION_COOKIE = "yunjian_session"

bearer_scheme = HTTPBearer(
    auto_error=False, scheme_name="bearer",
    description="A session token from `POST /api/v1/auth/login`, or an API key (`yj_…`).")
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, scheme_name="session_cookie",
    description="The same session token as a cookie (set by `POST /api/v1/auth/login`; used by the dashboard).")


def get_session(request: Request) -> Iterator[Session]:
    factory = request.app.state.session_factory
    with factory() as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        session.commit()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_origin(request: Request) -> auth_service.Origin:
    return auth_service.Origin(ip=request.client.host if request.client else None,
                               user_agent=request.headers.get("user-agent"))


OriginDep = Annotated[auth_service.Origin, Depends(get_origin)]


def credential_from(bearer: HTTPAuthorizationCredentials | None, cookie: str | None) -> str | None:
    if bearer is not None and bearer.credentials:
        return bearer.credentials
    return cookie or None


def get_principal(session: SessionDep,
                  bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
                  cookie: Annotated[str | None, Depends(cookie_scheme)]) -> Principal:
    credential = credential_from(bearer, cookie)
    if not credential:
        raise Unauthorized()
    principal = auth_service.authenticate(session, credential, datetime.now(UTC))
    if principal is None:
        raise Unauthorized("the token or API key is unknown, expired or revoked")
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(permission: Permission) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """A dependency that admits only principals with `permission` (role and key scope)."""

    # async: a pure check, so FastAPI runs it on the event loop instead of another thread hop.
    async def _check(principal: PrincipalDep) -> Principal:
        if not has_permission(principal, permission):
            raise Forbidden(f"role {principal.role.value} (scopes {sorted(principal.scopes)}) may not "
                            f"{permission.value.replace('_', ' ')}")
        return principal

    return _check


Reader = Annotated[Principal, Depends(require(Permission.read))]
