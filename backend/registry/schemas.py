"""Response bodies for the registry: districts, parks, industries, enterprises and their history."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class DistrictOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str = Field(description="Administrative division code (滨河新区: internal code 150391).",
                      examples=["150304"])
    name_zh: str = Field(examples=["乌达区"])
    name_en: str = Field(examples=["Wuda District"])
    kind: str = Field(description="`district` or `managed_area`.", examples=["district"])


class ParkOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str = Field(examples=["WD"])
    name_zh: str = Field(examples=["乌达工业园区"])
    name_en: str = Field(examples=["Wuda Industrial Park"])
    district_id: int
    zone_zh: str | None = Field(examples=["乌海经济开发区"])


class IndustryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str = Field(examples=["coking"])
    name_zh: str = Field(examples=["焦化"])
    name_en: str = Field(examples=["Coking"])
    sort_order: int


class VersionOut(BaseModel):
    """An enterprise's attributes over [valid_from, valid_to) (valid_to null: still valid)."""

    model_config = ConfigDict(from_attributes=True)

    valid_from: date
    valid_to: date | None
    district_id: int
    park_id: int | None
    industry_code: str = Field(description="GB/T 4754-2017 class.", examples=["2521"])
    industry_group: str = Field(examples=["coking"])
    above_scale: bool = Field(description="规模以上 (annual main revenue >= 20 million yuan).")
    key_enterprise: bool = Field(description="重点企业.")


class EnterpriseOut(BaseModel):
    """An enterprise with the version valid on the requested day (`on`)."""

    id: int
    uscc: str = Field(description="统一社会信用代码.", examples=["91150304MA0N000000"])
    name_zh: str
    name_en: str | None
    district_id: int
    district_code: str
    park_id: int | None
    park_code: str | None
    industry_code: str
    industry_group: str
    above_scale: bool
    key_enterprise: bool


class EnterpriseDetail(EnterpriseOut):
    versions: list[VersionOut] = Field(description="The whole history, oldest first.")
