"""The detector on monthly provincial-style statistics: a trending series with two shocks."""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np
import pytest

from backend.detection import StreamingDetector
from backend.detection.detectors import epoch_seconds
from backend.detection.engine import DetectorConfig, SeriesBank

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
    """The same series with a strong monthly season and January left out, so every
    year has a gap (February keeps its own figure)."""
    months, x = trending_months(seed)
    x = x * SEASON[np.arange(len(x)) % 12]
    keep = [i for i, m in enumerate(months) if m.month != 1]
    return [months[i] for i in keep], x[keep]


# Power use in a coal-and-heating city: a winter peak and a summer trough (+-25 %).
HEATING = np.array([1.25, 1.15, 1.0, 0.9, 0.82, 0.8, 0.85, 0.85, 0.9, 1.0, 1.12, 1.28])


def jan_feb_as_one_figure(seed: int, season: np.ndarray, growth: float) -> tuple[list[dt.datetime], np.ndarray]:
    """Published NBS-style: January and February come as one February figure (their sum),
    so February is about twice any other month.  Growth a year, 1.5 % noise, the two shocks."""
    rng = np.random.default_rng(seed)
    months = [dt.datetime(2015 + k // 12, k % 12 + 1, 1) for k in range(96)]
    x = 1000.0 * (1.0 + growth) ** (np.arange(96) / 12) * (1.0 + rng.normal(0.0, 0.015, 96))
    x = x * season[np.arange(96) % 12]
    for i, m in enumerate(months):
        if m.year == 2020 and m.month in (1, 2):
            x[i] *= 0.75
        if m.year == 2021 and m.month in (9, 10):
            x[i] *= 0.90
    keep = [i for i, m in enumerate(months) if m.month != 1]
    out = x.copy()
    for i in keep:
        if months[i].month == 2:
            out[i] = x[i - 1] + x[i]
    return [months[i] for i in keep], out[keep]


def _alarms(months: list[dt.datetime], x: np.ndarray) -> frozenset[str]:
    det = StreamingDetector()
    scores = [det.update(m, float(v)) for m, v in zip(months, x, strict=True)]
    return frozenset(s.timestamp.strftime("%Y-%m") for s in scores if s.score >= 0.5)


@cache
def alarmed_months(seed: int, seasonal: bool = False) -> frozenset[str]:
    return _alarms(*(seasonal_months_without_january(seed) if seasonal else trending_months(seed)))


@cache
def alarmed_combined(seed: int, heating: bool) -> frozenset[str]:
    season, growth = (HEATING, 0.08) if heating else (SEASON, 0.05)
    return _alarms(*jan_feb_as_one_figure(seed, season, growth))


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


@pytest.mark.parametrize("heating", [False, True], ids=["spring-festival-season", "heating-season-8pct-growth"])
def test_a_february_that_holds_january_too_is_learned_not_flagged_every_year(heating: bool) -> None:
    # Modelled in its own units, such a February was flagged in most years (26 other
    # alarms in 12 series; 52 with the heating season) and the 2021 dip mostly missed.
    results = {seed: alarmed_combined(seed, heating) for seed in SEEDS}
    missed = [seed for seed, a in results.items() if "2020-02" not in a]
    assert not missed, f"Jan-Feb 2020 drop missed for seeds {missed}"
    caught = sum(bool(a & RATIONING) for a in results.values())
    assert caught >= 10, f"Sep-Oct 2021 dip flagged on {caught} of {len(SEEDS)} series"
    others = {seed: sorted(a - EPISODES) for seed, a in results.items()}
    assert sum(len(v) for v in others.values()) <= 2, f"alarms outside the shocks: {others}"


# China's industrial value added, 同比 % (Jan-Feb as one figure), 2015-2023, approximately
# as published: the test needs the shape of a real growth-rate series (smooth, positive
# for years, then below zero), not the exact figures.
IVA_YOY = {
    2015: [6.8, 5.6, 5.9, 6.1, 6.8, 6.0, 6.1, 5.7, 5.6, 6.2, 5.9],
    2016: [5.4, 6.8, 6.0, 6.0, 6.2, 6.0, 6.3, 6.1, 6.1, 6.2, 6.0],
    2017: [6.3, 7.6, 6.5, 6.5, 7.6, 6.4, 6.0, 6.6, 6.2, 6.1, 6.2],
    2018: [7.2, 6.0, 7.0, 6.8, 6.0, 6.0, 6.1, 5.8, 5.9, 5.4, 5.7],
    2019: [5.3, 8.5, 5.4, 5.0, 6.3, 4.8, 4.4, 5.8, 4.7, 6.2, 6.9],
    2020: [-13.5, -1.1, 3.9, 4.4, 4.8, 4.8, 5.6, 6.9, 6.9, 7.0, 7.3],
    2021: [35.1, 14.1, 9.8, 8.8, 8.3, 6.4, 5.3, 3.1, 3.5, 3.8, 4.3],
    2022: [7.5, 5.0, -2.9, 0.7, 3.9, 3.8, 4.2, 6.3, 5.0, 2.2, 1.3],
    2023: [2.4, 3.9, 5.6, 3.5, 4.4, 3.7, 4.5, 4.5, 4.6, 6.6, 6.8],
}


def test_a_growth_rate_series_that_turns_negative_flags_the_shock_and_keeps_going() -> None:
    # Five smooth positive years put the series in logs; the first negative figure
    # (Jan-Feb 2020) moves its models back to percentage points, learned state kept.
    det = StreamingDetector()
    scores = [
        det.update(dt.datetime(y, k + 2, 1), v) for y, vals in IVA_YOY.items() for k, v in enumerate(vals)
    ]
    alarms = {s.timestamp.strftime("%Y-%m"): s for s in scores if s.score >= 0.5}
    assert "2020-02" in alarms and "2022-04" in alarms, sorted(alarms)
    # Outside the 2020 shock, its 2021 base effect, the April 2022 lockdown and December
    # 2022 (the infection wave after reopening: 1.3 %): at most one.
    known = {"2020-02", "2020-03", "2021-02", "2021-03", "2022-04", "2022-05", "2022-12"}
    others = set(alarms) - known
    assert len(others) <= 1, sorted(others)
    # The 2021 rebound is expected as the mirror image of the 2020 collapse (base effect).
    feb21 = next(s for s in scores if s.timestamp == dt.datetime(2021, 2, 1))
    assert feb21.expected > 20.0, feb21
    # After the switch the expectation is in percentage points again, near the recent figures.
    late = [s for s in scores if s.timestamp.year == 2023]
    assert all(-5.0 < s.expected < 15.0 and s.lower < s.upper for s in late), [
        (s.expected, s.lower, s.upper) for s in late
    ]


def test_a_month_with_no_output_is_an_alarm_and_the_expectation_survives_the_switch() -> None:
    months, x = jan_feb_as_one_figure(3, SEASON, 0.05)
    months, x = months[:70], x[:70].copy()
    x[-1] = 0.0
    det, twin = StreamingDetector(), StreamingDetector()
    for m, v in zip(months[:-1], x[:-1], strict=True):
        det.update(m, float(v))
        twin.update(m, float(v))
    zero = det.update(months[-1], 0.0)
    tiny = twin.update(months[-1], 1e-6)
    assert zero.score >= 0.5 and tiny.score >= 0.5
    # The same history expects the same value, whether the models switched units or not.
    assert zero.expected == pytest.approx(tiny.expected, rel=0.01)


def _yoy(months: list[dt.datetime], x: np.ndarray) -> tuple[list[dt.datetime], np.ndarray]:
    """同比 growth in per cent of a monthly series (from its second year on)."""
    return months[11:], 100.0 * (x[11:] / x[:-11] - 1.0)


def _year_to_date(months: list[dt.datetime], x: np.ndarray) -> np.ndarray:
    """累计: the running total since the first figure of each year."""
    out = x.copy()
    for i in range(1, len(x)):
        if months[i].year == months[i - 1].year:
            out[i] = out[i - 1] + x[i]
    return out


@cache
def alarmed_published(seed: int, form: str, config: DetectorConfig = DetectorConfig()) -> frozenset[str]:
    # A February that holds January too (NBS style), so a year has 11 figures.
    months, x = jan_feb_as_one_figure(seed, SEASON, 0.05)
    if form == "yoy":
        months, x = _yoy(months, x)
    else:
        x = _year_to_date(months, x)
    det = StreamingDetector(config=config)
    return frozenset(m.strftime("%Y-%m") for m, v in zip(months, x, strict=True) if det.update(m, float(v)).score >= 0.5)


# 同比 base effects: the months a year after each shock (and the one after).
BASE_EFFECT = {"2021-02", "2021-03", "2022-09", "2022-10", "2022-11"}


def test_a_growth_rate_expects_last_years_shock_back_as_a_base_effect() -> None:
    # In 同比 form the 2020 collapse returns in 2021 as a rebound of +40 %, and the
    # 2021 dip's rebound in autumn 2022.  Without the mirror those rebounds were flagged
    # (26 months in 12 series) and their maxima hid the 2021 dip (3 of 12 found).
    results = {seed: alarmed_published(seed, "yoy") for seed in SEEDS}
    assert all("2020-02" in a for a in results.values()), results
    caught = sum(bool(a & RATIONING) for a in results.values())
    rebounds = sum(len(a & BASE_EFFECT) for a in results.values())
    others = sum(len(a - EPISODES - BASE_EFFECT) for a in results.values())
    assert caught >= 8 and rebounds <= 3 and others <= 2, (caught, rebounds, others, results)


def test_without_the_mirror_the_rebound_is_flagged() -> None:
    # The same series with the base effect switched off: the check above can fail.
    off = DetectorConfig(base_effect=False)
    rebounds = sum(len(alarmed_published(seed, "yoy", off) & BASE_EFFECT) for seed in SEEDS)
    assert rebounds >= 12, rebounds


def test_a_year_to_date_total_is_scored_on_its_monthly_increments() -> None:
    # As a running total the -10 % dip was -1 to -2 % of the year's sum (0 of 12 found)
    # and every new year's restart of the total looked like a shock (34 other alarms).
    results = {seed: alarmed_published(seed, "ytd") for seed in SEEDS}
    assert all("2020-02" in a for a in results.values()), results
    caught = sum(bool(a & RATIONING) for a in results.values())
    others = sum(len(a - EPISODES) for a in results.values())
    assert caught >= 10 and others <= 2, (caught, others, results)
    off = DetectorConfig(year_to_date=False)
    assert sum(bool(alarmed_published(seed, "ytd", off) & RATIONING) for seed in SEEDS) <= 2


def test_a_year_to_date_total_reports_its_expectation_as_a_total() -> None:
    months, x = jan_feb_as_one_figure(4, SEASON, 0.05)
    total = _year_to_date(months, x)
    det = StreamingDetector()
    scores = [det.update(m, float(v)) for m, v in zip(months, total, strict=True)]
    late = [(s, v) for s, v in zip(scores, total, strict=True) if s.timestamp.year == 2022]
    # Each expectation is the running total plus an expected month: within 5 % of the figure.
    assert all(abs(s.expected - v) < 0.05 * v and s.lower < v < s.upper or s.score >= 0.5 for s, v in late), [
        (s.timestamp, s.expected, v) for s, v in late
    ]
    # The duty officer is told how the figure was read.
    assert all("累计值，按当月增量判断" in s.explanation_zh and "year-to-date" in s.explanation_en for s, _ in late)
    assert "累计" not in scores[5].explanation_zh  # before its first new year it is not yet known


def test_a_level_series_with_a_sawtooth_that_sometimes_falls_is_not_a_year_to_date_total() -> None:
    # A series that falls once within a year is not a running total: scored as it is.
    months, x = jan_feb_as_one_figure(5, SEASON, 0.05)
    det = StreamingDetector()
    for m, v in zip(months, x, strict=True):
        det.update(m, float(v))
    assert not det._bank.st["ytd"].any()
    total = _year_to_date(months, x)
    det = StreamingDetector()
    for m, v in zip(months, total, strict=True):
        det.update(m, float(v))
    assert det._bank.st["ytd"].all()


def _short_alarms(months: list[dt.datetime], x: np.ndarray, since: int) -> frozenset[str]:
    """Alarms on the series from ``since`` on, scored as `detect-csv` scores a file: the
    warm-up is 15 % of its points (NAB's probationary period)."""
    keep = [i for i, m in enumerate(months) if m.year >= since]
    bank = SeriesBank(1, DetectorConfig(), warmup=np.array([max(1, int(0.15 * len(keep)))]))
    alarms = set()
    for i in keep:
        out = bank.step(np.array([epoch_seconds(months[i])]), np.array([float(x[i])]))
        if out.score[0] >= 0.5:
            alarms.add(months[i].strftime("%Y-%m"))
    return frozenset(alarms)


@pytest.mark.parametrize("form", ["jan_feb", "heating", "ytd"])
def test_a_short_file_from_2018_finds_both_shocks(form: str) -> None:
    # Two years before the 2020 collapse, as a short provincial file may have.  A monthly
    # series learns it is one (and is modelled in logs, or as a year-to-date total) only
    # after some figures; restarted from scratch then, its seasonal model was not ready by
    # January 2020 and the drop was missed on all 12 of each form.  Its kept figures
    # are now read again instead.
    season, growth = (HEATING, 0.08) if form == "heating" else (SEASON, 0.05)
    results = []
    for seed in SEEDS:
        months, x = jan_feb_as_one_figure(seed, season, growth)
        if form == "ytd":
            x = _year_to_date(months, x)
        results.append(_short_alarms(months, x, 2018))
    assert sum("2020-02" in a for a in results) >= 11, results
    assert sum(bool(a & RATIONING) for a in results) >= 9, results
    assert sum(len(a - EPISODES) for a in results) <= 3, results


@pytest.mark.parametrize(("start", "dips"), [(2017, 8), (2018, 8), (2019, 5)])
def test_a_short_seasonal_file_reads_its_first_anniversary_with_its_seasonal_model(start: int, dips: int) -> None:
    # Files from January 2017 / 2018 / 2019, scored as detect-csv scores them (warm-up 15 %
    # of the points).  A monthly seasonal model first meets a month again a year after the
    # start and takes the year's growth out of its slots there (_untilt_first_year):
    # * from 2019 that month is January 2020, the shock itself; taken for growth it bent
    #   every slot (2021 dip found in 0 of 12 series, 23 other alarms): the turn now waits
    #   for a month that is no outlier to the plain level model;
    # * that first anniversary was read by the plain level model, to which an ordinary
    #   December-to-January swing is news (11 and 13 other alarms from 2017 and 2018, all
    #   in January 2018 / 2019): it is now read by the seasonal model that fits it, when
    #   the growth it took out is plausible.
    from backend.detection.csvrun import score_arrays

    caught = others = 0
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        months = [dt.datetime(2015 + k // 12, k % 12 + 1, 1) for k in range(96)]
        x = 1000.0 * 1.05 ** (np.arange(96) / 12) * (1.0 + rng.normal(0.0, 0.015, 96)) * SEASON[np.arange(96) % 12]
        for i, m in enumerate(months):
            x[i] *= 0.75 if m.strftime("%Y-%m") in COVID else 0.90 if m.strftime("%Y-%m") in RATIONING else 1.0
        keep = [i for i, m in enumerate(months) if m.year >= start]
        t = np.array([epoch_seconds(months[i]) for i in keep])
        scores = score_arrays([(t, x[keep])])[0]
        alarms = {months[i].strftime("%Y-%m") for i, s in zip(keep, scores, strict=True) if s >= 0.5}
        assert alarms & COVID, (seed, sorted(alarms))
        caught += bool(alarms & RATIONING)
        others += len(alarms - EPISODES)
    assert caught >= dips and others <= 3, (caught, others)
