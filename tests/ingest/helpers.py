"""What the simulator served versus what the database holds, for exact comparisons."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from ingest.simulator.generator import World, local_day

Key = tuple[str, str, str, datetime]  # indicator, entity kind, entity code, time


def _ten_k(v: float) -> float:
    return round(v / 10000, 4) * 10000


# How each upstream rounds on the wire (in the indicator's unit after conversion).
WIRE = {"power.consumption": lambda v: round(v, 2), "power.grid_load": lambda v: round(v, 3),
        "coal.raw_output": _ten_k, "coal.washed_output": _ten_k, "coke.output": _ten_k,
        "rail.loading_cars": lambda v: float(round(v)), "gas.consumption": _ten_k,
        "oil.diesel_sales": lambda v: round(v, 2), "oil.refined_sales": lambda v: round(v, 2),
        "road.freight": _ten_k, "power.generation": _ten_k, "coal.plant_stock": _ten_k}


def expected(world: World, indicators: list[str], start: datetime, end: datetime) -> dict[Key, float]:
    """Every value the upstreams serve for slots starting in [start, end) (all long published),
    in the indicator's unit."""
    a, b = int(start.timestamp()), int(end.timestamp())
    out: dict[Key, float] = {}
    if "coal.plant_stock_days" in indicators:  # the dispatch report's 可用天数: stock / planned burn, 0.1 day
        for s in world.of("coal.plant_stock"):
            g = world.generation_of(s)
            for t in world.slots(s, a, b):
                v = world.observed(s, t, int(time.time()))
                if v is not None:
                    out[("coal.plant_stock_days", s.entity.kind, s.entity.code, datetime.fromtimestamp(t, UTC))] = \
                        float(f"{v / world.planned_burn(g, local_day(t)):.1f}")
    for ind in (i for i in indicators if i != "coal.plant_stock_days"):
        for s in world.of(ind):
            for t in world.slots(s, a, b):
                v = world.observed(s, t, int(time.time()))  # as the simulator serves it now
                if v is not None:
                    out[(ind, s.entity.kind, s.entity.code, datetime.fromtimestamp(t, UTC))] = \
                        WIRE.get(ind, lambda x: round(x, 1))(v)
    return out


def stored(session: Session, source: str | None = None) -> dict[Key, float]:
    sql = """
        SELECT s.indicator_code, s.entity_kind,
               coalesce(e.uscc, d.code, p.code, '') AS code, o.time, o.value
        FROM (SELECT series_id, time, value, source FROM observation
              UNION ALL SELECT series_id, time, value, source FROM period_observation) o
        JOIN series s ON s.id = o.series_id
        LEFT JOIN enterprise e ON s.entity_kind = 'enterprise' AND e.id = s.entity_id
        LEFT JOIN district d ON s.entity_kind = 'district' AND d.id = s.entity_id
        LEFT JOIN park p ON s.entity_kind = 'park' AND p.id = s.entity_id
        WHERE (CAST(:src AS text) IS NULL OR o.source = :src)"""
    return {(i, k, c, t.astimezone(UTC)): v for i, k, c, t, v in session.execute(text(sql), {"src": source})}


def count_rows(session: Session, source: str) -> int:
    return int(session.execute(text(
        "SELECT (SELECT count(*) FROM observation WHERE source = :s) "
        "+ (SELECT count(*) FROM period_observation WHERE source = :s)"), {"s": source}).scalar_one())


def assert_same(got: dict[Key, float], want: dict[Key, float], rel: float = 1e-9, abs_: float = 1e-6) -> None:
    missing = sorted(set(want) - set(got))[:5]
    extra = sorted(set(got) - set(want))[:5]
    assert not missing and not extra, f"missing {missing} extra {extra} (got {len(got)}, want {len(want)})"
    bad = [(k, got[k], want[k]) for k in want if abs(got[k] - want[k]) > max(abs_, rel * abs(want[k]))]
    assert not bad, f"{len(bad)} values differ, e.g. {bad[:3]}"
