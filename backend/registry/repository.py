"""SQL for the registry."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from backend.registry.models import District, Enterprise, EnterpriseVersion, IndustryGroup, Park


def upsert_districts(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        stmt = insert(District).values(rows)
        session.execute(stmt.on_conflict_do_update(
            index_elements=[District.code],
            set_={"name_zh": stmt.excluded.name_zh, "name_en": stmt.excluded.name_en, "kind": stmt.excluded.kind}))


def upsert_parks(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        stmt = insert(Park).values(rows)
        session.execute(stmt.on_conflict_do_update(
            index_elements=[Park.code],
            set_={c: stmt.excluded[c] for c in ("name_zh", "name_en", "district_id", "zone_zh")}))


def upsert_industry_groups(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        stmt = insert(IndustryGroup).values(rows)
        session.execute(stmt.on_conflict_do_update(
            index_elements=[IndustryGroup.code],
            set_={c: stmt.excluded[c] for c in ("name_zh", "name_en", "sort_order")}))


def district_ids_by_code(session: Session) -> dict[str, int]:
    return {code: id_ for id_, code in session.execute(select(District.id, District.code))}


def park_ids_by_code(session: Session) -> dict[str, int]:
    return {code: id_ for id_, code in session.execute(select(Park.id, Park.code))}


def get_enterprise_by_uscc(session: Session, code: str) -> Enterprise | None:
    return session.scalar(select(Enterprise).where(Enterprise.uscc == code))


def add_enterprise(session: Session, uscc: str, name_zh: str, name_en: str | None) -> Enterprise:
    ent = Enterprise(uscc=uscc, name_zh=name_zh, name_en=name_en)
    session.add(ent)
    session.flush()
    return ent


def replace_versions(session: Session, enterprise_id: int, versions: list[dict[str, Any]]) -> None:
    session.query(EnterpriseVersion).filter(EnterpriseVersion.enterprise_id == enterprise_id).delete()
    session.flush()
    for v in versions:
        session.add(EnterpriseVersion(enterprise_id=enterprise_id, **v))
    session.flush()


def version_on(session: Session, enterprise_id: int, day: date) -> EnterpriseVersion | None:
    return session.scalar(select(EnterpriseVersion).where(
        EnterpriseVersion.enterprise_id == enterprise_id,
        EnterpriseVersion.valid_from <= day,
        or_(EnterpriseVersion.valid_to.is_(None), EnterpriseVersion.valid_to > day)))


def enterprise_ids_in(session: Session, day: date, *, district_id: int | None = None, park_id: int | None = None,
                      industry_group: str | None = None, above_scale: bool | None = None) -> list[int]:
    """Enterprises whose version valid on `day` matches every given filter."""
    conds = [EnterpriseVersion.valid_from <= day,
             or_(EnterpriseVersion.valid_to.is_(None), EnterpriseVersion.valid_to > day)]
    if district_id is not None:
        conds.append(EnterpriseVersion.district_id == district_id)
    if park_id is not None:
        conds.append(EnterpriseVersion.park_id == park_id)
    if industry_group is not None:
        conds.append(EnterpriseVersion.industry_group == industry_group)
    if above_scale is not None:
        conds.append(EnterpriseVersion.above_scale == above_scale)
    return list(session.scalars(select(EnterpriseVersion.enterprise_id).where(and_(*conds))
                                .order_by(EnterpriseVersion.enterprise_id)))


def list_districts(session: Session) -> list[District]:
    return list(session.scalars(select(District).order_by(District.code)))


def list_parks(session: Session) -> list[Park]:
    return list(session.scalars(select(Park).order_by(Park.code)))


def count_enterprises(session: Session) -> int:
    return len(session.scalars(select(Enterprise.id)).all())


# --- reads for the REST API (backend/registry/router.py) ------------------------------------
def get_district(session: Session, district_id: int) -> District | None:
    return session.get(District, district_id)


def get_district_by_code(session: Session, code: str) -> District | None:
    return session.scalar(select(District).where(District.code == code))


def get_park_by_code(session: Session, code: str) -> Park | None:
    return session.scalar(select(Park).where(Park.code == code))


def get_enterprise(session: Session, enterprise_id: int) -> Enterprise | None:
    return session.get(Enterprise, enterprise_id)


def list_industry_groups(session: Session) -> list[IndustryGroup]:
    return list(session.scalars(select(IndustryGroup).order_by(IndustryGroup.sort_order)))


def enterprise_versions(session: Session, enterprise_id: int) -> list[EnterpriseVersion]:
    return list(session.scalars(select(EnterpriseVersion).where(EnterpriseVersion.enterprise_id == enterprise_id)
                                .order_by(EnterpriseVersion.valid_from)))


def list_enterprises(session: Session, *, day: date, district_id: int | None = None, park_id: int | None = None,
                     industry_group: str | None = None, above_scale: bool | None = None,
                     key_enterprise: bool | None = None, q: str | None = None,
                     ever_in_district: int | None = None, only_enterprise: int | None = None,
                     order_by: list[Any] | None = None, limit: int | None = None, offset: int = 0,
                     ) -> tuple[list[tuple[Enterprise, EnterpriseVersion]], int]:
    """Enterprises with their version valid on `day`, filtered on that version; `ever_in_district`
    keeps only enterprises that were ever in that district. Returns (rows, total)."""
    from sqlalchemy import exists, func

    conds: list[Any] = [EnterpriseVersion.valid_from <= day,
                        or_(EnterpriseVersion.valid_to.is_(None), EnterpriseVersion.valid_to > day)]
    for col, val in ((EnterpriseVersion.district_id, district_id), (EnterpriseVersion.park_id, park_id),
                     (EnterpriseVersion.industry_group, industry_group), (EnterpriseVersion.above_scale, above_scale),
                     (EnterpriseVersion.key_enterprise, key_enterprise), (Enterprise.id, only_enterprise)):
        if val is not None:
            conds.append(col == val)
    if q:
        like = f"%{q}%"
        conds.append(or_(Enterprise.name_zh.ilike(like), Enterprise.name_en.ilike(like), Enterprise.uscc.ilike(like)))
    if ever_in_district is not None:
        ev = EnterpriseVersion.__table__.alias("ev")
        conds.append(exists().where(ev.c.enterprise_id == Enterprise.id, ev.c.district_id == ever_in_district))
    base = select(Enterprise, EnterpriseVersion).join(EnterpriseVersion,
                                                      EnterpriseVersion.enterprise_id == Enterprise.id).where(*conds)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    stmt = base.order_by(*(order_by or []), Enterprise.id).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [(e, v) for e, v in session.execute(stmt)], total
