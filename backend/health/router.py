"""GET /health: is the system fit to serve? No authentication needed."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from backend.health import service

router = APIRouter(tags=["health"])


@router.get("/health", summary="System health", responses={503: {"description": "database unreachable"}})
def health(request: Request) -> JSONResponse:
    """Database reachability, PostgreSQL and TimescaleDB versions (with licence: `apache`
    for the Apache-2 edition), whether the schema is at the latest migration, and the age
    of every worker's last heartbeat. `status` is `ok`, `degraded` (works, but something
    needs attention: see `warnings`) or `down` (HTTP 503)."""
    state = request.app.state
    try:
        with state.session_factory() as session:
            rep = service.report(session, state.migration_heads, datetime.now(UTC))
    except SQLAlchemyError as exc:
        body: dict[str, Any] = {"status": "down", "database": False,
                                "warnings": [f"database unreachable: {exc.__class__.__name__}"]}
        return JSONResponse(body, status_code=503)
    return JSONResponse(_jsonable(asdict(rep)))


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, datetime):
        return obj.isoformat()
    return obj
