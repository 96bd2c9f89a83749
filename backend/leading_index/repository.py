"""SQL for leading-index weights."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from backend.leading_index.models import LeadingIndexWeight


def weights(session: Session) -> dict[str, float]:
    return {w.indicator_code: w.weight for w in session.scalars(select(LeadingIndexWeight))}


def upsert_weights(session: Session, values: dict[str, float], now: datetime) -> None:
    if not values:
        return
    stmt = insert(LeadingIndexWeight).values(
        [{"indicator_code": k, "weight": v, "updated_at": now} for k, v in values.items()])
    session.execute(stmt.on_conflict_do_update(index_elements=[LeadingIndexWeight.indicator_code],
                                               set_={"weight": stmt.excluded.weight,
                                                     "updated_at": stmt.excluded.updated_at}))
    session.flush()
