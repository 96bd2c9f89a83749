"""Pagination with a total, and sorting by a whitelisted `sort` parameter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement

from backend.api.problems import InvalidRequest

MAX_LIMIT = 1000
T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: `items`, the `total` number matching the filters, and the window."""

    items: list[T]
    total: int = Field(description="How many items match the filters, across all pages.", examples=[150])
    limit: int = Field(examples=[100])
    offset: int = Field(examples=[0])


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (1–1000).")] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Items to skip.")] = 0,
) -> PageParams:
    return PageParams(limit, offset)


PageDep = Annotated[PageParams, Depends(page_params)]


def sort_clauses(sort: str | None, allowed: dict[str, Any], default: str) -> list[ColumnElement[Any]]:
    """ORDER BY clauses for `sort`, a comma-separated list of field names, each optionally
    prefixed by `-` for descending (e.g. `-name_zh,id`). Unknown fields are a 422."""
    out: list[ColumnElement[Any]] = []
    for part in (sort or default).split(","):
        part = part.strip()
        if not part:
            continue
        desc = part.startswith("-")
        name = part.lstrip("-+")
        if name not in allowed:
            raise InvalidRequest(f"cannot sort by {name!r}; sortable fields: {', '.join(sorted(allowed))}")
        col = allowed[name]
        out.append(col.desc() if desc else col.asc())
    return out


# Database ids are 32-bit integers: anything outside is a 422, never a database error.
MAX_ID = 2_147_483_647
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="Database id.")]
IdField = Annotated[int, Field(ge=1, le=MAX_ID)]

# Dates the API accepts: far enough from the calendar's ends that shifting by years is safe.
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2199, 12, 31)
