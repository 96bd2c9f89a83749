"""The detector on daily enterprise series with the incidents a year brings.

A daily series (coal output, power use) sees several episodes a year: unit mix-ups,
slow declines, level shifts, shutdowns.  Each one used to leave a trace that hid the
next: the spread behind the scale floor, the remembered feature maxima (their bound
compounded episode by episode), the anomaly likelihood, and a level and trend that
followed a shift into a new normal within days.
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import numpy as np

from backend.detection import DetectorConfig, StreamingDetector
from backend.detection.calendar import spring_festival_offset

START = dt.datetime(2023, 11, 2)
DAY = dt.timedelta(days=1)
SEEDS = range(8)


def daily(seed: int, n: int = 1000) -> np.ndarray:
    """Three years of daily output (~1,700 t, 3 % noise): 10 % lower on rest days by the
    Chinese calendar (weekends, public holidays; 调休 make-up Sundays are working days)
    and a Spring Festival dip to 60 % from three days before lunar new year to ten after."""
    rng = np.random.default_rng(seed)
    days = [(START + k * DAY).date() for k in range(n)]
    work = np.array([chinese_calendar.is_workday(d) for d in days])
    sf = np.array([-3 <= (spring_festival_offset(d) or 99) <= 10 for d in days])
    return 1700.0 * np.where(work, 1.0, 0.9) * np.where(sf, 0.6, 1.0) * (1.0 + rng.normal(0.0, 0.03, n))


def scores(x: np.ndarray, **cfg: float) -> list[float]:
    det = StreamingDetector(DetectorConfig(warmup=150, **cfg))  # type: ignore[arg-type]
    return [det.update(START + k * DAY, float(v)).score for k, v in enumerate(x)]


def test_a_shutdown_after_a_year_of_mixups_and_a_decline_is_flagged() -> None:
    # A slow decline to half over 15 days, then three unit mix-ups (x10,000 for 3-4 days)
    # in half a year, then a shutdown (x0.03 for 4 days) two months after the last.
    # Before: the mix-ups raised the scale floor ~10-fold and tripled the maxima three
    # times over, and the shutdown scored ~0.03 (a series shaped like the simulator's
    # coke.output of enterprise 911503020930091295).
    found = []
    for seed in SEEDS:
        x = daily(seed)
        x[360:375] *= np.linspace(1.0, 0.5, 15)
        for at, length in ((375, 3), (850 - 240, 4), (850 - 120, 4)):
            x[at : at + length] *= 10_000.0
        x[850:854] *= 0.03
        found.append(max(scores(x)[850:853]))
    assert min(found) >= 0.5, np.round(found, 3)


def test_a_two_week_level_shift_is_still_news_at_its_end() -> None:
    # -25 % for 14 days (a park's rail loadings cut), after an earlier shutdown on the same
    # series.  Before: the level and its trend followed the shift within days, and the
    # shutdown's tripled maxima and the likelihood, wary since, damped it (found on 6 of
    # 8, with no other alarm); now 8 of 8, with 3 other alarms in 8 x 280 days.
    found = 0
    quiet = []
    for seed in SEEDS:
        x = daily(seed)
        x[400:404] *= 0.03
        x[700:714] *= 0.75
        s = scores(x)
        found += max(s[700:714]) >= 0.5
        quiet.append(sum(v >= 0.5 for v in s[420:700]))
    assert found >= 7, found
    # 280 ordinary days per series between the two incidents: few alarms.
    assert sum(quiet) <= 4, quiet


def test_without_the_bound_the_shutdown_after_mixups_is_missed() -> None:
    # Mix-ups alone (no decline), with and without the bound on the remembered maxima:
    # without it the mix-ups hide the shutdown, so the first check above can fail.  The
    # clip of the level-shift EWMA is a second defence (alone it leaves the shutdown at
    # ~0.62, at the edge), so both are switched off to show the failure.
    x = daily(0)
    for at, length in ((375, 3), (610, 4), (730, 4)):
        x[at : at + length] *= 10_000.0
    x[850:854] *= 0.03
    assert max(scores(x)[850:853]) >= 0.9
    assert max(scores(x, env_growth=0.0)[850:853]) < 0.7
    assert max(scores(x, env_growth=0.0, level_shift_clip=0.0)[850:853]) < 0.5


def weekday_heavy(seed: int, n: int = 720) -> np.ndarray:
    """Rest days 20 % lower by the Chinese calendar and no Spring Festival effect at all
    (a series that follows the working week, not the festival)."""
    rng = np.random.default_rng(seed)
    work = np.array([chinese_calendar.is_workday((START + k * DAY).date()) for k in range(n)])
    return 1700.0 * np.where(work, 1.0, 0.8) * (1.0 + rng.normal(0.0, 0.03, n))


def festival_alarms(festival_day_type: bool) -> int:
    # The second Spring Festival (29 Jan 2025), ten days before to 25 after, over 4 series.
    lo = (dt.datetime(2025, 1, 19) - START).days
    hi = (dt.datetime(2025, 2, 23) - START).days
    cfg = {"festival_day_type": festival_day_type}
    return sum(sum(v >= 0.5 for v in scores(weekday_heavy(seed), **cfg)[lo:hi]) for seed in range(4))


def test_a_series_without_a_festival_effect_is_quiet_through_the_festival() -> None:
    # The offset's own slot, learned from one festival, carries that year's weekday pattern
    # into the next (offset -10 was a Wednesday in 2024 and a Sunday in 2025): alone it
    # raised 40 alarms in these 4 series in the festival weeks.  The day type plus a
    # festival effect learned over it competes, and replaces the slot once its recent
    # error is below half the slot's: 12.
    assert festival_alarms(True) <= 16
    assert festival_alarms(False) >= 20


def first_alarm_in_decline(seed: int, clip: float) -> int | None:
    # A unit mix-up (x10,000 for 4 days), then 20 days later a slow decline to half over
    # 16 days that stays there for two weeks (the simulator's coal.raw_output of enterprise
    # 91150303623447680T had this, 40 days after a mix-up, and scored 0.2 throughout).
    x = daily(seed)
    x[500:504] *= 10_000.0
    x[524:540] *= np.linspace(1.0, 0.5, 16)
    x[540:554] *= 0.5
    s = np.array(scores(x, level_shift_clip=clip))
    hits = np.flatnonzero(s[524:554] >= 0.5)
    return int(hits[0]) if len(hits) else None


def test_a_decline_weeks_after_a_unit_mixup_is_flagged_while_it_declines() -> None:
    # Unclipped, the mix-up's z (~1e5) kept the level-shift EWMA saturated for ~50 days, so
    # the decline was no "new high" and was damped until it had ended (day 29 of 30).
    found = [first_alarm_in_decline(seed, 10.0) for seed in SEEDS]
    assert all(d is not None and d <= 16 for d in found), found
    before = [first_alarm_in_decline(seed, 0.0) for seed in SEEDS]
    assert all(d is None or d > 20 for d in before), before
