"""A generated world for aggregate tests: enterprises with registry changes mid-period and
values written through the real write path, plus a pandas reference computed from the raw
rows (independently of the rollups and of the aggregate SQL)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.observations import repository as obs_repo
from backend.observations.repository import ObservationRow
from backend.registry import repository as registry_repo
from backend.registry import service as registry_service
from backend.registry import uscc
from backend.registry.demo import EnterpriseSpec, VersionSpec

TZ = ZoneInfo("Asia/Shanghai")
PLACES = [("150304", "WD"), ("150304", None), ("150303", "HN"), ("150303", "DT"), ("150302", "QLS"),
          ("150302", None)]
GROUPS = [("coking", "2521"), ("coal_mining", "0610"), ("carbide", "2619")]
CHANGE_DAYS = [date(2024, 2, 15), date(2024, 2, 29), date(2024, 3, 1), date(2025, 1, 1), date(2024, 12, 31),
               date(2024, 7, 17), date(2025, 2, 1)]


@dataclass
class World:
    enterprise_ids: list[int]
    district_ids: dict[str, int]
    park_ids: dict[str, int]


def _version(rng: random.Random, start: date) -> VersionSpec:
    d, p = rng.choice(PLACES)
    g, code = rng.choice(GROUPS)
    return VersionSpec(start, d, p, code, g, rng.random() < 0.6, rng.random() < 0.3)


def build(session: Session, seed: int = 7, n: int = 12) -> World:
    rng = random.Random(seed)
    specs = []
    for i in range(n):
        versions = [_version(rng, date(2020, 1, 1))]
        for day in sorted(rng.sample(CHANGE_DAYS, rng.randrange(0, 3))):
            versions.append(_version(rng, day))
        code = uscc.make("9", "1", "150304", f"AGGT{seed:02d}{i:03d}")
        specs.append(EnterpriseSpec(code, f"测试企业{i}", f"Test {i}", versions))
    # One enterprise that certainly moves park on the 15th and one that enters the above-scale set.
    specs[0].versions = [VersionSpec(date(2020, 1, 1), "150304", "WD", "2521", "coking", True, False),
                         VersionSpec(date(2024, 2, 15), "150303", "HN", "2521", "coking", True, False)]
    specs[1].versions = [VersionSpec(date(2020, 1, 1), "150304", "WD", "2521", "coking", False, False),
                         VersionSpec(date(2025, 1, 1), "150304", "WD", "2521", "coking", True, False)]
    registry_service.upsert_enterprises(session, specs)
    ids = [e.id for e in (registry_repo.get_enterprise_by_uscc(session, s.uscc) for s in specs) if e is not None]
    return World(ids, registry_repo.district_ids_by_code(session), registry_repo.park_ids_by_code(session))


def write_daily(session: Session, world: World, indicator: str, start: date, end: date, seed: int = 1) -> None:
    rng = random.Random(seed)
    sids = obs_repo.ensure_series(session, [(indicator, "enterprise", e) for e in world.enterprise_ids])
    rows = []
    d = start
    while d <= end:
        for e in world.enterprise_ids:
            if rng.random() < 0.93:  # some days missing
                rows.append(ObservationRow(sids[(indicator, "enterprise", e)], datetime.combine(d, time(), TZ),
                                           round(rng.uniform(10, 1000), 3), "test"))
        d += timedelta(days=1)
    obs_repo.write_observations(session, rows, "period_observation", "Asia/Shanghai")


def write_monthly(session: Session, world: World, indicator: str, first: date, last: date,
                  combined_years: set[int], seed: int = 2) -> set[int]:
    """Monthly values; for half the enterprises, in `combined_years` January is not reported
    and February holds January + February. Returns the enterprises that combined."""
    rng = random.Random(seed)
    combiners = set(world.enterprise_ids[::2])
    sids = obs_repo.ensure_series(session, [(indicator, "enterprise", e) for e in world.enterprise_ids])
    rows = []
    m = first
    while m <= last:
        for e in world.enterprise_ids:
            v = round(rng.uniform(100, 5000), 3)
            if m.year in combined_years and e in combiners:
                if m.month == 1:
                    continue
                if m.month == 2:
                    v += round(rng.uniform(100, 5000), 3)
            rows.append(ObservationRow(sids[(indicator, "enterprise", e)], datetime.combine(m, time(), TZ), v, "test"))
        m = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
    obs_repo.write_observations(session, rows, "period_observation", "Asia/Shanghai")
    return combiners


def write_15min(session: Session, world: World, indicator: str, start: date, end: date, seed: int = 3) -> None:
    rng = random.Random(seed)
    sids = obs_repo.ensure_series(session, [(indicator, "enterprise", e) for e in world.enterprise_ids])
    rows = []
    t = datetime.combine(start, time(), TZ)
    stop = datetime.combine(end + timedelta(days=1), time(), TZ)
    while t < stop:
        for e in world.enterprise_ids:
            rows.append(ObservationRow(sids[(indicator, "enterprise", e)], t, round(rng.uniform(0, 50), 3), "test"))
        t += timedelta(minutes=15)
    obs_repo.write_observations(session, rows, "observation", "Asia/Shanghai")


def raw_frame(session: Session, indicator: str, table: str = "period_observation") -> pd.DataFrame:
    """Every enterprise value of `indicator` with the registry version valid on its local day."""
    obs = pd.DataFrame(session.execute(text(
        f"SELECT s.entity_id AS eid, o.time, o.value FROM {table} o JOIN series s ON s.id = o.series_id "
        "WHERE s.indicator_code = :i AND s.entity_kind = 'enterprise'"), {"i": indicator}).all(),
        columns=["eid", "time", "value"])
    ver = pd.DataFrame(session.execute(text(
        "SELECT enterprise_id, valid_from, valid_to, district_id, park_id, industry_group, above_scale "
        "FROM enterprise_version")).all(),
        columns=["eid", "valid_from", "valid_to", "district_id", "park_id", "industry_group", "above_scale"])
    obs["local"] = pd.to_datetime(obs["time"], utc=True).dt.tz_convert("Asia/Shanghai")
    obs["day"] = obs["local"].dt.date
    df = obs.merge(ver, on="eid")
    far = date(9999, 1, 1)
    df = df[(df["valid_from"] <= df["day"]) & (df["day"] < df["valid_to"].fillna(far))].copy()
    df["month"] = df["day"].map(lambda d: d.replace(day=1))
    df["year"] = df["day"].map(lambda d: d.year)
    return df


def growth(v: float | None, base: float | None) -> float | None:
    """Growth in % of v over base, as the API computes 同比/环比 (None without a usable base)."""
    if v is None or base is None or base == 0:
        return None
    return (v - base) / abs(base) * 100


def approx(x: float | None, rel: float = 1e-9) -> object:
    """What an API figure must equal: x to `rel`, or None."""
    return None if x is None else pytest.approx(x, rel=rel, abs=1e-9)

