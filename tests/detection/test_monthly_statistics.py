"""The detector on monthly provincial-style statistics: a trending series with two shocks."""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np

from backend.detection import StreamingDetector

# Twelve noise draws: the detector is judged on all of them, not on a lucky one.
SEEDS = range(12)
COVID = {"2020-01", "2020-02"}
RATIONING = {"2021-09", "2021-10"}
# Each shock with the month after it (the rebound belongs to the same incident).
EPISODES = COVID | RATIONING | {"2020-03", "2021-11"}


def trending_months(seed: int) -> tuple[list[dt.datetime], np.ndarray]:
    """Eight years (2015-2022) of monthly output growing ~5 % a year with 1.5 % noise,
    a COVID-like drop in Jan-Feb 2020 (-25 %) and a power-rationing dip in Sep-Oct 2021 (-10 %)."""
    rng = np.random.default_rng(seed)
    months = [dt.datetime(2015 + k // 12, k % 12 + 1, 1) for k in range(96)]
    x = 1000.0 * 1.004 ** np.arange(96) * (1.0 + rng.normal(0.0, 0.015, 96))
    for i, m in enumerate(months):
        if m.year == 2020 and m.month in (1, 2):
            x[i] *= 0.75
        if m.year == 2021 and m.month in (9, 10):
            x[i] *= 0.90
    return months, x


# Seasonal profile by calendar month: a Spring Festival trough, a December push.
SEASON = np.array([0.85, 0.80, 1.0, 1.0, 1.02, 1.05, 1.0, 1.0, 1.02, 1.03, 1.05, 1.15])


def seasonal_months_without_january(seed: int) -> tuple[list[dt.datetime], np.ndarray]:
    """The same series with a strong monthly season, published NBS-style: January is
    not reported (Jan-Feb come as one February figure), so every year has a gap."""
    months, x = trending_months(seed)
    x = x * SEASON[np.arange(len(x)) % 12]
    keep = [i for i, m in enumerate(months) if m.month != 1]
    return [months[i] for i in keep], x[keep]


@cache
def alarmed_months(seed: int, seasonal: bool = False) -> frozenset[str]:
    months, x = seasonal_months_without_january(seed) if seasonal else trending_months(seed)
    det = StreamingDetector()
    scores = [det.update(m, float(v)) for m, v in zip(months, x, strict=True)]
    return frozenset(s.timestamp.strftime("%Y-%m") for s in scores if s.score >= 0.5)


def test_it_flags_the_early_2020_drop_on_every_trending_monthly_series() -> None:
    missed = [seed for seed in SEEDS if not alarmed_months(seed) & COVID]
    assert not missed, f"Jan-Feb 2020 drop missed for seeds {missed}"


def test_it_flags_the_autumn_2021_power_rationing_dip_on_most_series() -> None:
    # A -10 % dip is about 6 noise sd here; the baseline's own error makes a
    # few draws marginal (docs/detection.md gives the rate at 2 % noise).
    caught = sum(bool(alarmed_months(seed) & RATIONING) for seed in SEEDS)
    assert caught >= 10, f"Sep-Oct 2021 dip flagged on {caught} of {len(SEEDS)} series"


def test_it_raises_few_alarms_outside_the_two_shocks() -> None:
    others = {seed: sorted(alarmed_months(seed) - EPISODES) for seed in SEEDS}
    total = sum(len(v) for v in others.values())
    # 12 series x 83 scored months: at most 3 other alarms in all.
    assert total <= 3, f"alarms outside the shocks: {others}"


def test_it_flags_the_2020_drop_on_seasonal_series_with_january_unreported() -> None:
    missed = [seed for seed in SEEDS if "2020-02" not in alarmed_months(seed, seasonal=True)]
    assert not missed, f"Jan-Feb 2020 drop (reported in February) missed for seeds {missed}"


def test_it_learns_the_season_and_stays_quiet_outside_the_shocks() -> None:
    others = {seed: sorted(alarmed_months(seed, seasonal=True) - EPISODES) for seed in SEEDS}
    assert sum(len(v) for v in others.values()) <= 3, f"alarms outside the shocks: {others}"
