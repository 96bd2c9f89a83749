"""SQL for the catalogue."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from backend.catalogue.models import Indicator, Unit


def upsert_units(session: Session, rows: list[dict[str, Any]]) -> None:
    stmt = insert(Unit).values(rows)
    session.execute(stmt.on_conflict_do_update(
        index_elements=[Unit.code], set_={c: stmt.excluded[c] for c in ("name_zh", "name_en", "dimension", "factor")}))


def upsert_indicators(session: Session, rows: list[dict[str, Any]]) -> None:
    stmt = insert(Indicator).values(rows)
    cols = [c for c in rows[0] if c != "code"]
    session.execute(stmt.on_conflict_do_update(index_elements=[Indicator.code],
                                                set_={c: stmt.excluded[c] for c in cols}))


def list_indicators(session: Session) -> list[Indicator]:
    return list(session.scalars(select(Indicator).order_by(Indicator.sort_order)))


def get_indicator(session: Session, code: str) -> Indicator | None:
    return session.get(Indicator, code)


def unit_table(session: Session) -> dict[str, tuple[str, float]]:
    """Unit code and Chinese name -> (dimension, factor), for conversions."""
    out: dict[str, tuple[str, float]] = {}
    for u in session.scalars(select(Unit)):
        out[u.code] = (u.dimension, u.factor)
        out[u.name_zh] = (u.dimension, u.factor)
    return out


def list_units(session: Session) -> list[Unit]:
    return list(session.scalars(select(Unit).order_by(Unit.dimension, Unit.factor)))
