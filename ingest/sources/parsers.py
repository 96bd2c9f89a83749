"""Pure parsers: one upstream response in, good rows and rejected rows (with reasons) out.

No I/O, no clock, no database: entities stay external codes (USCC, district or park code)
and values stay in the unit the upstream used; the store resolves and converts them.
A response that cannot be read at all raises `PayloadError`.

Upstream times are Beijing time (UTC+8) whatever the system's display time zone.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from backend.ingestion.batch import ParsedRow, ParseResult, PayloadError, RejectedRow

UPSTREAM_TZ = ZoneInfo("Asia/Shanghai")
QUARTER = timedelta(minutes=15)


@dataclass(frozen=True)
class Payload:
    body: bytes
    content_type: str = ""
    url: str = ""

    def text(self, default: str = "utf-8") -> str:
        charset = default
        for part in self.content_type.split(";")[1:]:
            k, _, v = part.strip().partition("=")
            if k.lower() == "charset" and v:
                charset = v.strip('"')
        try:
            return self.body.decode(charset)
        except (UnicodeDecodeError, LookupError) as exc:
            raise PayloadError(f"无法按 {charset} 解码 / cannot decode the body as {charset}: {exc}") from exc


class RowError(ValueError):
    """A row cannot be used; the message is the reason shown to the duty officer."""


def number(x: Any) -> float:
    """A finite, non-negative number from a JSON number or a string such as " 1,234.5 "."""
    if isinstance(x, bool) or x is None:
        raise RowError(f"数值缺失或无效 / value missing or invalid: {x!r}")
    if isinstance(x, int | float):
        v = float(x)
    elif isinstance(x, str):
        cleaned = x.replace(",", "").replace("，", "").replace(" ", "").strip()
        try:
            v = float(cleaned)
        except ValueError:
            raise RowError(f"数值无法解析 / value is not a number: {x!r}") from None
    else:
        raise RowError(f"数值无法解析 / value is not a number: {x!r}")
    if not math.isfinite(v):
        raise RowError(f"数值无效 / value is not finite: {x!r}")
    if v < 0:
        raise RowError(f"数值为负 / negative value: {x!r}")
    return v


def local_time(text: Any, fmt: str) -> datetime:
    """A Beijing-time string in `fmt` as an aware datetime."""
    try:
        return _local_time(str(text), fmt)
    except ValueError:
        raise RowError(f"时间无法解析 / time {text!r} does not match {fmt}") from None


@functools.lru_cache(maxsize=4096)
def _local_time(text: str, fmt: str) -> datetime:
    # A response repeats each time once per series (1,000 meters: 1,000 times); strptime costs
    # about 15 µs. Datetimes are immutable, so sharing one is safe.
    return datetime.strptime(text, fmt).replace(tzinfo=UPSTREAM_TZ)


def _json(p: Payload) -> Any:
    try:
        return json.loads(p.text())
    except json.JSONDecodeError as exc:
        raise PayloadError(f"响应不是有效的 JSON / response is not valid JSON: {exc}") from exc


def _each(records: Any, out: ParseResult, fn: Callable[[Any], list[ParsedRow]]) -> ParseResult:
    if not isinstance(records, list):
        raise PayloadError("记录列表缺失 / the response has no list of records")
    for rec in records:
        try:
            out.rows.extend(fn(rec))
        except RowError as exc:
            out.rejected.append(RejectedRow(rec, str(exc)))
        except KeyError as exc:
            out.rejected.append(RejectedRow(rec, f"缺少字段 / missing field {exc.args[0]!r}"))
        except (TypeError, AttributeError, IndexError):
            out.rejected.append(RejectedRow(rec, "记录格式错误 / malformed record"))
    return out


# --- power company metering ----------------------------------------------------------------
def _metering_envelope(p: Payload) -> tuple[Any, int]:
    doc = _json(p)
    if not isinstance(doc, dict) or doc.get("code") != 0 or not isinstance(doc.get("data"), dict):
        raise PayloadError(f"计量系统返回错误 / metering system error: {str(doc)[:200]}")
    return doc["data"].get("records"), int(doc["data"].get("pages", 1))


def parse_metering(p: Payload) -> ParseResult:
    """Enterprise interval consumption. `data_time` is the interval END (00:15 ... 24:00);
    the stored time is the interval start."""
    records, pages = _metering_envelope(p)

    def row(r: dict[str, Any]) -> list[ParsedRow]:
        end = local_time(r["data_time"], "%Y-%m-%d %H:%M:%S")
        return [ParsedRow("power.consumption", "enterprise", str(r["credit_code"]), end - QUARTER,
                          number(r["pap_e"]), str(r.get("unit") or "kWh"), r)]

    return _each(records, ParseResult(pages=pages), row)


def parse_area_load(p: Payload) -> ParseResult:
    """District load in MW at the instant `ts` (the start of the 15-minute slot)."""
    records, pages = _metering_envelope(p)

    def row(r: dict[str, Any]) -> list[ParsedRow]:
        return [ParsedRow("power.grid_load", "district", str(r["org_code"]),
                          local_time(r["ts"], "%Y-%m-%d %H:%M:%S"), number(r["p_mw"]), "MW", r)]

    return _each(records, ParseResult(pages=pages), row)


# --- coal-production monitoring ----------------------------------------------------------------
COAL_INDICATORS = {"原煤产量": "coal.raw_output", "洗精煤产量": "coal.washed_output", "焦炭产量": "coke.output"}


def parse_coal(p: Payload) -> ParseResult:
    doc = _json(p)
    if not isinstance(doc, dict) or doc.get("success") is not True:
        raise PayloadError(f"煤炭监测系统返回错误 / coal monitoring error: {str(doc)[:200]}")
    day = local_time(doc.get("reportDate"), "%Y-%m-%d")

    def row(r: dict[str, Any]) -> list[ParsedRow]:
        code = COAL_INDICATORS.get(r["indicator"])
        if code is None:
            raise RowError(f"未知指标名称 / unknown indicator name {r['indicator']!r}")
        return [ParsedRow(code, "enterprise", str(r["enterpriseCode"]), day, number(r["value"]),
                          str(r.get("unit") or "万吨"), r)]

    return _each(doc.get("items"), ParseResult(), row)


# --- railway bureau (CSV, GBK) ------------------------------------------------------------------
RAIL_COLUMNS = {"装车数(车)": ("rail.loading_cars", "car"), "煤炭运量(吨)": ("rail.tonnage_coal", "t"),
                "焦炭运量(吨)": ("rail.tonnage_coke", "t"), "其他货物运量(吨)": ("rail.tonnage_other", "t"),
                "煤炭到达(吨)": ("coal.rail_in", "t"), "煤炭发送(吨)": ("coal.rail_out", "t")}


def _csv_line(cells: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(cells)
    return buf.getvalue()


def parse_rail(p: Payload) -> ParseResult:
    """Daily loadings per station. A line naming a park (园区代码: the park's railway siding)
    belongs to that park, any other line to its district (区县代码). A line with any unreadable
    cell is rejected whole; an empty cell means "not reported" and is skipped."""
    reader = csv.reader(io.StringIO(p.text(default="gbk").lstrip("\ufeff")))
    header = next(reader, None)
    if header is None:
        raise PayloadError("CSV 为空 / empty CSV")
    header = [h.strip() for h in header]
    try:
        i_date, i_district = header.index("日期"), header.index("区县代码")
    except ValueError:
        raise PayloadError(f"CSV 表头不符 / unexpected CSV header {header}") from None
    i_park = header.index("园区代码") if "园区代码" in header else None
    value_cols = [(i, *RAIL_COLUMNS[h]) for i, h in enumerate(header) if h in RAIL_COLUMNS]
    out = ParseResult()
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        line = _csv_line(cells)
        try:
            if len(cells) != len(header):
                raise RowError(f"列数不符 / expected {len(header)} columns, got {len(cells)}")
            day = local_time(cells[i_date].strip(), "%Y-%m-%d")
            park = cells[i_park].strip() if i_park is not None else ""
            kind, place = ("park", park) if park else ("district", cells[i_district].strip())
            rows = [ParsedRow(code, kind, place, day, number(cells[i]), unit, line)
                    for i, code, unit in value_cols if cells[i].strip()]
        except RowError as exc:
            out.rejected.append(RejectedRow(line, str(exc)))
            continue
        out.rows.extend(rows)
    return out


# --- gas supplier ----------------------------------------------------------------------------------
def parse_gas(p: Payload) -> ParseResult:
    doc = _json(p)
    if not isinstance(doc, dict) or doc.get("status") != "OK":
        raise PayloadError(f"燃气公司接口返回错误 / gas supplier error: {str(doc)[:200]}")
    cols = doc.get("columns") or []
    try:  # `park_code` is the older shape (parks only); `area_code` + `area_type` names parks and districts
        i_area = cols.index("area_code") if "area_code" in cols else cols.index("park_code")
        i_hour, i_vol = cols.index("hour"), cols.index("volume")
    except ValueError:
        raise PayloadError(f"字段不符 / unexpected columns {cols}") from None
    i_type = cols.index("area_type") if "area_type" in cols else None
    unit = str(doc.get("unit") or "m3")

    def row(r: list[Any]) -> list[ParsedRow]:
        if len(r) != len(cols):
            raise RowError(f"字段数不符 / expected {len(cols)} fields, got {len(r)}")
        kind = "district" if i_type is not None and r[i_type] == "district" else "park"
        return [ParsedRow("gas.consumption", kind, str(r[i_area]), local_time(r[i_hour], "%Y%m%d%H"),
                          number(r[i_vol]), unit, r)]

    return _each(doc.get("rows"), ParseResult(), row)


# --- oil company ------------------------------------------------------------------------------------
def parse_oil(p: Payload) -> ParseResult:
    doc = _json(p)
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise PayloadError(f"石油公司接口返回错误 / oil company error: {str(doc)[:200]}")

    def row(r: dict[str, Any]) -> list[ParsedRow]:
        day = local_time(r["date"], "%Y-%m-%d")
        kind = "park" if r.get("region_type") == "park" else "district"
        out = []
        for field, code in (("diesel_t", "oil.diesel_sales"), ("total_t", "oil.refined_sales")):
            if field in r:
                out.append(ParsedRow(code, kind, str(r["region_code"]), day, number(r[field]), "t", r))
        if not out:
            raise RowError("无销量数据 / no sales figure in the record")
        return out

    return _each(doc["data"], ParseResult(), row)


# --- road transport -----------------------------------------------------------------------------------
def parse_road(p: Payload) -> ParseResult:
    doc = _json(p)
    if not isinstance(doc, dict) or doc.get("errcode") != 0:
        raise PayloadError(f"交通运输局接口返回错误 / road transport error: {str(doc)[:200]}")

    def row(r: dict[str, Any]) -> list[ParsedRow]:
        return [ParsedRow("road.freight", "district", str(r["xzqh"]), local_time(r["rq"], "%Y%m%d"),
                          number(r["hyl_wt"]), "万吨", r)]

    return _each(doc.get("result"), ParseResult(), row)


# --- grid dispatch: power plants ---------------------------------------------------------------------
def _dispatch_envelope(p: Payload, key: str) -> tuple[dict[str, Any], datetime]:
    doc = _json(p)
    if not isinstance(doc, dict) or doc.get("retCode") != "0000" or not isinstance(doc.get("data"), dict):
        raise PayloadError(f"调度系统返回错误 / dispatch system error: {str(doc)[:200]}")
    return doc["data"], local_time(doc["data"].get(key), "%Y-%m-%d")


def _hour_ending(point: Any) -> int:
    """A dispatch curve's point label "01".."24" (the hour ending then) as the hour it starts."""
    text = str(point)
    if not (text.isdigit() and 1 <= int(text) <= 24):
        raise RowError(f"时点无效 / curve point {point!r} is not 01-24")
    return int(text) - 1


def parse_dispatch_generation(p: Payload) -> ParseResult:
    """Each plant's 24-point generation curve for one day; a record with any unreadable point
    is rejected whole (the dispatch system sends a plant's day as one unit)."""
    data, day = _dispatch_envelope(p, "date")
    unit = str(data.get("unit") or "万千瓦时")

    def row(r: dict[str, Any]) -> list[ParsedRow]:
        code, points = str(r["creditCode"]), r["points"]
        if not isinstance(points, dict):
            raise RowError(f"发电曲线格式错误 / points is not an object: {points!r}")
        return [ParsedRow("power.generation", "enterprise", code, day + timedelta(hours=_hour_ending(k)), number(v),
                          unit, {"plantId": r.get("plantId"), "creditCode": code, "point": k, "value": v})
                for k, v in points.items()]

    return _each(data.get("records"), ParseResult(), row)


def parse_dispatch_coal(p: Payload) -> ParseResult:
    """Each plant's end-of-day coal stock (存煤量, 万吨) and the days it lasts at the plant's
    planned burn (可用天数, the plant's own figure; a record without it still gives the stock).
    The day's burn stays in the raw record."""
    data, day = _dispatch_envelope(p, "reportDate")

    def row(r: dict[str, Any]) -> list[ParsedRow]:
        code = str(r["creditCode"])
        out = [ParsedRow("coal.plant_stock", "enterprise", code, day, number(r["存煤量(万吨)"]), "万吨", r)]
        if r.get("可用天数") not in (None, ""):
            out.append(ParsedRow("coal.plant_stock_days", "enterprise", code, day, number(r["可用天数"]), "天", r))
        return out

    return _each(data.get("records"), ParseResult(), row)


# --- long files (bulk import: `yunjian bulk-import`) -----------------------------------------------------------
LONG_HEADER = ("indicator", "entity_kind", "entity_code", "time", "value", "unit")


def parse_long_csv(text: str) -> ParseResult:
    """`indicator,entity_kind,entity_code,time,value,unit` with ISO 8601 times carrying an offset."""
    reader = csv.reader(io.StringIO(text))
    header = tuple(h.strip() for h in next(reader, ()))
    if header != LONG_HEADER:
        raise PayloadError(f"CSV 表头不符 / expected header {','.join(LONG_HEADER)}, got {header}")
    out = ParseResult()
    for cells in reader:
        r = parse_long_record(cells)
        if isinstance(r, RejectedRow):
            out.rejected.append(r)
        else:
            out.rows.append(r)
    return out


def parse_long_record(cells: list[str]) -> ParsedRow | RejectedRow:
    """One record of a long file (the cells of one CSV line)."""
    try:
        if len(cells) != 6:
            raise RowError(f"列数不符 / expected 6 columns, got {len(cells)}")
        try:
            t = datetime.fromisoformat(cells[3])
        except ValueError:
            raise RowError(f"时间无法解析 / time {cells[3]!r} is not ISO 8601") from None
        if t.tzinfo is None:
            raise RowError(f"时间缺少时区 / time {cells[3]!r} has no UTC offset")
        return ParsedRow(cells[0], cells[1], cells[2], t, number(cells[4]), cells[5])
    except RowError as exc:
        return RejectedRow(_csv_line(cells), str(exc))
