"""Series, observations (TimescaleDB hypertables), revisions and rollups.

- `Series`: one indicator for one entity (city, district, park or enterprise).
- `Observation`: raw high-frequency values (15 min, hourly); hypertable; old chunks are
  dropped by the retention job.
- `PeriodObservation`: daily and monthly values (statistics, direct reports); hypertable;
  never dropped.
- `ObservationRevision`: the previous value each time a stored value is corrected.
- `RollupDaily` / `RollupMonthly`: per-series aggregates by local (Asia/Shanghai) day and
  month, refreshed for exactly the buckets each write touches, so month and year views
  never scan raw data.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base

ENTITY_KINDS = ("city", "district", "park", "enterprise")


class Series(Base):
    __tablename__ = "series"
    __table_args__ = (UniqueConstraint("indicator_code", "entity_kind", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator_code: Mapped[str] = mapped_column(ForeignKey("indicator.code"))
    entity_kind: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(Integer)  # 0 for the city
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class _ObservationColumns:
    series_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    value: Mapped[float] = mapped_column(Double)
    source: Mapped[str] = mapped_column(String(64))
    quality: Mapped[int] = mapped_column(SmallInteger, default=0)  # 0 ok, 1 estimated, 2 suspect
    revision: Mapped[int] = mapped_column(SmallInteger, default=0)
    ingested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Observation(_ObservationColumns, Base):
    __tablename__ = "observation"


class PeriodObservation(_ObservationColumns, Base):
    __tablename__ = "period_observation"


class ObservationRevision(Base):
    __tablename__ = "observation_revision"
    __table_args__ = (Index("ix_observation_revision_series_time", "series_id", "time"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(32))
    series_id: Mapped[int] = mapped_column(Integer)
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revision: Mapped[int] = mapped_column(SmallInteger)  # the revision number of the replaced value
    value: Mapped[float] = mapped_column(Double)
    source: Mapped[str] = mapped_column(String(64))
    replaced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class _RollupColumns:
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), primary_key=True)
    sum: Mapped[float] = mapped_column(Double)
    count: Mapped[int] = mapped_column(Integer)
    min: Mapped[float] = mapped_column(Double)
    max: Mapped[float] = mapped_column(Double)
    last: Mapped[float] = mapped_column(Double)
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RollupDaily(_RollupColumns, Base):
    __tablename__ = "rollup_daily"
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class RollupMonthly(_RollupColumns, Base):
    __tablename__ = "rollup_monthly"
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # the 1st of the local month
