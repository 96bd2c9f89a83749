"""Errors as `application/problem+json` (RFC 9457).

Services raise the `ApiError` subclasses below (they carry no HTTP machinery beyond a
status number); `install` registers handlers that render them, FastAPI's own HTTP and
validation errors, and any unexpected exception, as problem documents:

    {"type": "https://yunjian.example/problems/not-found", "title": "Not found",
     "status": 404, "detail": "enterprise 12345 does not exist", "instance": "/api/v1/enterprises/12345"}
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

log = logging.getLogger("yunjian.api")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://yunjian.example/problems/"


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(examples=[TYPE_BASE + "not-found"])
    title: str = Field(examples=["Not found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["enterprise 12345 does not exist or is outside your district"])
    instance: str | None = Field(default=None, examples=["/api/v1/enterprises/12345"])
    errors: list[dict[str, Any]] | None = Field(default=None, description="Validation errors, one per field.")


class ApiError(Exception):
    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


class InvalidRequest(ApiError):
    status, slug, title = 422, "invalid-request", "Invalid request"


class Unauthorized(ApiError):
    status, slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str = "send `Authorization: Bearer <token or API key>` or log in",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail, {"WWW-Authenticate": "Bearer", **(headers or {})})


class Forbidden(ApiError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(ApiError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(ApiError):
    status, slug, title = 409, "conflict", "Conflict"


class TooManyRequests(ApiError):
    status, slug, title = 429, "too-many-requests", "Too many requests"


_TITLES = {400: ("bad-request", "Bad request"), 401: ("unauthorized", "Authentication required"),
           403: ("forbidden", "Forbidden"), 404: ("not-found", "Not found"),
           405: ("method-not-allowed", "Method not allowed"), 406: ("not-acceptable", "Not acceptable"),
           409: ("conflict", "Conflict"), 415: ("unsupported-media-type", "Unsupported media type"),
           422: ("invalid-request", "Invalid request"), 429: ("too-many-requests", "Too many requests"),
           500: ("internal", "Internal server error")}


def problem_response(request: Request, status: int, detail: str, *, slug: str | None = None,
                     title: str | None = None, headers: dict[str, str] | None = None,
                     errors: list[dict[str, Any]] | None = None) -> JSONResponse:
    default_slug, default_title = _TITLES.get(status, ("error", "Error"))
    body = Problem(type=TYPE_BASE + (slug or default_slug), title=title or default_title, status=status,
                   detail=detail, instance=request.url.path, errors=errors)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers,
                        media_type=PROBLEM_JSON)


def _jsonable_errors(errors: Any) -> list[dict[str, Any]]:
    out = []
    for e in errors:
        out.append({"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg", "")),
                    "type": str(e.get("type", ""))})
    return out


def install(app: FastAPI) -> None:
    """Register the problem+json handlers on `app`."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return problem_response(request, exc.status, exc.detail, slug=exc.slug, title=exc.title,
                                headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the first route that matched the path; GET and POST on one
            # path are two routes here, and `Allow` must list every method the path takes.
            headers["Allow"] = ", ".join(allowed_methods(request))
        return problem_response(request, exc.status_code, str(exc.detail), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _jsonable_errors(exc.errors())
        detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors) or "invalid request"
        return problem_response(request, 422, detail, errors=errors)

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        # Input the database cannot hold (a NUL character, a number out of range): the
        # client's mistake, not a server error. The request's transaction is rolled back.
        return problem_response(request, 422, "a value is not acceptable (e.g. a NUL character or a number "
                                              f"out of range): {str(exc.orig).splitlines()[0][:200]}")

    @app.exception_handler(IntegrityError)
    async def _integrity_error(request: Request, exc: IntegrityError) -> JSONResponse:
        # A constraint refused the write (unknown reference, duplicate): a conflict with the
        # stored data, reported with the constraint's own words. Endpoints should check first
        # and say more; this keeps a missed check from becoming a 500.
        diag = getattr(exc.orig, "diag", None)
        what = getattr(diag, "message_detail", None) or str(exc.orig).splitlines()[0]
        return problem_response(request, 409, f"the data conflicts with what is stored: {what}"[:300])

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(request, 500, "an unexpected error occurred; it has been logged")


def allowed_methods(request: Request) -> list[str]:
    """Every method the API documents for the request's path (read from the OpenAPI
    document, which lists every route, however the routers are nested)."""
    table: list[tuple[re.Pattern[str], set[str]]] | None = getattr(request.app.state, "allow_table", None)
    if table is None:
        table = [(compile_path(path)[0], {m.upper() for m in ops})
                 for path, ops in request.app.openapi().get("paths", {}).items()]
        request.app.state.allow_table = table
    return sorted({m for pattern, methods in table if pattern.match(request.url.path) for m in methods})


_BODY_UNREADABLE = "The body could not be read (not JSON, not UTF-8, or not the declared content type)"
_STORED_CONFLICT = "Conflicts with the stored data (a duplicate, or a reference to something that does not exist)"


def document_problems(app: FastAPI) -> None:
    """Make the OpenAPI document say what the handlers above send.

    Every error response is `application/problem+json` with the `Problem` schema (FastAPI
    documents its own validation errors as `application/json` `HTTPValidationError`, and a
    `model=` response as `application/json` too); an operation with a body can answer 400
    when the body cannot be read; a write can answer 409 when a constraint refuses it (the
    `IntegrityError` handler).  A client generated from the document then expects what it gets.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        ref = {"$ref": "#/components/schemas/Problem"}
        for ops in schema.get("paths", {}).values():
            for method, op in ops.items():
                answers = op.get("responses", {})
                for code, answer in answers.items():
                    refs = {json.dumps(c.get("schema")) for c in answer.get("content", {}).values()}
                    if code.isdigit() and int(code) >= 400 and refs & _PROBLEM_REFS:
                        answer["content"] = {PROBLEM_JSON: {"schema": ref}}
                        if code == "422":
                            answer["description"] = "Invalid parameters or body (`errors` lists each field)"
                if "requestBody" in op:
                    answers.setdefault("400", {"description": _BODY_UNREADABLE,
                                               "content": {PROBLEM_JSON: {"schema": ref}}})
                if method in ("post", "put", "patch", "delete"):
                    answers.setdefault("409", {"description": _STORED_CONFLICT,
                                               "content": {PROBLEM_JSON: {"schema": ref}}})
                op["responses"] = dict(sorted(answers.items()))
        components = schema.get("components", {}).get("schemas", {})
        text = json.dumps(schema.get("paths", {}))
        for unused in ("HTTPValidationError", "ValidationError"):
            if f"/{unused}\"" not in text:
                components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


_PROBLEM_REFS = {json.dumps({"$ref": "#/components/schemas/" + name}) for name in ("Problem", "HTTPValidationError")}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for the problem statuses an endpoint can return."""
    descriptions = {400: "Bad request", 401: "Not authenticated", 403: "Not allowed for this role or district",
                    404: "Not found (or outside your district)", 409: "Conflict", 422: "Invalid parameters",
                    429: "Too many attempts: wait `Retry-After` seconds"}
    return {s: {"model": Problem, "description": descriptions.get(s, "Error"),
                "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for s in statuses}
