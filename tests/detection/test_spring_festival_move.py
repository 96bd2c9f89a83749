"""A monthly series published with January and February apart meets the Spring Festival in
January for the first time (2017, after two Februaries): no model knows what the festival
does to a January yet, and the month's fall was an alarm in most series (a dozen provinces'
real power use, docs/detection.md). A deviation the move explains now counts
``sf_move_damp`` times less; one against it counts in full."""

from __future__ import annotations

import datetime as dt

import numpy as np

from backend.detection import DetectorConfig
from backend.detection.calendar import spring_festival_in_month
from tests.detection.test_monthly_statistics import SEEDS
from tests.detection.test_ytd_growth import POWER, _run


def _power_use(seed: int, collapse: tuple[int, int] | None = None) -> list[tuple[dt.datetime, float]]:
    """Monthly power use 2015-2023: a season, 6 % growth a year, 3 % noise, and the Spring
    Festival taking 15 % off its month; ``collapse``: that month at 60 %."""
    rng = np.random.default_rng(seed)
    months = [dt.datetime(2015 + k // 12, k % 12 + 1, 1) for k in range(108)]
    x = 500.0 * 1.06 ** (np.arange(108) / 12) * POWER[np.arange(108) % 12] * (1.0 + rng.normal(0.0, 0.03, 108))
    f = [0.85 if spring_festival_in_month(m.year, m.month) else 1.0 for m in months]
    f = [v * (0.6 if (m.year, m.month) == collapse else 1.0) for v, m in zip(f, months, strict=True)]
    return list(zip(months, x * np.array(f), strict=True))


def _alarms_2017(config: DetectorConfig) -> tuple[int, int]:
    in_2017 = other = 0
    for seed in SEEDS:
        alarms, _ = _run(_power_use(seed), config)
        in_2017 += sum(a.startswith("2017-0") for a in alarms)
        other += sum(not a.startswith("2017-0") for a in alarms)
    return in_2017, other


def test_the_first_january_spring_festival_is_not_an_alarm() -> None:
    damped, other = _alarms_2017(DetectorConfig())
    undamped, other_undamped = _alarms_2017(DetectorConfig(sf_move_damp=1.0))
    assert damped <= 2 and undamped >= 6, (damped, undamped)
    assert other == other_undamped  # nothing else changes


def test_a_collapse_against_the_move_still_counts_in_full() -> None:
    # February 2017 is the first February without the festival: it should be higher, and a
    # collapse there goes against the move, so it is not damped.  (Undamped, January's fall
    # was the alarm in most series, and February, no new high after it, was damped instead.)
    flagged = undamped = 0
    for seed in SEEDS:
        alarms, _ = _run(_power_use(seed, collapse=(2017, 2)), DetectorConfig())
        flagged += "2017-02" in alarms
        alarms, _ = _run(_power_use(seed, collapse=(2017, 2)), DetectorConfig(sf_move_damp=1.0))
        undamped += "2017-02" in alarms
    assert flagged >= 11 and flagged >= undamped, (flagged, undamped)
