"""Registry: city -> districts -> industrial parks -> enterprises, versioned by date.

An enterprise's attributes that change over time (district, park, industry, above-scale
and key-enterprise status) live in `EnterpriseVersion` rows with half-open validity
[valid_from, valid_to); a database exclusion constraint forbids overlapping versions, so
"which park was it in on that day" always has exactly one answer.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base


class District(Base):
    __tablename__ = "district"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    # 'district' for the three administrative districts, 'managed_area' for 滨河新区
    kind: Mapped[str] = mapped_column(String(16), default="district")


class Park(Base):
    __tablename__ = "park"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    # The development zone the park belongs to ("one zone, four parks": 一区四园)
    zone_zh: Mapped[str | None] = mapped_column(Text)


class IndustryGroup(Base):
    """Our grouping of GB/T 4754 codes into the industries the city watches."""

    __tablename__ = "industry_group"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class Enterprise(Base):
    __tablename__ = "enterprise"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # 统一社会信用代码 (18 characters, check character validated in service)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    versions: Mapped[list[EnterpriseVersion]] = relationship(
        back_populates="enterprise", order_by="EnterpriseVersion.valid_from"
    )


class EnterpriseVersion(Base):
    __tablename__ = "enterprise_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)  # exclusive; NULL = still valid
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    park_id: Mapped[int | None] = mapped_column(ForeignKey("park.id"))
    industry_code: Mapped[str] = mapped_column(String(8))  # GB/T 4754-2017 class, e.g. "2521"
    industry_group: Mapped[str] = mapped_column(ForeignKey("industry_group.code"))
    above_scale: Mapped[bool] = mapped_column(Boolean, default=False)  # 规模以上
    key_enterprise: Mapped[bool] = mapped_column(Boolean, default=False)  # 重点企业

    enterprise: Mapped[Enterprise] = relationship(back_populates="versions")
