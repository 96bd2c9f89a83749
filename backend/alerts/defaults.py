"""Default alert rules every installation starts with (`yunjian seed`); admins edit or disable
them through `/api/v1/alerts/rules` like any other. Seeding never changes a rule that exists
(matched by indicator, kind and name), so an edited or disabled default stays as it was left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.alerts.models import Rule


@dataclass(frozen=True)
class DefaultRule:
    name: str
    indicator_code: str
    kind: str
    params: dict[str, Any]
    importance: float | None = None


DEFAULT_RULES = (
    # 电厂存煤可用天数低于7天: the classic heating-season dispatch line for a power plant's coal
    # (below it the plant is asked to secure supply; a plant that runs out stops heat and power).
    DefaultRule("电厂存煤可用天数低于7天 / power-plant coal stock below 7 days", "coal.plant_stock_days",
                "threshold", {"lower": 7.0}, importance=1.5),
)


def seed_default_rules(session: Session, now: datetime | None = None) -> int:
    """Add the default rules that are missing; returns how many were added."""
    added = 0
    for d in DEFAULT_RULES:
        exists = session.scalar(select(Rule.id).where(Rule.indicator_code == d.indicator_code, Rule.kind == d.kind,
                                                      Rule.name == d.name))
        if exists is None:
            session.add(Rule(name=d.name, indicator_code=d.indicator_code, kind=d.kind, params=d.params,
                             importance=d.importance, enabled=True, updated_at=now or datetime.now(UTC)))
            added += 1
    session.flush()
    return added
