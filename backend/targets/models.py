"""Annual district targets (e.g. above-scale industrial value added +6.5%)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Double, ForeignKey, Integer, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base


class DistrictTarget(Base):
    __tablename__ = "district_target"
    __table_args__ = (UniqueConstraint("district_id", "year", "indicator_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    year: Mapped[int] = mapped_column(Integer)
    indicator_code: Mapped[str] = mapped_column(ForeignKey("indicator.code"))
    target_growth_pct: Mapped[float] = mapped_column(Double)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
