"""`DataVersion`: a number per indicator (scope = its code) and one for the registry and
catalogue (scope `*`) that changes whenever data an aggregate reads changes. Kept by
statement triggers on the rollups and the registry tables (migration 0006); read by the
answer cache (`backend/aggregates/cache.py`).

`IndicatorFirstDay`: the first local day with data of each indicator, kept exact by triggers
on the daily rollups and the series (migration 0007); read by the incomplete-base rule."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, String, func
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base


class DataVersion(Base):
    __tablename__ = "data_version"
    __table_args__ = {"comment": "Changes whenever data an aggregate reads changes: scope = indicator code, or * "
                                 "for the registry and catalogue. Kept by triggers (migration 0006); read by the "
                                 "API's answer cache."}

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class IndicatorFirstDay(Base):
    __tablename__ = "indicator_first_day"
    __table_args__ = {"comment": "The first local day with data (daily rollups) of each indicator with any; kept by "
                                 "triggers (migration 0007); read by the API to leave out comparisons whose base "
                                 "starts before the data."}

    indicator_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_day: Mapped[date] = mapped_column(Date)
