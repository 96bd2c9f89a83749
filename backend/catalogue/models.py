"""Indicator catalogue: what is measured, in which unit, how it aggregates."""

from __future__ import annotations

from sqlalchemy import Boolean, Double, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base


class Unit(Base):
    """A unit and its factor to the base unit of its dimension (万吨 = 10,000 吨)."""

    __tablename__ = "unit"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    dimension: Mapped[str] = mapped_column(String(32))
    factor: Mapped[float] = mapped_column(Double)  # multiply by this to get the base unit


class Indicator(Base):
    __tablename__ = "indicator"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    # coal, power, oil, gas, transport, economy, energy
    family: Mapped[str] = mapped_column(String(16), index=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("unit.code"))  # the unit values are stored in
    frequency: Mapped[str] = mapped_column(String(8))  # 15min, hour, day, month
    agg_entities: Mapped[str] = mapped_column(String(16))  # sum, wmean, none
    agg_time: Mapped[str] = mapped_column(String(8))  # sum, mean, last
    weight_indicator: Mapped[str | None] = mapped_column(String(64))  # for wmean across entities
    is_leading: Mapped[bool] = mapped_column(Boolean, default=False)
    good_direction: Mapped[str] = mapped_column(String(8))  # up, down, none
    description_zh: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
