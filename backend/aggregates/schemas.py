"""Response bodies for series, comparisons and top-N."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class GroupByParam(StrEnum):
    none = "none"
    district = "district"
    park = "park"
    industry = "industry"
    enterprise = "enterprise"


class Basis(StrEnum):
    current = "current"
    same = "same"


class TopBy(StrEnum):
    value = "value"
    change = "change"
    change_pct = "change_pct"


class IndicatorRef(BaseModel):
    code: str = Field(examples=["econ.value_added"])
    name_zh: str = Field(examples=["规模以上工业增加值"])
    name_en: str
    unit: str = Field(examples=["10k_yuan"])
    agg_time: str
    agg_entities: str


class PointOut(BaseModel):
    period: str = Field(description="Label: 2025-03, 2025-Q1, 2025, 2025-W09, 2025-03-01 or 2025-03-01 08:00.",
                        examples=["2025-03"])
    start: date | datetime = Field(description="First local day (or hour) of the bucket.")
    end: date | datetime = Field(description="Last local day of the bucket (inclusive), or the hour's end.")
    value: float | None = Field(description="The bucket's value in the indicator's unit.")
    yoy_pct: float | None = Field(description="同比: growth against the same period last year, % (a bucket not "
                                              "complete yet: the same span, 同期, see `partial`). Null when the "
                                              "base starts before the indicator's data do.")
    pop_pct: float | None = Field(description="环比: growth against the previous bucket, % (a bucket not complete "
                                              "yet: the same span of the previous bucket).")
    ytd: float | None = Field(description="累计: total from 1 January through this bucket (indicators summed "
                                          "over time; day, month, quarter and year buckets).")
    ytd_yoy_pct: float | None = Field(description="累计同比: year-to-date growth against last year's same "
                                                  "year-to-date, %.")
    share_pct: float | None = Field(description="Share of the parent (the same query without grouping), %.")
    contribution_pp: float | None = Field(description="Contribution to the parent's 同比, in percentage points "
                                                      "(the children's contributions add up to the parent's "
                                                      "growth).")
    ytd_contribution_pp: float | None = Field(description="Contribution to the parent's 累计同比, points.")
    last_year_value: float | None = Field(description="The base of 同比 (同口径 base with basis=same).")
    last_year_ytd: float | None
    combined_months: bool = Field(description="True for a February point that covers January–February (1–2月).")
    partial: bool = Field(False, description="True for the week, month, quarter or year that contains today "
                                             "(Asia/Shanghai) while its data run through an earlier day than its "
                                             "end: its value runs through `through` and 同比/环比/累计同比 compare "
                                             "the same span (1–27 Nov against 1–27 Nov last year and 1–27 Oct); "
                                             "label it, e.g. “11月(截至27日)”.")
    through: date | None = Field(None, description="With `partial`: the last local day the data cover (the day "
                                                   "of the bucket's latest observation, for monthly data the end "
                                                   "of its month).", examples=["2026-11-27"])
    n_series: int = Field(description="How many series contributed.")


class GroupOut(BaseModel):
    key: str = Field(description="District or park code, industry group, enterprise id; when not grouped, the "
                                 "code of the one district or park (or id of the one enterprise) the figure is for, else "
                                 "empty (the city, or several places).",
                     examples=["150304"])
    kind: str = Field(examples=["district"])
    name_zh: str | None = Field(description="Name of the group; not grouped: of the one district, park or "
                                            "enterprise the figure is for (null for the city or several places).",
                                examples=["乌达区"])
    name_en: str | None
    points: list[PointOut]


class SeriesOut(BaseModel):
    indicator: IndicatorRef
    bucket: str
    start: date = Field(description="First day covered (the range widened to whole buckets).")
    end: date = Field(description="Last day covered (inclusive).")
    basis: Basis
    source: str = Field(description="Which series make up the figures (direct series or sums of enterprises).")
    groups: list[GroupOut]
    parent: GroupOut | None = Field(description="With group_by: the total the shares and contributions refer to.")
    notes: list[str]


class TopRowOut(BaseModel):
    rank: int
    enterprise_id: int
    name_zh: str
    name_en: str | None
    uscc: str
    value: float | None
    last_year_value: float | None
    change: float | None = Field(description="value − last_year_value.")
    change_pct: float | None


class TopOut(BaseModel):
    indicator: IndicatorRef
    start: date
    end: date
    by: TopBy
    items: list[TopRowOut]
    notes: list[str] = Field(default_factory=list, description="Why the list is empty or partial, e.g. the same "
                             "days last year start before the indicator's data (no change to rank by).")
