"""Pure parsing of a direct-reporting upload (CSV or XLSX, read by backend.statistics.tables).

Two forms are accepted, both with a header row (a title above it is skipped):

- wide, one row per enterprise and month, the form enterprises fill in:
  统一社会信用代码 | 报告期 | 工业总产值(万元) | 营业收入(万元) | 工业增加值(万元) | 综合能源消费量(吨标准煤) | 主要产品产量(吨)
- long, one value per row: 统一社会信用代码 | 报告期 | 指标 | 数值 | 单位

The credit-code column may be left out when the uploader reports for one enterprise.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.reporting.rules import indicator_code
from backend.statistics.layout import column_letter
from backend.statistics.parsing import normalise, split_label

USCC_HEADERS = ("统一社会信用代码", "社会信用代码", "信用代码", "企业代码", "uscc")
MONTH_HEADERS = ("报告期", "月份", "时间", "期别", "统计期", "month", "period")
INDICATOR_HEADERS = ("指标", "指标名称", "指标代码", "indicator")
VALUE_HEADERS = ("数值", "值", "本月", "当月", "value")
UNIT_HEADERS = ("单位", "计量单位", "unit")


@dataclass(frozen=True)
class UploadValue:
    row: int
    location: str
    uscc: str
    month: str
    indicator_code: str
    value: str
    unit: str | None
    raw: str


@dataclass(frozen=True)
class UploadProblem:
    location: str
    reason: str
    raw: str


class UploadError(ValueError):
    """The file is not a reporting form at all."""


def _find(header: list[str], names: tuple[str, ...]) -> int | None:
    for j, c in enumerate(header):
        if normalise(c).lower() in names:
            return j
    return None


def parse_upload(grid: list[list[str]]) -> tuple[list[UploadValue], list[UploadProblem]]:
    """Every value of the form with its row, and the rows that cannot be read."""
    h = None
    for i, row in enumerate(grid[:20]):
        if _find(row, MONTH_HEADERS) is not None:
            h = i
            break
    if h is None:
        raise UploadError("找不到表头（报告期） / no header row with a 报告期 (month) column")
    header = grid[h]
    c_uscc, c_month = _find(header, USCC_HEADERS), _find(header, MONTH_HEADERS)
    c_ind, c_val, c_unit = _find(header, INDICATOR_HEADERS), _find(header, VALUE_HEADERS), _find(header, UNIT_HEADERS)
    assert c_month is not None
    wide: dict[int, tuple[str, str | None]] = {}
    if c_ind is None:
        for j, text in enumerate(header):
            code = indicator_code(text)
            if code is not None:
                wide[j] = (code, split_label(text).unit)
        if not wide:
            raise UploadError("找不到指标列 / no indicator columns (工业总产值(万元) …) and no 指标/数值 columns")
    elif c_val is None:
        raise UploadError("有“指标”列但没有“数值”列 / an 指标 column but no 数值 column")

    values: list[UploadValue] = []
    problems: list[UploadProblem] = []
    for i in range(h + 1, len(grid)):
        row = grid[i] + [""] * (len(header) - len(grid[i]))
        if not any(c.strip() for c in row):
            continue
        raw = " | ".join(c.strip() for c in row).rstrip(" |")
        uscc = normalise(row[c_uscc]).upper() if c_uscc is not None else ""
        month = normalise(row[c_month])
        if normalise(row[0]).startswith(("注", "说明", "填报")) and not month:
            continue
        if c_ind is not None and c_val is not None:
            code = indicator_code(row[c_ind])
            loc = f"{column_letter(c_ind)}{i + 1}"
            if code is None:
                problems.append(UploadProblem(loc, f"不是直报指标 / not a reported indicator: {row[c_ind].strip()!r}",
                                              raw))
                continue
            unit = row[c_unit].strip() if c_unit is not None and row[c_unit].strip() else split_label(row[c_ind]).unit
            values.append(UploadValue(i + 1, f"{column_letter(c_val)}{i + 1}", uscc, month, code, row[c_val], unit,
                                      raw))
        else:
            for j, (code, unit) in wide.items():
                if row[j].strip():
                    values.append(UploadValue(i + 1, f"{column_letter(j)}{i + 1}", uscc, month, code, row[j], unit,
                                              raw))
    return values, problems
