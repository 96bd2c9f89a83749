"""Every upstream source, declared in one place: what it is, where it lives, how often it is
fetched, how a time window becomes requests, which parser reads it, how its watermark moves.

The watermark is the end of the window fetched and stored so far. Each run fetches from
`watermark - lookback` (to pick up late and corrected data; re-delivered rows are no-ops) to
the source's current window end, in chunks; each chunk is stored in one transaction together
with its watermark.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from backend.config import Settings
from backend.ingestion.batch import ParseResult
from ingest.sources import parsers
from ingest.sources.client import RequestSpec
from ingest.sources.parsers import UPSTREAM_TZ, Payload

Planner = Callable[[datetime, datetime, str], list[RequestSpec]]


@dataclass(frozen=True)
class SourceDef:
    name: str
    family: str  # coal | power | oil | gas | transport
    upstream: str  # key for the URL and credential in settings: power, coal, rail, gas, oil, road, dispatch
    title_zh: str
    title_en: str
    plan: Planner  # (window start, window end, credential) -> requests
    parse: Callable[[Payload], ParseResult]
    interval_s: float  # schedule
    step: timedelta  # the data's resolution; windows align to it
    lookback: timedelta
    chunk: timedelta
    initial_history: timedelta  # how far back the first run starts
    max_catchup: timedelta  # after a long outage, fetch at most this far back
    expected_lag: timedelta  # normal delay between a slot and its publication
    daily: bool = False  # windows align to local (Beijing) midnight

    def window_end(self, now: datetime) -> datetime:
        """Exclusive end of what can be asked for at `now`: the current slot boundary, or the
        next local midnight for daily sources (so today's running figures are included)."""
        if self.daily:
            local = now.astimezone(UPSTREAM_TZ)
            return datetime.combine(local.date() + timedelta(days=1), datetime.min.time(),
                                    UPSTREAM_TZ).astimezone(UTC)
        step = int(self.step.total_seconds())
        return datetime.fromtimestamp(int(now.timestamp()) // step * step, UTC)

    def window(self, watermark: datetime | None, now: datetime) -> tuple[datetime, datetime]:
        end = self.window_end(now)
        start = (watermark - self.lookback) if watermark else end - self.initial_history
        return max(start, end - self.max_catchup), end

    def align(self, t: datetime) -> datetime:
        """Round down to the data's resolution (local midnight for daily sources)."""
        if self.daily:
            local = t.astimezone(UPSTREAM_TZ)
            return datetime.combine(local.date(), datetime.min.time(), UPSTREAM_TZ).astimezone(UTC)
        step = int(self.step.total_seconds())
        return datetime.fromtimestamp(int(t.timestamp()) // step * step, UTC)

    def chunks(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        out = []
        a = self.align(start)
        while a < end:
            b = min(a + self.chunk, end)
            out.append((a, b))
            a = b
        return out


def _local(t: datetime, fmt: str) -> str:
    return t.astimezone(UPSTREAM_TZ).strftime(fmt)


def _days(start: datetime, end: datetime) -> list[date]:
    """Local dates of the days starting in [start, end)."""
    first = start.astimezone(UPSTREAM_TZ).date()
    last = (end - timedelta(microseconds=1)).astimezone(UPSTREAM_TZ).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def plan_metering(path: str) -> Planner:
    def plan(start: datetime, end: datetime, token: str) -> list[RequestSpec]:
        return [RequestSpec(path, {"start": _local(start, "%Y-%m-%d %H:%M:%S"), "end": _local(end, "%Y-%m-%d %H:%M:%S"),
                                   "page_size": "10000"}, _bearer(token), paged=True)]
    return plan


def plan_coal(start: datetime, end: datetime, key: str) -> list[RequestSpec]:
    return [RequestSpec("/coal/api/daily-output", {"date": d.isoformat()}, {"X-Api-Key": key}) for d in _days(start, end)]


def plan_rail(start: datetime, end: datetime, password: str) -> list[RequestSpec]:
    days = _days(start, end)
    return [RequestSpec("/rail/loadings.csv", {"from": days[0].isoformat(), "to": days[-1].isoformat()},
                        basic_auth=("yunjian", password))]


def plan_gas(start: datetime, end: datetime, token: str) -> list[RequestSpec]:
    return [RequestSpec("/gas/openapi/hourly", {"begin": _local(start, "%Y%m%d%H"),
                                                "end": _local(end - timedelta(hours=1), "%Y%m%d%H"),
                                                "access_token": token})]


def plan_oil(start: datetime, end: datetime, token: str) -> list[RequestSpec]:
    return [RequestSpec("/oil/api/v1/sales", {"date": d.isoformat()}, _bearer(token)) for d in _days(start, end)]


def plan_road(start: datetime, end: datetime, token: str) -> list[RequestSpec]:
    days = _days(start, end)
    return [RequestSpec("/road/api/freight", {"start_date": days[0].isoformat(), "end_date": days[-1].isoformat()},
                        _bearer(token))]


def plan_dispatch(path: str) -> Planner:
    """One request per local day; the grid dispatch system wants its app id and token as headers."""
    def plan(start: datetime, end: datetime, token: str) -> list[RequestSpec]:
        return [RequestSpec(path, {"date": d.isoformat()}, {"X-App-Id": "yunjian", "X-App-Token": token})
                for d in _days(start, end)]
    return plan


H, D = timedelta(hours=1), timedelta(days=1)


def all_sources() -> list[SourceDef]:
    """The whole catalogue of upstream sources."""
    return [
        SourceDef("power_metering", "power", "power", "电力公司计量系统：企业15分钟用电量",
                  "Power company metering: enterprise 15-minute consumption",
                  plan_metering("/metering/api/v2/interval-data"), parsers.parse_metering, interval_s=60,
                  step=timedelta(minutes=15), lookback=3 * H, chunk=6 * H, initial_history=D, max_catchup=7 * D,
                  expected_lag=30 * timedelta(minutes=1)),
        SourceDef("power_grid_load", "power", "power", "电力公司计量系统：区县电网负荷",
                  "Power company metering: district grid load",
                  plan_metering("/metering/api/v2/area-load"), parsers.parse_area_load, interval_s=60,
                  step=timedelta(minutes=15), lookback=3 * H, chunk=12 * H, initial_history=D, max_catchup=7 * D,
                  expected_lag=30 * timedelta(minutes=1)),
        SourceDef("coal_production", "coal", "coal", "煤炭产量监测系统：企业日产量",
                  "Coal-production monitoring: daily enterprise output", plan_coal, parsers.parse_coal,
                  interval_s=600, step=D, lookback=2 * D, chunk=7 * D, initial_history=30 * D, max_catchup=60 * D,
                  expected_lag=D, daily=True),
        SourceDef("rail_loadings", "transport", "rail", "铁路局：分站日装车及煤炭运量",
                  "Railway bureau: daily loadings per station", plan_rail, parsers.parse_rail,
                  interval_s=900, step=D, lookback=3 * D, chunk=31 * D, initial_history=30 * D, max_catchup=60 * D,
                  expected_lag=2 * D, daily=True),
        SourceDef("gas_hourly", "gas", "gas", "燃气公司：园区小时用气量", "Gas supplier: hourly consumption per park",
                  plan_gas, parsers.parse_gas, interval_s=300, step=H, lookback=6 * H, chunk=3 * D,
                  initial_history=3 * D, max_catchup=7 * D, expected_lag=2 * H),
        SourceDef("oil_sales", "oil", "oil", "石油公司：区县日成品油销量", "Oil company: daily sales per district",
                  plan_oil, parsers.parse_oil, interval_s=900, step=D, lookback=3 * D, chunk=7 * D,
                  initial_history=30 * D, max_catchup=60 * D, expected_lag=2 * D, daily=True),
        SourceDef("road_freight", "transport", "road", "交通运输局：区县日公路货运量",
                  "Transport bureau: daily road freight per district", plan_road, parsers.parse_road,
                  interval_s=900, step=D, lookback=3 * D, chunk=31 * D, initial_history=30 * D, max_catchup=60 * D,
                  expected_lag=2 * D, daily=True),
        # Hourly, but asked for by local day (the dispatch system serves a plant's day as one
        # curve): a run stores every hour served for the days its window touches; the hours
        # outside the window are re-deliveries (no-ops) or simply early.
        SourceDef("plant_generation", "power", "dispatch", "电网调度系统：电厂小时发电量",
                  "Grid dispatch: hourly generation per power plant",
                  plan_dispatch("/dispatch/api/v1/plant-generation"), parsers.parse_dispatch_generation,
                  interval_s=300, step=H, lookback=6 * H, chunk=2 * D, initial_history=3 * D, max_catchup=7 * D,
                  expected_lag=2 * H),
        SourceDef("plant_coal_stock", "coal", "dispatch", "电网调度系统：电厂日末存煤",
                  "Grid dispatch: power plants' end-of-day coal stock",
                  plan_dispatch("/dispatch/api/v1/plant-coal"), parsers.parse_dispatch_coal,
                  interval_s=900, step=D, lookback=3 * D, chunk=7 * D, initial_history=30 * D, max_catchup=60 * D,
                  expected_lag=D, daily=True),
    ]


def sources_for(settings: Settings) -> list[SourceDef]:
    """The sources this worker schedules (YUNJIAN_INGEST_ONLY narrows them)."""
    only = {s.strip() for s in settings.ingest_only.split(",") if s.strip()}
    found = all_sources()
    unknown = only - {s.name for s in found}
    if unknown:
        raise ValueError(f"unknown sources in YUNJIAN_INGEST_ONLY: {sorted(unknown)}")
    return [s for s in found if not only or s.name in only]


def source_named(name: str) -> SourceDef:
    for s in all_sources():
        if s.name == name:
            return s
    raise KeyError(f"unknown source {name!r}; known: {', '.join(s.name for s in all_sources())}")
