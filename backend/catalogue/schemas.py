"""Response bodies for the indicator catalogue."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class UnitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str = Field(examples=["10k_yuan"])
    name_zh: str = Field(examples=["万元"])
    name_en: str = Field(examples=["10k yuan"])
    dimension: str = Field(examples=["money"])
    factor: float = Field(description="Multiply by this to get the dimension's base unit.", examples=[10000])


class IndicatorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str = Field(examples=["econ.value_added"])
    name_zh: str = Field(examples=["规模以上工业增加值"])
    name_en: str = Field(examples=["Above-scale industrial value added"])
    family: str = Field(description="coal, power, oil, gas, transport, economy or energy.", examples=["economy"])
    unit_code: str = Field(description="The unit values are stored and returned in.", examples=["10k_yuan"])
    frequency: str = Field(description="15min, hour, day or month.", examples=["month"])
    agg_entities: str = Field(description="How values combine across enterprises/parks/districts: sum, wmean "
                                          "(weighted by `weight_indicator`) or none (only reported directly).")
    agg_time: str = Field(description="How values combine within a time bucket: sum, mean or last.")
    weight_indicator: str | None
    is_leading: bool = Field(description="A leading indicator (先行指标), used by the leading index.")
    good_direction: str = Field(description="up, down or none: which way is good news.")
    description_zh: str | None
    description_en: str | None
    sort_order: int
