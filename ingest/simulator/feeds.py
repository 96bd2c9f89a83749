"""What each simulated upstream serves, as pure functions of (world, request window, now).

Every upstream has its own shape, the way the real ones do:

- power company metering: paged JSON, 15-minute enterprise consumption in kWh stamped with
  the interval *end* (the 96-point convention, 00:15 ... 24:00), and district load in MW;
- coal-production monitoring: daily output per enterprise in 万吨, values as strings; today's
  figure is a running total updated every hour;
- railway bureau: a GBK-encoded CSV of daily loadings per district station and per park
  siding (专用线, with the park's code; the district line is the district's total);
- gas supplier: hourly volumes per park and per district (the district's total through its
  city-gate station) in 万立方米, rows as arrays, hours as YYYYMMDDHH;
- oil company: daily diesel and total refined-oil sales per district and per park sales
  area (`region_type`) in tonnes;
- road transport: daily freight per district in 万吨 with pinyin-abbreviated field names;
- grid dispatch (the grid company's 电力调度 system, not its metering): per power plant a
  24-point daily curve of hourly generation in 万千瓦时 (point "01" is the hour ending 01:00),
  and a daily coal report (存煤量 and 日耗煤量 in 万吨, 可用天数) with Chinese field names.

Times on the wire are local (Asia/Shanghai) without an offset unless stated.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ingest.simulator.generator import (
    DAY_S,
    LOCAL_OFFSET_S,
    NORMAL_DELAY_S,
    SeriesDef,
    World,
    day_start,
    local_day,
)

LOCAL = timedelta(seconds=LOCAL_OFFSET_S)

STATIONS = {"150304": "乌达站", "150303": "乌海西站", "150302": "乌海站", "150391": "滨河货场",
            "WD": "乌达园区专用线", "HN": "海南园区专用线", "QLS": "千里山园区专用线", "DT": "低碳园区专用线"}
COAL_NAMES = {"coal.raw_output": "原煤产量", "coal.washed_output": "洗精煤产量", "coke.output": "焦炭产量"}
RAIL_COLUMNS = (("rail.loading_cars", "装车数(车)"), ("rail.tonnage_coal", "煤炭运量(吨)"),
                ("rail.tonnage_coke", "焦炭运量(吨)"), ("rail.tonnage_other", "其他货物运量(吨)"),
                ("coal.rail_in", "煤炭到达(吨)"), ("coal.rail_out", "煤炭发送(吨)"))
RAIL_HEADER = ("日期", "站名", "区县代码", *(c for _, c in RAIL_COLUMNS), "园区代码")


def local_str(t: int, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return (datetime.fromtimestamp(t, UTC) + LOCAL).strftime(fmt)


def parse_local(text: str, fmt: str = "%Y-%m-%d %H:%M:%S") -> int:
    return int((datetime.strptime(text, fmt).replace(tzinfo=UTC) - LOCAL).timestamp())


def day_number(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _served(world: World, s: SeriesDef, t: int, now: int) -> list[float]:
    """The values served for slot t: none (missing, or not yet available), one, or two copies
    (a duplicate delivery)."""
    if world.available_at(s, t) > now:
        return []
    v = world.observed(s, t, now)
    if v is None:
        return []
    return [v, v] if world.duplicated(s, t) else [v]


# --- power company metering -------------------------------------------------------------
def metering_records(world: World, start: int, end: int, now: int) -> list[dict[str, Any]]:
    """Enterprise interval consumption for intervals *ending* in (start, end]."""
    out: list[tuple[int, str, dict[str, Any]]] = []
    for i, s in enumerate(world.of("power.consumption")):
        meter = f"3{s.entity.district}{i + 1:05d}"
        for t in world.slots(s, start - 899, end - 899):  # ends in (start, end]
            for v in _served(world, s, t, now):
                out.append((t, meter, {"meter_no": meter, "credit_code": s.entity.code, "cons_name": s.entity.name_zh,
                                       "data_time": local_str(t + 900), "pap_e": round(v, 2), "unit": "kWh"}))
    out.sort(key=lambda r: (r[0], r[1]))
    return [r for _, _, r in out]


def area_load_records(world: World, start: int, end: int, now: int) -> list[dict[str, Any]]:
    """District load (MW) for instants in [start, end)."""
    names = {e.code: e.name_zh for e in world.entities if e.kind == "district"}
    out: list[tuple[int, str, dict[str, Any]]] = []
    for s in world.of("power.grid_load"):
        for t in world.slots(s, start, end):
            for v in _served(world, s, t, now):
                out.append((t, s.entity.code, {"org_code": s.entity.code, "org_name": names[s.entity.code],
                                               "ts": local_str(t), "p_mw": round(v, 3)}))
    out.sort(key=lambda r: (r[0], r[1]))
    return [r for _, _, r in out]


def page(records: list[dict[str, Any]], page_no: int, page_size: int) -> dict[str, Any]:
    total = len(records)
    pages = max(1, -(-total // page_size))
    chunk = records[(page_no - 1) * page_size: page_no * page_size]
    return {"code": 0, "msg": "success",
            "data": {"page": page_no, "page_size": page_size, "total": total, "pages": pages, "records": chunk}}


# --- daily values: shared rules ------------------------------------------------------------
def _daily_value(world: World, s: SeriesDef, day: int, now: int, running: bool) -> list[float]:
    """Daily values served for local day `day`. With `running`, today's figure is the running
    total over the full hours elapsed (so it is revised every hour until final)."""
    t = day_start(day)
    final = _served(world, s, t, now)
    if final or not running:
        return final
    if world.available_at(s, t) > t + DAY_S + NORMAL_DELAY_S["day"]:
        return []  # a late report: not even the running figure
    hours = min((now - t) // 3600, 23)
    if hours < 1:
        return []
    v = world.observed(s, t, now)
    if v is None:
        return []
    part = v * hours / 24.0
    return [part, part] if world.duplicated(s, t) else [part]


# --- coal-production monitoring ----------------------------------------------------------
def coal_report(world: World, d: date, now: int) -> dict[str, Any]:
    day = day_number(d)
    items: list[dict[str, Any]] = []
    for code, name in COAL_NAMES.items():
        for s in world.of(code):
            for v in _daily_value(world, s, day, now, running=True):
                items.append({"enterpriseCode": s.entity.code, "enterpriseName": s.entity.name_zh,
                              "indicator": name, "value": f"{v / 10000:.4f}", "unit": "万吨"})
    return {"success": True, "reportDate": d.isoformat(), "updateTime": local_str(now), "items": items}


# --- railway bureau --------------------------------------------------------------------------
def rail_rows(world: World, first: date, last: date, now: int) -> list[list[str]]:
    rows: list[list[str]] = []
    places = [e for e in world.entities if e.kind in ("district", "park")]
    for day in range(day_number(first), day_number(last) + 1):
        for e in places:
            per_col: list[list[float]] = []
            for code, _ in RAIL_COLUMNS:
                per_col.append(_daily_value(world, world.by_key[f"{code}|{e.kind}|{e.code}"], day, now, running=False))
            if not any(per_col):
                continue
            copies = max(len(v) for v in per_col)
            for _ in range(copies):
                cells = [local_str(day_start(day), "%Y-%m-%d"), STATIONS[e.code], e.district]
                for (code, _), vals in zip(RAIL_COLUMNS, per_col, strict=True):
                    cells.append("" if not vals else (str(round(vals[0])) if code == "rail.loading_cars"
                                                      else f"{vals[0]:.1f}"))
                cells.append(e.code if e.kind == "park" else "")
                rows.append(cells)
    return rows


def rail_csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(RAIL_HEADER)
    w.writerows(rows)
    return buf.getvalue().encode("gbk")


# --- gas supplier ------------------------------------------------------------------------------
def gas_rows(world: World, start: int, end: int, now: int) -> list[list[str]]:
    rows: list[list[str]] = []
    for s in world.of("gas.consumption"):
        for t in world.slots(s, start, end):
            for v in _served(world, s, t, now):
                rows.append([s.entity.code, s.entity.name_zh, local_str(t, "%Y%m%d%H"), f"{v / 10000:.4f}",
                             s.entity.kind])
    rows.sort(key=lambda r: (r[2], r[0]))
    return rows


def gas_body(rows: list[list[str]]) -> dict[str, Any]:
    return {"status": "OK", "unit": "万立方米", "columns": ["area_code", "area_name", "hour", "volume", "area_type"], "rows": rows}


# --- oil company --------------------------------------------------------------------------------
def oil_records(world: World, d: date, now: int) -> list[dict[str, Any]]:
    day = day_number(d)
    out: list[dict[str, Any]] = []
    for e in (x for x in world.entities if x.kind in ("district", "park")):
        diesel = _daily_value(world, world.by_key[f"oil.diesel_sales|{e.kind}|{e.code}"], day, now, running=False)
        total = _daily_value(world, world.by_key[f"oil.refined_sales|{e.kind}|{e.code}"], day, now, running=False)
        if not diesel and not total:
            continue
        for i in range(max(len(diesel), len(total))):
            rec: dict[str, Any] = {"region_code": e.code, "region": e.name_zh, "region_type": e.kind,
                                   "date": d.isoformat()}
            if diesel:
                rec["diesel_t"] = round(diesel[min(i, len(diesel) - 1)], 2)
            if total:
                rec["total_t"] = round(total[min(i, len(total) - 1)], 2)
            out.append(rec)
    return out


# --- road transport -----------------------------------------------------------------------------
def road_records(world: World, first: date, last: date, now: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for day in range(day_number(first), day_number(last) + 1):
        for s in world.of("road.freight"):
            for v in _daily_value(world, s, day, now, running=False):
                out.append({"xzqh": s.entity.code, "rq": local_str(day_start(day), "%Y%m%d"), "hyl_wt": round(v / 10000, 4)})
    return out


def today(now: int) -> date:
    return date(1970, 1, 1) + timedelta(days=local_day(now))


# --- grid dispatch: power plants ------------------------------------------------------------------
STOCK_FIELD, BURN_FIELD, DAYS_FIELD = "存煤量(万吨)", "日耗煤量(万吨)", "可用天数"


def _plant_id(i: int) -> str:
    return f"WHRD{i + 1:03d}"  # the dispatch system's own plant number, beside the credit code


def dispatch_generation(world: World, d: date, now: int) -> list[dict[str, Any]]:
    """Each plant's generation curve for local day `d`: points "01".."24" (hour ending) in
    万千瓦时, only the hours already served. A duplicate delivery repeats a plant's record
    with the duplicated hours."""
    day = day_number(d)
    out: list[dict[str, Any]] = []
    for i, s in enumerate(world.of("power.generation")):
        first: dict[str, float] = {}
        again: dict[str, float] = {}
        for h in range(24):
            vals = _served(world, s, day_start(day) + h * 3600, now)
            for copy, v in enumerate(vals):
                (first if copy == 0 else again)[f"{h + 1:02d}"] = round(v / 10000, 4)
        for points in (first, again):
            if points:
                out.append({"plantId": _plant_id(i), "creditCode": s.entity.code, "plantName": s.entity.name_zh,
                            "points": points})
    return out


def dispatch_coal_stock(world: World, d: date, now: int) -> list[dict[str, Any]]:
    """Each plant's end-of-day coal for local day `d` (published the next morning): stock and
    the day's burn in 万吨 as strings, and the days the stock lasts at its planned burn."""
    day = day_number(d)
    out: list[dict[str, Any]] = []
    for i, s in enumerate(world.of("coal.plant_stock")):
        g = world.generation_of(s)
        for v in _daily_value(world, s, day, now, running=False):
            out.append({"plantId": _plant_id(i), "creditCode": s.entity.code, "plantName": s.entity.name_zh,
                        STOCK_FIELD: f"{v / 10000:.4f}", BURN_FIELD: f"{world.coal_burn(g, day) / 10000:.4f}",
                        DAYS_FIELD: f"{v / world.planned_burn(g, day):.1f}"})
    return out


def dispatch_body(key: str, d: date, records: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"retCode": "0000", "retMsg": "成功", "data": {key: d.isoformat(), **extra, "records": records}}
