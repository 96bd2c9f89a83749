"""Bodies for annual district targets and progress."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field

from backend.api.types import Number


class TargetIndicator(StrEnum):
    value_added = "econ.value_added"
    fai_industrial = "econ.fai_industrial"


class TargetIn(BaseModel):
    target_growth_pct: Number = Field(ge=-100, le=1000, description="Target growth for the year, %.", examples=[6.5])
    note: str | None = Field(default=None, max_length=2000)


class TargetOut(BaseModel):
    district_code: str = Field(examples=["150304"])
    district_name_zh: str = Field(examples=["乌达区"])
    year: int = Field(examples=[2025])
    indicator: str = Field(description="econ.value_added (above-scale industrial value added growth) or "
                                       "econ.fai_industrial (industrial fixed-asset investment growth).")
    target_growth_pct: float
    note: str | None


class ProgressOut(TargetOut):
    as_of_month: date | None = Field(description="The latest month with data (1st of the month).")
    ytd_value: float | None = Field(description="累计 through as_of_month, in the indicator's unit.")
    last_year_ytd: float | None
    actual_ytd_growth_pct: float | None = Field(description="The growth used to judge progress: the published "
                                                            "累计增速 where there is one, else computed from values.")
    computed_ytd_growth_pct: float | None
    published_ytd_growth_pct: float | None
    gap_pp: float | None = Field(description="actual − target, percentage points.")
    last_year_total: float | None = Field(description="Last year's whole-year total.")
    required_total: float | None = Field(description="Whole-year amount the target implies: last year × (1 + target).")
    completion_pct: float | None = Field(description="ytd_value / required_total × 100.")
    time_elapsed_pct: float | None = Field(description="Months elapsed / 12 × 100 (时间进度).")
    status: str = Field(description="on_track (actual ≥ target), behind (within 2 points), far_behind, no_data.")
    status_zh: str = Field(examples=["达到目标进度"])
