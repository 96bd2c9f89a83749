"""SQL for district targets."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.targets.models import DistrictTarget


def list_targets(session: Session, year: int | None, district_ids: list[int] | None) -> list[DistrictTarget]:
    q = select(DistrictTarget).order_by(DistrictTarget.year, DistrictTarget.district_id, DistrictTarget.indicator_code)
    if year is not None:
        q = q.where(DistrictTarget.year == year)
    if district_ids is not None:
        q = q.where(DistrictTarget.district_id.in_(district_ids))
    return list(session.scalars(q))


def get_target(session: Session, district_id: int, year: int, indicator: str) -> DistrictTarget | None:
    return session.scalar(select(DistrictTarget).where(
        DistrictTarget.district_id == district_id, DistrictTarget.year == year,
        DistrictTarget.indicator_code == indicator))


def add(session: Session, t: DistrictTarget) -> None:
    session.add(t)
    session.flush()


def delete(session: Session, t: DistrictTarget) -> None:
    session.delete(t)
    session.flush()
