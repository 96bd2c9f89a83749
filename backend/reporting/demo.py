"""Demo data for direct reporting: the demo enterprises' monthly reports (企业直报) and
district targets, so that monthly views, 同比/累计, target progress and completeness have
something to show in `yunjian demo`.

Every figure is derived from the simulator's world (ingest/simulator/generator.py): an
enterprise's monthly electricity use (its power series with the Spring Festival dip,
planned maintenance and production incidents) turns into product output, gross output,
revenue, value added and energy consumption through industry ratios, with a growth trend
of a few percent a year. How each enterprise reports (on time, late, in two parts, weeks
late, with a typing mistake corrected days later) is a pure function of (seed, enterprise,
month), and only submissions whose time has come (≤ now) are made. Everything is stored
through `service.submit`, the push API's own path, so validation, review flags and
completeness work on the demo exactly as on real reports.

Idempotent: a planned submission already stored (same enterprise, month and time, by
`DEMO_SUBMITTER`) is not made again.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from backend.config import Settings
from backend.registry import repository as registry_repo
from backend.reporting import repository as repo
from backend.reporting import service
from backend.reporting.rules import KGCE_PER_KWH, REPORTED, next_month
from backend.reporting.service import SubmittedValue
from ingest.simulator.generator import CONTINUOUS, DAY_S, SeriesDef, World, day_start, spring_festival_factor

DEMO_SUBMITTER = "demo:企业直报"
DEMO_REVIEWER = "demo:统计局审核"
MONTHS_BACK = 26

# Per industry group: (kWh per t of main product, yuan per t of main product, value-added
# rate, comprehensive energy / electricity in standard coal, revenue / gross output).
# Rough Wuhai-like figures: carbide 3,300 kWh/t, ferro-alloy (SiMn) ~4,200 kWh/t, coke
# plants burn far more coal than electricity, a 热电 plant's station use is ~6% of generation
# (its main product counted here in t of steam).
RATIOS: dict[str, tuple[float, float, float, float, float]] = {
    "coal_mining": (19.2, 650.0, 0.45, 1.6, 0.97),
    "coal_washing": (14.4, 1100.0, 0.12, 1.3, 0.98),
    "coking": (24.0, 2100.0, 0.16, 44.0, 0.99),
    "chlor_alkali": (2400.0, 2800.0, 0.22, 1.8, 0.98),
    "carbide": (3300.0, 3000.0, 0.20, 2.5, 0.99),
    "ferro_alloy": (4200.0, 6200.0, 0.18, 1.4, 0.97),
    "power": (8.0, 37.0, 0.30, 35.0, 1.0),
    "building_materials": (100.0, 350.0, 0.25, 8.0, 0.95),
    "fine_chemicals": (800.0, 9000.0, 0.28, 2.5, 0.96),
    "other": (300.0, 5000.0, 0.25, 1.5, 0.95),
}
# Mean of the simulator's daily load shape: furnaces and reactors run around the clock,
# the others follow the working day and week.
DAY_SHAPE_CONTINUOUS, DAY_SHAPE_OTHER = 1.0, 0.67
SAMPLE_HOURS = (3, 9, 15, 21)
TREND_FROM = date(2025, 1, 1)  # figures grow by a few % a year from this month's level  # production incidents are sampled at these local hours

# How an enterprise-month is reported (shares of enterprise-months, in this order).
ON_TIME, LATE, PARTIAL, VERY_LATE = 0.78, 0.08, 0.06, 0.08
P_MISTAKE = 0.03  # the first submission carries a mistake, corrected days later
FIRST_PART = ("econ.gross_output", "econ.revenue", "econ.value_added")  # finance reports first


@dataclass(frozen=True)
class PlannedSubmission:
    """One submission of the demo's story: when, which indicators, and a mistake in it
    (corrected by a later submission) or None."""

    month: date
    submitted_at: datetime
    codes: tuple[str, ...] = REPORTED
    mistake: str | None = None

    def values(self, right: dict[str, float]) -> dict[str, float]:
        """What this submission carries, given the enterprise's right figures."""
        out = {c: right[c] for c in self.codes}
        if self.mistake == "swapped_columns":  # value added typed into the gross output column and back
            out["econ.gross_output"], out["econ.value_added"] = right["econ.value_added"], right["econ.gross_output"]
        elif self.mistake == "energy_in_10k_tce":  # a 万吨标准煤 figure in the 吨标准煤 field
            out["energy.consumption"] = round(right["energy.consumption"] / 10000, 4)
        elif self.mistake == "extra_digit":
            out["econ.revenue"] = round(right["econ.revenue"] * 10, 1)
        return out


@dataclass
class DemoResult:
    planned: int = 0
    submitted: int = 0
    already: int = 0
    flags: int = 0
    confirmed: int = 0
    targets: int = 0
    months: list[date] = field(default_factory=list)


def demo_months(today: date, back: int = MONTHS_BACK) -> list[date]:
    """The `back` months before the month of `today`, oldest first."""
    first = today.replace(day=1)
    out = []
    for _ in range(back):
        first = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
        out.append(first)
    return out[::-1]


def _rng(seed: int, *parts: object) -> random.Random:
    return random.Random("|".join(str(p) for p in (seed, *parts)))


def monthly_power_kwh(world: World, power: SeriesDef, month: date) -> float:
    """The enterprise's electricity use in `month` as the simulator meters it (kWh):
    base load, daily shape, the Spring Festival dip and production incidents (shutdowns,
    level shifts, slow declines, planned maintenance)."""
    group = power.entity.group or "other"
    shape = DAY_SHAPE_CONTINUOUS if group in CONTINUOUS else DAY_SHAPE_OTHER
    first = (month - date(1970, 1, 1)).days
    last = (next_month(month) - date(1970, 1, 1)).days
    total = 0.0
    for day in range(first, last):
        start = day_start(day)
        prod = sum(world._production_factor(power, start + h * 3600) for h in SAMPLE_HOURS) / len(SAMPLE_HOURS)
        total += power.base * (DAY_S // 900) * shape * spring_festival_factor("power", group, day) * prod
    return total


def report_values(world: World, power: SeriesDef, month: date) -> dict[str, float]:
    """The five monthly figures an enterprise would report for `month`, rounded as on a form."""
    group = power.entity.group or "other"
    kwh_t, yuan_t, va_rate, energy_x, rev_x = RATIOS.get(group, RATIOS["other"])
    rng = _rng(world.seed, power.entity.code, month)
    trend_rate = _rng(world.seed, power.entity.code, "trend").uniform(0.02, 0.08)
    years = ((month.year - TREND_FROM.year) * 12 + month.month - TREND_FROM.month) / 12
    kwh = monthly_power_kwh(world, power, month)
    output_t = kwh / kwh_t * rng.uniform(0.97, 1.03)
    gross = output_t * yuan_t / 10000 * (1 + trend_rate) ** years * rng.uniform(0.98, 1.02)
    return {"econ.gross_output": round(gross, 1),
            "econ.revenue": round(gross * rev_x * rng.uniform(0.94, 1.06), 1),
            "econ.value_added": round(gross * va_rate * rng.uniform(0.96, 1.04), 1),
            "energy.consumption": round(kwh * KGCE_PER_KWH / 1000 * energy_x * rng.uniform(0.97, 1.03), 1),
            "econ.main_product_output": round(output_t)}


def _at(month: date, day_after: float, tz: ZoneInfo) -> datetime:
    """A time `day_after` days into the month after `month` (day 1.0 = the 1st at 00:00)."""
    return datetime.combine(next_month(month), time(), tz) + timedelta(days=day_after - 1)


def _office_time(rng: random.Random, first_day: int, last_day: int) -> float:
    return rng.randint(first_day, last_day) + rng.uniform(8.5, 20.0) / 24


MISTAKES = ("swapped_columns", "energy_in_10k_tce", "extra_digit")


def plan_enterprise_month(seed: int, uscc: str, month: date, tz: ZoneInfo) -> list[PlannedSubmission]:
    """How one enterprise reports one month: one submission, or two (in two parts, or a
    mistake and its correction), at times relative to the end of the month. Pure:
    (seed, uscc, month) decide everything."""
    rng = _rng(seed, "behaviour", uscc, month)
    u = rng.random()
    if u < ON_TIME:
        when = _office_time(rng, 1 if rng.random() < 0.2 else 3, 8)
    elif u < ON_TIME + LATE:
        when = _office_time(rng, 9, 16)
    elif u < ON_TIME + LATE + PARTIAL:
        when, rest = _office_time(rng, 2, 8), _office_time(rng, 10, 40)
        return [PlannedSubmission(month, _at(month, when, tz), FIRST_PART),
                PlannedSubmission(month, _at(month, rest, tz), tuple(c for c in REPORTED if c not in FIRST_PART))]
    else:  # weeks late: chased by the statistics bureau
        when = _office_time(rng, 20, 60)
    first = PlannedSubmission(month, _at(month, when, tz))
    if rng.random() >= P_MISTAKE:
        return [first]
    # corrected within days, or only after the statistics bureau's reviewer called
    fixed_at = _at(month, when + rng.uniform(1.5, 30.0), tz)
    return [PlannedSubmission(month, first.submitted_at, mistake=rng.choice(MISTAKES)),
            PlannedSubmission(month, fixed_at)]


def seed_demo_reports(session: Session, settings: Settings, now: datetime, *, months_back: int = MONTHS_BACK,
                      on_month: Callable[[date, DemoResult], None] | None = None) -> DemoResult:
    """Store the demo's monthly direct reports up to `now` (see the module docstring), oldest
    month first, then confirm the review flags of months before last month (reviewed in the
    demo's past) and add district targets for the current year where there are none.
    Flushes, never commits: `on_month` is called after each month (a caller may commit there)."""
    tz = ZoneInfo(settings.timezone)
    today = now.astimezone(tz).date()
    result = DemoResult(months=demo_months(today, months_back))
    world = World(seed=settings.simulator_seed, enterprises=settings.simulator_enterprises)
    power = {s.entity.code: s for s in world.of("power.consumption")}
    done = repo.submission_times(session, DEMO_SUBMITTER)
    for month in result.months:
        last_day = next_month(month) - timedelta(days=1)
        ids = registry_repo.enterprise_ids_in(session, last_day, above_scale=True)
        for eid, (uscc, _) in sorted(repo.enterprise_names(session, ids).items()):
            series = power.get(uscc)
            if series is None:  # not an enterprise of the simulated world
                continue
            due = [p for p in plan_enterprise_month(world.seed, uscc, month, tz) if p.submitted_at <= now]
            result.planned += len(due)
            todo = [p for p in due if (eid, month, p.submitted_at) not in done]
            result.already += len(due) - len(todo)
            if not todo:
                continue
            right = report_values(world, series, month)
            for p in todo:
                res = service.submit(session, settings, enterprise_id=eid, month=month,
                                     values=[SubmittedValue(c, v) for c, v in p.values(right).items()],
                                     channel="api", submitted_by=DEMO_SUBMITTER, now=p.submitted_at)
                result.submitted += 1
                result.flags += len(res.flags)
        if on_month is not None:
            on_month(month, result)
    if result.months and result.submitted:
        result.confirmed = confirm_old_flags(session, result.months[-1], now)
    result.targets = seed_targets(session, today.year)
    session.flush()
    return result


def confirm_old_flags(session: Session, last_month: date, now: datetime) -> int:
    """Open flags of months before `last_month` were looked at long ago in the demo's story:
    mark them confirmed (the figure was checked and is right), so open flags are recent ones."""
    ids = repo.open_flag_ids_before(session, last_month)
    for flag_id in ids:
        service.resolve_flag(session, flag_id, "confirmed", DEMO_REVIEWER, now)
    return len(ids)


# Above-scale industrial value-added growth targets for the demo year, %.
TARGET_GROWTH_PCT = {"150302": 5.5, "150303": 6.5, "150304": 5.0, "150391": 5.0}


def seed_targets(session: Session, year: int) -> int:
    """Value-added growth targets for `year` for every district that has no targets that
    year; recorded in the audit log as set by the demo. Returns how many were added."""
    from backend.auth import service as auth_service
    from backend.targets import repository as targets_repo
    from backend.targets.models import DistrictTarget

    added = 0
    for d in registry_repo.list_districts(session):
        if d.code not in TARGET_GROWTH_PCT or targets_repo.list_targets(session, year, [d.id]):
            continue
        t = DistrictTarget(district_id=d.id, year=year, indicator_code="econ.value_added",
                           target_growth_pct=TARGET_GROWTH_PCT[d.code], note="演示数据 / demo target")
        targets_repo.add(session, t)
        auth_service.audit(session, None, "target.upsert", "district_target", t.id,
                           {"district_id": d.id, "year": year, "indicator": t.indicator_code, "before": None,
                            "after": t.target_growth_pct, "note": t.note}, actor_name=DEMO_SUBMITTER)
        added += 1
    return added
