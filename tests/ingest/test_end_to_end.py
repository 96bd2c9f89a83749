"""Every family, fetched from the simulator over HTTP and stored in the real database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from backend.ingestion import repository as ingest_repo
from ingest import runner
from ingest.simulator.generator import World
from ingest.sources.definitions import source_named
from tests.ingest.helpers import assert_same, expected, stored
from tests.ingest.support import SEED, Simulator, settings_for

START = datetime(2026, 11, 9, 16, tzinfo=UTC)  # 2026-11-10 00:00 Beijing time
END = datetime(2026, 11, 11, 16, tzinfo=UTC)  # two local days

FAMILIES = {
    "power_metering": ["power.consumption"],
    "power_grid_load": ["power.grid_load"],
    "coal_production": ["coal.raw_output", "coal.washed_output", "coke.output"],
    "rail_loadings": ["rail.loading_cars", "rail.tonnage_coal", "rail.tonnage_coke", "rail.tonnage_other",
                      "coal.rail_in", "coal.rail_out"],
    "gas_hourly": ["gas.consumption"],
    "oil_sales": ["oil.diesel_sales", "oil.refined_sales"],
    "road_freight": ["road.freight"],
    "plant_generation": ["power.generation"],
    "plant_coal_stock": ["coal.plant_stock", "coal.plant_stock_days"],
}


@pytest.mark.parametrize("source", sorted(FAMILIES))
def test_each_source_stores_exactly_what_the_upstream_served(
        source: str, simulator: Simulator, fresh_database_url: str, fresh_factory: sessionmaker[Session]) -> None:
    settings = settings_for(fresh_database_url, simulator)
    res = runner.run_source(source_named(source), fresh_factory, settings, holder="t", start=START, end=END,
                            kind="backfill")
    assert res.status == "ok", res.error
    want = expected(World(seed=SEED), FAMILIES[source], START, END)
    assert want, "the simulator should serve something in the window"
    with fresh_factory() as s:
        assert_same(stored(s, source), want)
        assert res.stored == len(want)
        assert res.rejected == 0
        src = ingest_repo.get_source(s, source)
        assert src is not None and src.last_success_at is not None
        assert src.watermark_at is None  # a backfill never moves the watermark


def test_a_repeated_delivery_stores_nothing_new(simulator: Simulator, fresh_database_url: str,
                                                fresh_factory: sessionmaker[Session]) -> None:
    settings = settings_for(fresh_database_url, simulator)
    src = source_named("coal_production")
    first = runner.run_source(src, fresh_factory, settings, holder="t", start=START, end=END, kind="backfill")
    again = runner.run_source(src, fresh_factory, settings, holder="t", start=START, end=END, kind="backfill")
    assert first.stored > 0
    assert (again.status, again.stored, again.unchanged) == ("ok", 0, first.stored)


def test_every_district_and_park_has_all_five_families_from_the_upstreams() -> None:
    """What a duty officer opens first: coal, power, oil, gas and transport for every place.
    A place is covered by its own series or, for coal and power, by its enterprises'."""
    world = World(seed=SEED)
    families = {"coal": ("coal.", "coke."), "power": ("power.",), "oil": ("oil.",), "gas": ("gas.",),
                "transport": ("rail.", "road.")}
    covered: dict[tuple[str, str], set[str]] = {}
    for s in world.series:
        e = s.entity
        places = [(e.kind, e.code)] if e.kind != "enterprise" else \
            [("district", e.district)] + ([("park", e.park)] if e.park else [])
        fams = {f for f, prefixes in families.items() if s.indicator.startswith(prefixes)}
        for place in places:
            covered.setdefault(place, set()).update(fams)
    places = [(e.kind, e.code) for e in world.entities if e.kind in ("district", "park")]
    assert len(places) == 8
    assert {p: covered.get(p, set()) for p in places} == {p: set(families) for p in places}



def test_every_power_plant_reports_generation_and_coal_stock_and_nothing_else_does() -> None:
    world = World(seed=SEED)
    plants = {e.code for e in world.enterprise_entities() if e.group == "power"}
    assert plants
    for indicator in ("power.generation", "coal.plant_stock"):
        assert {s.entity.code for s in world.of(indicator)} == plants


@pytest.mark.parametrize("source", ["plant_generation", "plant_coal_stock"])
def test_the_dispatch_upstream_takes_its_own_credential_and_refuses_a_wrong_one(
        source: str, simulator: Simulator, fresh_database_url: str, fresh_factory: sessionmaker[Session]) -> None:
    wrong = settings_for(fresh_database_url, simulator, ingest_credentials={"dispatch": "wrong"})
    res = runner.run_source(source_named(source), fresh_factory, wrong, holder="t", start=START, end=END,
                            kind="backfill")
    assert res.status == "failed" and "HTTP 401" in (res.error or "")
    # the other upstreams' credentials are not the dispatch system's
    others = settings_for(fresh_database_url, simulator, ingest_credentials={"power": "wrong", "coal": "wrong"})
    ok = runner.run_source(source_named(source), fresh_factory, others, holder="t", start=START, end=END,
                           kind="backfill")
    assert ok.status == "ok" and ok.stored > 0
