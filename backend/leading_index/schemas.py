"""Bodies for the leading index."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from backend.api.types import Number


class IndexPointOut(BaseModel):
    month: date = Field(description="First day of the month.", examples=["2025-03-01"])
    composite: float = Field(description="Composite index, 100 in the first month of the window.")
    diffusion: float | None = Field(description="Diffusion index, 0–100: weighted share of indicators rising "
                                                "(above 50: more improving than worsening).")
    n_indicators: int
    components: dict[str, float] = Field(description="Each indicator's standardised, direction-adjusted change.")


class EvaluationOut(BaseModel):
    grade: str = Field(description="good, fair, weak or no_data.")
    grade_zh: str = Field(examples=["好"])
    composite_change_3m_pct: float | None = Field(description="Change of the composite over the last 3 months, %.")
    diffusion: float | None


class PlaceIndexOut(BaseModel):
    place: str = Field(description="District code, or `city`.", examples=["150304"])
    name_zh: str = Field(examples=["乌达区"])
    seasonally_adjusted: dict[str, bool] = Field(description="Per indicator: whether seasonal factors could be "
                                                             "estimated (needs 24 months).")
    evaluation: EvaluationOut
    points: list[IndexPointOut]


class LeadingIndexOut(BaseModel):
    method: str = Field(description="Where the method is documented.")
    weights: dict[str, float]
    places: list[PlaceIndexOut]


class EvaluationRowOut(BaseModel):
    rank: int | None = Field(description="By 3-month composite change, best first.")
    place: str
    name_zh: str
    composite: float | None
    diffusion: float | None
    composite_change_3m_pct: float | None
    grade: str
    grade_zh: str


class WeightsIn(BaseModel):
    weights: dict[str, Number] = Field(description="Indicator code -> weight (>= 0; 0 leaves it out).",
                                      examples=[{"power.consumption": 2.0, "coal.raw_output": 1.0}])
