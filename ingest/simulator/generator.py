"""Synthetic upstream data for the demo registry: a pure function of (seed, series, time).

No I/O and no clock: the simulator's HTTP server, backfills, the benchmark and the tests all
call the same functions, so what an upstream "said" for any past or present slot can always be
recomputed exactly.

Values are in each indicator's catalogue unit (kWh, t, m3, MW, car). The HTTP server converts
them to the unit its upstream really reports in (万吨, 万立方米 ...).

Patterns: daily and weekly cycles of power use (carbide and ferro-alloy furnaces shift load into
the night valley tariff), the Spring Festival (春节) dip placed by the lunar calendar, other
public holidays from `chinese_calendar`, heating-season gas, one planned maintenance shutdown
per enterprise and year. Power plants (热电) also report hourly generation (higher and flatter in
the heating season, otherwise following the grid's demand) and a daily end-of-day coal stock
that burns with their generation and is refilled by trains in lumps (see `plant_stock`).

Incidents (the ground truth written to the labels file) are drawn per 28-day epoch:
- production incidents per entity (all of its series): shutdown, level_shift, slow_decline;
- data incidents per series: spike, stuck_meter, missing_reports, late_data,
  duplicate_deliveries, unit_mixup.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property, lru_cache
from pathlib import Path

import chinese_calendar
import yaml
from lunardate import LunarDate

from backend.registry.demo import demo_enterprises

LOCAL_OFFSET_S = 8 * 3600  # Asia/Shanghai has no daylight saving time
DAY_S = 86400
STEP_S = {"15min": 900, "hour": 3600, "day": DAY_S}
EPOCH_DAYS = 28
WUHAI_FILE = Path(__file__).resolve().parents[2] / "backend" / "registry" / "data" / "wuhai.yaml"

# Industries whose furnaces and reactors run around the clock.
CONTINUOUS = frozenset({"carbide", "ferro_alloy", "chlor_alkali", "power", "coking"})
# Average electrical load per enterprise, kW.
BASE_KW = {"carbide": 30000, "ferro_alloy": 24000, "chlor_alkali": 20000, "power": 6000, "coking": 3000,
           "coal_mining": 4000, "coal_washing": 1500, "building_materials": 3000, "fine_chemicals": 2000,
           "other": 800}
# Daily output (t) of the product each industry reports to the coal-production monitoring system.
COAL_PRODUCT = {"coal_mining": ("coal.raw_output", 5000.0), "coal_washing": ("coal.washed_output", 2500.0),
                "coking": ("coke.output", 3000.0)}
RAIL_CARS = {"150304": 320.0, "150303": 280.0, "150302": 180.0, "150391": 60.0}
DIESEL_T = {"150304": 260.0, "150303": 300.0, "150302": 220.0, "150391": 120.0}
ROAD_T = {"150304": 28000.0, "150303": 35000.0, "150302": 22000.0, "150391": 12000.0}
RESIDENTIAL_MW = {"150302": 120.0, "150303": 45.0, "150304": 50.0, "150391": 30.0}
GAS_M3H = {"WD": 6000.0, "HN": 4500.0, "QLS": 5000.0, "DT": 3000.0}
# Gas delivered (m³/h) through each district's city-gate station to homes, businesses and
# industry outside the parks; the supplier reports a district's total (this plus its parks).
CITY_GAS_M3H = {"150302": 9000.0, "150303": 3000.0, "150304": 3500.0, "150391": 2500.0}
# Each park's railway siding (专用线) carries this share of its district's loadings; the
# railway bureau reports sidings on their own lines beside the district's total.
PARK_RAIL_SHARE = {"WD": 0.5, "HN": 0.4, "QLS": 0.45, "DT": 0.2}
# Diesel sold daily (t) by the oil company's filling stations inside each park (part of the
# district's sales, reported as their own sales area).
PARK_DIESEL_T = {"WD": 70.0, "HN": 60.0, "QLS": 55.0, "DT": 25.0}

# What a unit mix-up looks like per indicator: the factor by which the stored value is off
# (e.g. a meter sending Wh labelled kWh, a mine clerk typing tonnes into the 万吨 field).
UNIT_MIXUP = {"power.consumption": 1000.0, "coal.raw_output": 10000.0, "coal.washed_output": 10000.0,
              "coke.output": 10000.0, "gas.consumption": 10000.0, "oil.diesel_sales": 1000.0,
              "oil.refined_sales": 1000.0, "road.freight": 10000.0, "rail.tonnage_coal": 1000.0,
              "rail.tonnage_coke": 1000.0, "rail.tonnage_other": 1000.0, "coal.rail_in": 1000.0,
              "coal.rail_out": 1000.0, "power.generation": 10000.0, "coal.plant_stock": 10000.0}

# An upstream corrects a unit mix-up a day after it ends (the metering company rescales the
# meter's readings, the mine's clerk re-enters the figure); until then it serves it wrong.
UNIT_FIX_S = 86400

# Power plants (热电, combined heat and power). Average generation per unit of scale, kWh per hour;
# their own consumption (station service, `BASE_KW["power"]`) is about 5 % of it.
PLANT_KW = 110000.0
# Raw coal burnt per kWh generated: ~310 g of standard coal (7,000 kcal/kg) per kWh, as raw
# coal of ~4,500 kcal/kg; heat sent to the district heating network burns up to 35 % more.
RAW_COAL_T_PER_KWH = 310e-6 * 7000 / 4500
HEAT_BURN = 0.35
TRAIN_T = 3800.0  # one coal train: ~60 C70 wagons of ~63 t
# A plant's low point before its next trains, in days of planned burn: 15 outside the heating
# season, 10 in deep winter (winter stocks are run tighter), +-1 day from delivery to delivery.
STOCK_LOW_DAYS = 15.0
STOCK_WINTER_CUT = 5.0
# Supply shortfalls (a delivery cycle's trains only partly arrive: rail congestion, a mine
# halted by a safety inspection): chance per delivery cycle, higher in the heating season.
P_SHORTFALL, P_SHORTFALL_WINTER = 0.03, 0.07

PRODUCTION_KINDS = ("shutdown", "level_shift", "slow_decline")
DATA_KINDS = ("spike", "stuck_meter", "missing_reports", "late_data", "duplicate_deliveries", "unit_mixup")
# Kinds a detector is expected to find in the values; the others are delivery problems.
VALUE_KINDS = frozenset({"shutdown", "level_shift", "slow_decline", "spike", "stuck_meter", "unit_mixup",
                         "missing_reports", "supply_shortfall"})
P_PRODUCTION = 0.12  # per entity and epoch
P_DATA = 0.15  # per series and epoch

# Publication delays: how long after the end of a slot the upstream serves it.
NORMAL_DELAY_S = {"15min": 600, "hour": 1200, "day": 2 * 3600}
LATE_EXTRA_S = {"15min": 90 * 60, "hour": 3 * 3600, "day": DAY_S}

_M64 = (1 << 64) - 1


def _sm(x: int) -> int:
    """splitmix64: a fast, well-mixed integer hash."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def _u(seed: int, h: int, n: int, salt: int = 0) -> float:
    """Uniform [0, 1) for (seed, hash, slot, salt)."""
    return _sm(_sm(_sm(seed ^ h) ^ (n & _M64)) ^ salt) / 18446744073709551616.0


def _hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


@dataclass(frozen=True)
class Entity:
    kind: str  # enterprise | district | park
    code: str  # USCC, district code or park code
    name_zh: str
    district: str
    park: str | None = None
    group: str | None = None  # industry group, enterprises only
    scale: float = 1.0

    @cached_property
    def h(self) -> int:
        return _hash(f"{self.kind}|{self.code}")


@dataclass(frozen=True)
class SeriesDef:
    indicator: str
    entity: Entity
    frequency: str  # 15min | hour | day
    profile: str  # power | grid | coal | rail | oil | road | gas | generation | stock
    base: float  # typical value per slot, in the indicator's unit

    @property
    def key(self) -> str:
        return f"{self.indicator}|{self.entity.kind}|{self.entity.code}"

    @cached_property
    def h(self) -> int:
        return _hash(self.key)

    @property
    def step_s(self) -> int:
        return STEP_S[self.frequency]


def rail_and_oil(e: Entity, cars: float, diesel_t: float) -> list[SeriesDef]:
    """Daily rail loadings (cars and tonnages) and oil sales of a district or a park."""
    return [SeriesDef("rail.loading_cars", e, "day", "rail", cars),
            SeriesDef("rail.tonnage_coal", e, "day", "rail", cars * 0.68 * 62),
            SeriesDef("rail.tonnage_coke", e, "day", "rail", cars * 0.2 * 58),
            SeriesDef("rail.tonnage_other", e, "day", "rail", cars * 0.12 * 55),
            SeriesDef("coal.rail_out", e, "day", "rail", cars * 0.68 * 62 * 0.95),
            SeriesDef("coal.rail_in", e, "day", "rail", cars * 0.68 * 62 * 0.35),
            SeriesDef("oil.diesel_sales", e, "day", "oil", diesel_t),
            SeriesDef("oil.refined_sales", e, "day", "oil", diesel_t * 1.6)]


@dataclass(frozen=True)
class Incident:
    series_key: str
    kind: str
    start: int  # epoch seconds, inclusive
    end: int  # epoch seconds, exclusive
    factor: float = 1.0
    planned: bool = False  # planned maintenance: expected, not an anomaly

    def covers(self, t: int) -> bool:
        return self.start <= t < self.end

    def label(self) -> dict[str, object]:
        indicator, kind, code = self.series_key.split("|")
        return {"series": self.series_key, "indicator": indicator, "entity_kind": kind, "entity_code": code,
                "kind": self.kind, "start": _iso(self.start), "end": _iso(self.end),
                "anomaly": (self.kind in VALUE_KINDS) and not self.planned, "factor": round(self.factor, 4)}


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def epoch_s(t: datetime) -> int:
    if t.tzinfo is None:
        raise ValueError("naive datetime: times must be timezone-aware")
    return int(t.timestamp())


def local_day(t: int) -> int:
    """Days since 1970-01-01 of the local (UTC+8) date of epoch second `t`."""
    return (t + LOCAL_OFFSET_S) // DAY_S


def local_hour(t: int) -> float:
    return ((t + LOCAL_OFFSET_S) % DAY_S) / 3600.0


def day_start(day: int) -> int:
    """Epoch second of local midnight starting local day number `day`."""
    return day * DAY_S - LOCAL_OFFSET_S


@lru_cache(maxsize=4096)
def _calendar(day: int) -> tuple[int | None, bool, int]:
    """(offset from the nearest lunar new year, other public holiday, weekday) for a local day."""
    d = date(1970, 1, 1) + timedelta(days=day)
    offset = None
    for year in (d.year, d.year + 1, d.year - 1):
        try:
            ny = LunarDate(year, 1, 1).to_solar_date()
        except ValueError:
            continue
        if -12 <= (d - ny).days <= 20:
            offset = (d - ny).days
            break
    try:
        holiday = chinese_calendar.is_holiday(d) and d.weekday() < 5 and offset is None
    except NotImplementedError:
        holiday = False
    return offset, holiday, d.weekday()


def _dip(offset: int | None, depth: float, before: int, after: int) -> float:
    """A dip to `depth` from `before` days ahead of lunar new year to `after` days after it,
    ramping linearly over two days at each end."""
    if offset is None or offset < -before or offset > after:
        return 1.0
    edge = min(offset + before, after - offset)
    if edge >= 2:
        return depth
    return 1.0 - (1.0 - depth) * (edge + 1) / 3.0


def spring_festival_factor(profile: str, group: str | None, day: int) -> float:
    offset, _, _ = _calendar(day)
    if offset is None:
        return 1.0
    if profile in ("power", "coal"):
        if group == "coal_mining":
            return _dip(offset, 0.15, 5, 10)  # miners go home: mines stand nearly still
        if group == "coal_washing":
            return _dip(offset, 0.3, 4, 9)
        if group in CONTINUOUS:
            return _dip(offset, 0.88, 1, 6)
        return _dip(offset, 0.4, 3, 12)
    if profile == "grid":
        return _dip(offset, 0.75, 3, 10)
    if profile == "gas":
        return _dip(offset, 0.75, 2, 8)
    if profile == "road":
        return _dip(offset, 0.35, 5, 12)
    if profile == "oil":
        return _dip(offset, 0.5, 4, 10)
    if profile == "generation":
        return _dip(offset, 0.85, 2, 8)  # the grid's festival dip, softened by the heat load
    return _dip(offset, 0.6, 4, 10)  # rail


def heating_intensity(day: int) -> float:
    """0 outside the heating season (15 Oct - 15 Apr in Wuhai), else 0.4..1 peaking mid-January."""
    d = date(1970, 1, 1) + timedelta(days=day)
    md = (d.month, d.day)
    if (4, 15) < md < (10, 15):
        return 0.0
    doy = d.timetuple().tm_yday
    return 0.4 + 0.6 * max(0.0, math.cos(2 * math.pi * (doy - 15) / 365.0))


@dataclass
class World:
    """The demo city as the upstreams see it: entities and series, for one seed."""

    seed: int = 1
    enterprises: int = 150
    registry_seed: int = 20261127
    entities: list[Entity] = field(default_factory=list)
    series: list[SeriesDef] = field(default_factory=list)
    by_key: dict[str, SeriesDef] = field(default_factory=dict)
    # coal burnt per (generation series key, local day): a cache, the values are pure
    _burns: dict[tuple[str, int], float] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        doc = yaml.safe_load(WUHAI_FILE.read_text(encoding="utf-8"))
        districts = [Entity("district", str(d["code"]), d["name_zh"], str(d["code"])) for d in doc["districts"]]
        parks = [Entity("park", str(p["code"]), p["name_zh"], str(p["district"]), str(p["code"]))
                 for p in doc["parks"]]
        ents: list[Entity] = []
        for spec in demo_enterprises(self.enterprises, self.registry_seed):
            v = spec.versions[-1]
            scale = 0.5 + _u(self.seed, _hash(spec.uscc), 0, 1)
            ents.append(Entity("enterprise", spec.uscc, spec.name_zh, v.district_code, v.park_code,
                               v.industry_group, scale))
        self.entities = districts + parks + ents
        out: list[SeriesDef] = []
        for e in ents:
            assert e.group is not None
            out.append(SeriesDef("power.consumption", e, "15min", "power", BASE_KW[e.group] * 0.25 * e.scale))
            if e.group in COAL_PRODUCT:
                code, base = COAL_PRODUCT[e.group]
                out.append(SeriesDef(code, e, "day", "coal", base * e.scale))
        for d in districts:
            load = RESIDENTIAL_MW[d.code] + sum(
                BASE_KW[e.group or "other"] * e.scale / 1000 for e in ents if e.district == d.code)
            out.append(SeriesDef("power.grid_load", d, "15min", "grid", load))
            gas = CITY_GAS_M3H[d.code] + sum(GAS_M3H[p.code] for p in parks if p.district == d.code)
            out += [*rail_and_oil(d, RAIL_CARS[d.code], DIESEL_T[d.code]),
                    SeriesDef("gas.consumption", d, "hour", "gas", gas),
                    SeriesDef("road.freight", d, "day", "road", ROAD_T[d.code])]
        for p in parks:
            out.append(SeriesDef("gas.consumption", p, "hour", "gas", GAS_M3H[p.code]))
            out += rail_and_oil(p, RAIL_CARS[p.district] * PARK_RAIL_SHARE[p.code], PARK_DIESEL_T[p.code])
        # Power plants' generation and coal stock come last: series added later never move the
        # values or incidents of the others (everything is keyed by the series' own hash).
        for e in ents:
            if e.group == "power":
                kw = PLANT_KW * e.scale
                out += [SeriesDef("power.generation", e, "hour", "generation", kw),
                        SeriesDef("coal.plant_stock", e, "day", "stock",
                                  STOCK_LOW_DAYS * kw * 24 * 0.8 * RAW_COAL_T_PER_KWH)]
        self.series = out
        self.by_key = {s.key: s for s in out}

    def of(self, indicator: str) -> list[SeriesDef]:
        return [s for s in self.series if s.indicator == indicator]

    def enterprise_entities(self) -> list[Entity]:
        return [e for e in self.entities if e.kind == "enterprise"]

    # --- values ---------------------------------------------------------------------------
    def true_value(self, s: SeriesDef, t: int) -> float:
        """The value the world had in slot `t` (epoch seconds of the slot start), including
        production incidents and planned maintenance, excluding data faults."""
        if s.profile == "grid":
            return self._grid(s, t)
        if s.profile == "stock":
            return self.plant_stock(s, local_day(t))
        day = local_day(t)
        value = s.base * self._shape(s, t, day)
        value *= self._production_factor(s, t)
        noise = 0.04 if s.frequency != "day" else 0.06
        value *= 1.0 + noise * (_u(self.seed, s.h, t // s.step_s, 7) + _u(self.seed, s.h, t // s.step_s, 8) - 1.0)
        return max(value, 0.0)

    def _shape(self, s: SeriesDef, t: int, day: int) -> float:
        offset, holiday, weekday = _calendar(day)
        group = s.entity.group
        f = spring_festival_factor(s.profile, group, day)
        if s.profile == "power":
            h = local_hour(t)
            if group in ("carbide", "ferro_alloy"):
                # furnaces follow the time-of-use tariff: full load in the night valley
                f *= 1.08 if (h >= 23 or h < 7) else (0.93 if (8 <= h < 11 or 18 <= h < 22) else 1.0)
            elif group in CONTINUOUS:
                f *= 1.0 + 0.03 * math.cos(2 * math.pi * (h - 14) / 24)
            else:
                f *= 0.55 + 0.45 * math.exp(-(((h - 13.5) / 4.5) ** 2))
                f *= 0.8 if weekday == 6 else (0.9 if weekday == 5 else 1.0)
                f *= 0.85 if holiday else 1.0
        elif s.profile == "coal":
            f *= 0.95 if weekday == 6 and group not in CONTINUOUS else 1.0
        elif s.profile == "generation":
            h = local_hour(t)
            heat = heating_intensity(day)
            # combined heat and power: in the heating season the heat load keeps the units high
            # and flat (以热定电); otherwise they follow the grid's demand (morning and evening peaks)
            demand = 0.86 + 0.10 * math.exp(-(((h - 11) / 3.0) ** 2)) + 0.16 * math.exp(-(((h - 20) / 2.5) ** 2))
            f *= (0.8 + 0.3 * heat) * (1.0 + (1.0 - 0.6 * heat) * (demand - 0.912))
        elif s.profile == "gas":
            h = local_hour(t)
            heat = heating_intensity(day)
            industrial = 1.0 + 0.1 * math.cos(2 * math.pi * (h - 14) / 24)
            heating = heat * 0.9 * (1.0 + 0.2 * math.cos(2 * math.pi * (h - 5) / 24))
            f *= (industrial + heating) / (1.0 + 0.45)
        elif s.profile in ("oil", "road"):
            f *= 0.88 if weekday >= 5 else 1.0
            f *= 0.8 if holiday else 1.0
        elif s.profile == "rail":
            # a shared daily activity factor per district, so cars and tonnages move together
            f *= 1.0 + 0.08 * (_u(self.seed, s.entity.h, day, 11) - 0.5)
        return f

    def _grid(self, s: SeriesDef, t: int) -> float:
        total = 0.0
        for e in self.series:
            if e.profile == "power" and e.entity.district == s.entity.code:
                total += self.true_value(e, t)
        h = local_hour(t)
        residential = RESIDENTIAL_MW[s.entity.code] * (0.7 + 0.45 * math.exp(-(((h - 20) / 2.5) ** 2)))
        residential *= spring_festival_factor("grid", None, local_day(t))
        mw = total / 250.0 + residential  # kWh per 15 min -> MW
        return mw * (1.0 + 0.01 * (_u(self.seed, s.h, t // 900, 7) - 0.5))

    # --- power plants' coal --------------------------------------------------------------
    def generation_of(self, stock: SeriesDef) -> SeriesDef:
        """The generation series of the plant a coal-stock series belongs to."""
        return self.by_key[f"power.generation|{stock.entity.kind}|{stock.entity.code}"]

    def planned_burn(self, g: SeriesDef, day: int) -> float:
        """Coal (t) a plant plans to burn on a local day: its normal generation for the season,
        no incidents. Stock levels and the 可用天数 it reports are counted in these days."""
        heat = heating_intensity(day)
        return g.base * 24 * (0.8 + 0.3 * heat) * RAW_COAL_T_PER_KWH * (1.0 + HEAT_BURN * heat)

    def coal_burn(self, g: SeriesDef, day: int) -> float:
        """Coal (t) a plant burnt on a local day: its true hourly generation that day times the
        raw coal per kWh (more in the heating season, for the heat it supplies)."""
        key = (g.key, day)
        if key not in self._burns:
            t0 = day_start(day)
            kwh = sum(self.true_value(g, t0 + 3600 * h) for h in range(24))
            self._burns[key] = kwh * RAW_COAL_T_PER_KWH * (1.0 + HEAT_BURN * heating_intensity(day))
        return self._burns[key]

    def deliveries(self, s: SeriesDef, day: int) -> float:
        """Coal (t) arriving at a plant by train on a local day: whole trains from the start of
        its delivery cycle, two a day (more only if the cycle could not take them otherwise)."""
        k = cycle_of_day(self.seed, s, day)
        first, end = cycle_days(self.seed, s, k)
        g = self.generation_of(s)
        total = self._low_point(s, g, k) - self._low_point(s, g, k - 1) + sum(
            self.coal_burn(g, d) for d in range(first, end))
        if total <= 0:
            return 0.0
        trains = max(1, round(total / TRAIN_T))
        per_day = max(2, -(-trains // (end - first)))
        arriving = min(per_day, max(0, trains - per_day * (day - first)))
        return total / trains * arriving

    def plant_stock(self, s: SeriesDef, day: int) -> float:
        """End-of-day coal stock (t) of a plant: the last cycle's low point plus this cycle's
        trains so far minus what was burnt so far, so that stock(d) = stock(d - 1) +
        deliveries(d) - burn(d) on every day."""
        k = cycle_of_day(self.seed, s, day)
        first, _ = cycle_days(self.seed, s, k)
        g = self.generation_of(s)
        stock = self._low_point(s, g, k - 1)
        for d in range(first, day + 1):
            stock += self.deliveries(s, d) - self.coal_burn(g, d)
        return max(stock, 0.0)

    def _low_point(self, s: SeriesDef, g: SeriesDef, k: int) -> float:
        """Stock (t) at the end of delivery cycle `k`, just before the next trains. Planned:
        15 days of planned burn outside the heating season, 10 in deep winter, +-1 day. While
        the plant is down or cut back (incident or maintenance) the trains only replace what
        it burnt; in a supply shortfall only part of the planned trains arrive."""
        first, end = cycle_days(self.seed, s, k)
        if _disturbed(self.seed, s.entity, first, end):
            return self._low_point(s, g, k - 1)
        days = STOCK_LOW_DAYS - STOCK_WINTER_CUT * heating_intensity(end - 1) + 2.0 * (_u(self.seed, s.h, k, 54) - 0.5)
        planned = days * self.planned_burn(g, end - 1)
        short = shortfall(self.seed, s, k)
        if short is None:
            return planned
        prev = self._low_point(s, g, k - 1)
        burnt = sum(self.coal_burn(g, d) for d in range(first, end))
        return prev + short * max(planned - prev + burnt, 0.0) - burnt

    def _production_factor(self, s: SeriesDef, t: int) -> float:
        f = 1.0
        for inc in entity_incidents(self.seed, s.entity, epoch_of(t)):
            if inc.covers(t):
                if inc.kind == "slow_decline":
                    frac = (t - inc.start) / max(inc.end - inc.start, 1)
                    f *= 1.0 - (1.0 - inc.factor) * frac
                else:
                    f *= inc.factor
        return f

    def observed(self, s: SeriesDef, t: int, now: int | None = None) -> float | None:
        """What the upstream reports for slot `t`, in the indicator's unit: the true value with
        data incidents applied. None when the report is missing. With `now`, a unit mix-up that
        ended at least `UNIT_FIX_S` before `now` has been corrected upstream (served right, as a
        revision of what was served wrong before); without it, as it was first served."""
        incs = [i for i in series_incidents(self.seed, s, epoch_of(t)) if i.covers(t)]
        value: float | None = None
        for inc in incs:
            if inc.kind == "missing_reports":
                return None
            if inc.kind == "stuck_meter":
                value = self.true_value(s, inc.start)
        if value is None:
            value = self.true_value(s, t)
        for inc in incs:
            if inc.kind == "unit_mixup" and now is not None and now >= inc.end + UNIT_FIX_S:
                continue
            if inc.kind in ("spike", "unit_mixup"):
                value *= inc.factor
        return value

    def available_at(self, s: SeriesDef, t: int) -> int:
        """Epoch second from which the upstream serves slot `t`."""
        ready = t + s.step_s + NORMAL_DELAY_S[s.frequency]
        if any(i.kind == "late_data" and i.covers(t) for i in series_incidents(self.seed, s, epoch_of(t))):
            ready += LATE_EXTRA_S[s.frequency]
        return ready

    def duplicated(self, s: SeriesDef, t: int) -> bool:
        return any(i.kind == "duplicate_deliveries" and i.covers(t)
                   for i in series_incidents(self.seed, s, epoch_of(t)))

    def slots(self, s: SeriesDef, start: int, end: int) -> range:
        """Slot starts of `s` in [start, end). Daily slots start at local midnight."""
        step = s.step_s
        if s.frequency == "day":
            first = day_start(local_day(start))
            if first < start:
                first += DAY_S
        else:
            first = -(-start // step) * step
        return range(first, end, step)

    # --- ground truth ---------------------------------------------------------------------
    def incidents(self, start: int, end: int) -> list[Incident]:
        """Every incident (and planned maintenance) overlapping [start, end), per series."""
        out: list[Incident] = []
        for e0 in range(epoch_of(start), epoch_of(end - 1) + 1):
            for s in self.series:
                if s.profile != "grid":
                    for inc in entity_incidents(self.seed, s.entity, e0):
                        out.append(Incident(s.key, inc.kind, inc.start, inc.end, inc.factor, inc.planned))
                out.extend(series_incidents(self.seed, s, e0))
        return sorted((i for i in out if i.end > start and i.start < end), key=lambda i: (i.start, i.series_key))


def epoch_of(t: int) -> int:
    return local_day(t) // EPOCH_DAYS


@lru_cache(maxsize=65536)
def entity_incidents(seed: int, entity: Entity, epoch: int) -> tuple[Incident, ...]:
    """Production incidents of one entity in one epoch (with its planned maintenance)."""
    out: list[Incident] = []
    key = f"*|{entity.kind}|{entity.code}"
    h = entity.h
    first_day = epoch * EPOCH_DAYS
    if entity.kind == "enterprise":
        # planned maintenance: once a year, between April and October, 3-7 days
        for day in range(first_day, first_day + EPOCH_DAYS):
            d = date(1970, 1, 1) + timedelta(days=day)
            doy = d.timetuple().tm_yday
            start_doy = 95 + int(_u(seed, h, d.year, 21) * 190)
            if doy == start_doy:
                length = 3 + int(_u(seed, h, d.year, 22) * 5)
                out.append(Incident(key, "planned_maintenance", day_start(day), day_start(day + length),
                                    0.08, planned=True))
    if _u(seed, h, epoch, 31) < P_PRODUCTION:
        kind = PRODUCTION_KINDS[int(_u(seed, h, epoch, 32) * len(PRODUCTION_KINDS))]
        if entity.kind != "enterprise" and kind == "shutdown":
            kind = "level_shift"
        length = {"shutdown": 2 + int(_u(seed, h, epoch, 33) * 6),
                  "level_shift": 10 + int(_u(seed, h, epoch, 33) * 10),
                  "slow_decline": 10 + int(_u(seed, h, epoch, 33) * 10)}[kind]
        start_day = first_day + 1 + int(_u(seed, h, epoch, 34) * (EPOCH_DAYS - length - 2))
        factor = {"shutdown": 0.03, "level_shift": 0.55 + 0.25 * _u(seed, h, epoch, 35),
                  "slow_decline": 0.5}[kind]
        start = day_start(start_day) + 3600 * int(_u(seed, h, epoch, 36) * 24)
        out.append(Incident(key, kind, start, start + length * DAY_S, factor))
    return tuple(out)


def delivery_cycle(seed: int, s: SeriesDef) -> tuple[int, int]:
    """(length in days, phase) of a plant's coal delivery cycle: 5-7 days."""
    length = 5 + int(_u(seed, s.h, 0, 52) * 3)
    return length, int(_u(seed, s.h, 0, 53) * length)


def cycle_of_day(seed: int, s: SeriesDef, day: int) -> int:
    length, phase = delivery_cycle(seed, s)
    return (day + phase) // length


def cycle_days(seed: int, s: SeriesDef, k: int) -> tuple[int, int]:
    """First local day of delivery cycle `k` and the first day after it."""
    length, phase = delivery_cycle(seed, s)
    return k * length - phase, (k + 1) * length - phase


def _disturbed(seed: int, entity: Entity, first: int, end: int) -> bool:
    """Whether a production incident or planned maintenance of `entity` touches local days [first, end)."""
    a, b = day_start(first), day_start(end)
    return any(i.end > a and i.start < b for ep in range(epoch_of(a), epoch_of(b - 1) + 1)
               for i in entity_incidents(seed, entity, ep))


def shortfall(seed: int, s: SeriesDef, k: int) -> float | None:
    """The share of its planned coal a plant receives in delivery cycle `k` when a supply
    shortfall hits it (0.3-0.6), else None. Not while the plant itself is disturbed."""
    first, end = cycle_days(seed, s, k)
    if _u(seed, s.h, k, 55) >= P_SHORTFALL + P_SHORTFALL_WINTER * heating_intensity(first):
        return None
    if _disturbed(seed, s.entity, first, end):
        return None
    return 0.3 + 0.3 * _u(seed, s.h, k, 56)


def _supply_incidents(seed: int, s: SeriesDef, epoch: int) -> tuple[Incident, ...]:
    """Supply shortfalls of a plant's delivery cycles starting in `epoch`."""
    out = []
    first_day = epoch * EPOCH_DAYS
    for k in range(cycle_of_day(seed, s, first_day), cycle_of_day(seed, s, first_day + EPOCH_DAYS - 1) + 1):
        first, end = cycle_days(seed, s, k)
        factor = shortfall(seed, s, k)
        if factor is not None and first_day <= first < first_day + EPOCH_DAYS:
            out.append(Incident(s.key, "supply_shortfall", day_start(first), day_start(end), factor))
    return tuple(out)


@lru_cache(maxsize=65536)
def series_incidents(seed: int, s: SeriesDef, epoch: int) -> tuple[Incident, ...]:
    """Data incidents of one series in one epoch (and a plant's supply shortfalls)."""
    data = _data_incidents(seed, s, epoch)
    return data + _supply_incidents(seed, s, epoch) if s.profile == "stock" else data


def _data_incidents(seed: int, s: SeriesDef, epoch: int) -> tuple[Incident, ...]:
    h = s.h
    if _u(seed, h, epoch, 41) >= P_DATA:
        return ()
    kinds = [k for k in DATA_KINDS
             if not (k == "stuck_meter" and s.frequency == "day")
             and not (k == "unit_mixup" and s.indicator not in UNIT_MIXUP)]
    kind = kinds[int(_u(seed, h, epoch, 42) * len(kinds))]
    step = s.step_s
    u = _u(seed, h, epoch, 43)
    if s.frequency == "day":
        length = {"spike": 1, "missing_reports": 1 + int(u * 3), "late_data": 1 + int(u * 2),
                  "duplicate_deliveries": 1 + int(u * 3), "unit_mixup": 1 + int(u * 4)}[kind] * DAY_S
    else:
        hours = {"spike": 0.25 if step == 900 else 1, "stuck_meter": 6 + u * 42, "missing_reports": 2 + u * 10,
                 "late_data": 1 + u * 3, "duplicate_deliveries": 24, "unit_mixup": 24 + u * 72}[kind]
        length = max(step, int(hours * 3600) // step * step)
    first = day_start(epoch * EPOCH_DAYS + 1)
    span = (EPOCH_DAYS - 3) * DAY_S - length
    start = first + int(_u(seed, h, epoch, 44) * span) // step * step
    if s.frequency == "day":
        start = day_start(local_day(start))
    factor = 1.0
    if kind == "spike":
        factor = 3.0 + 2.0 * _u(seed, h, epoch, 45)
    elif kind == "unit_mixup":
        factor = UNIT_MIXUP[s.indicator]
    return (Incident(s.key, kind, start, start + length, factor),)
