"""Configured weights of the leading indicators in the composite index."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Double, ForeignKey, func
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base


class LeadingIndexWeight(Base):
    __tablename__ = "leading_index_weight"

    indicator_code: Mapped[str] = mapped_column(ForeignKey("indicator.code"), primary_key=True)
    weight: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
