"""Behaviour of the streaming detector on synthetic series (no database)."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import numpy as np

from backend.detection import BatchDetector, DetectorConfig, Score, StreamingDetector
from backend.detection.calendar import lunar_new_year
from backend.detection.engine import likelihood_score

HOUR = dt.timedelta(hours=1)
START = dt.datetime(2024, 3, 4)


def hourly_series(n: int, seed: int = 0) -> np.ndarray:
    """Daily-cycle hourly load around 1,000 with noise sd 10."""
    rng = np.random.default_rng(seed)
    tod = np.arange(n) % 24
    return 1000 + 150 * np.sin(2 * np.pi * tod / 24) + rng.normal(0, 10, n)


def run(
    values: np.ndarray, start: dt.datetime = START, step: dt.timedelta = HOUR, **cfg: float
) -> list[Score]:
    det = StreamingDetector(DetectorConfig(warmup=cfg.pop("warmup", 24 * 7), **cfg))  # type: ignore[arg-type]
    return [det.update(start + i * step, float(v)) for i, v in enumerate(values)]


def alarms(scores: list[Score], lo: int, hi: int) -> list[Score]:
    return [s for s in scores[lo:hi] if s.score >= 0.5]


def test_it_flags_a_level_shift_after_a_production_cut() -> None:
    x = hourly_series(24 * 40)
    cut = 24 * 30 + 5
    x[cut:] -= 300
    scores = run(x)
    hits = alarms(scores, cut, cut + 6)
    assert hits, "no alarm within 6 hours of a 30% cut"
    assert any("level_shift" in s.checks for s in scores[cut : cut + 6])
    first = hits[0]
    assert first.value < first.lower
    assert first.explanation_zh.startswith("低于预期区间")
    assert "水平突变" in " ".join(s.explanation_zh for s in scores[cut : cut + 6])


def test_it_stays_quiet_on_an_ordinary_seasonal_series() -> None:
    scores = run(hourly_series(24 * 40, seed=3))
    after_warmup = scores[24 * 7 :]
    assert sum(s.score >= 0.5 for s in after_warmup) / len(after_warmup) < 0.02


def test_it_flags_a_spike_and_only_once() -> None:
    x = hourly_series(24 * 30, seed=1)
    at = 24 * 20 + 3
    x[at] += 120
    scores = run(x)
    assert scores[at].score >= 0.5
    assert "spike" in scores[at].checks
    assert scores[at].since == scores[at].timestamp
    assert all(s.score < 0.5 for s in scores[at + 1 : at + 24])


def test_it_flags_a_stuck_meter() -> None:
    x = hourly_series(24 * 30, seed=2)
    frozen = 24 * 20
    x[frozen:] = x[frozen]
    scores = run(x)
    assert any("stuck" in s.checks for s in scores[frozen : frozen + 12])
    assert all("stuck" not in s.checks for s in scores[: frozen + 1])


def test_it_flags_a_slow_drift() -> None:
    rng = np.random.default_rng(4)
    n = 24 * 40
    x = 500 + rng.normal(0, 5, n)
    begin = 24 * 25
    x[begin:] += 1.5 * np.arange(n - begin)  # +0.3 noise sd per hour, never a jump
    scores = run(x)
    drift_hits = [i for i in range(begin, n) if "drift" in scores[i].checks]
    assert drift_hits, "drift never flagged"
    assert drift_hits[0] - begin < 48
    quiet = scores[24 * 7 : begin]
    assert sum(s.score >= 0.5 for s in quiet) / len(quiet) < 0.02


def spring_festival_series(
    years: range, surprise: dt.date
) -> tuple[list[dt.date], np.ndarray, dict[str, int]]:
    """Daily industrial output: 1,000 on working days (调休 included), 850 on rest days,
    600 from 3 days before to 10 days after lunar new year each year, and an
    unexplained -40% week starting at ``surprise``."""
    rng = np.random.default_rng(5)
    first, stop = dt.date(years.start, 1, 1), dt.date(years.stop, 1, 1)
    days = [first + dt.timedelta(d) for d in range((stop - first).days)]
    x = np.array([1000.0 if chinese_calendar.is_workday(d) else 850.0 for d in days])
    marks: dict[str, int] = {}
    for i, d in enumerate(days):
        ny = lunar_new_year(d.year)
        assert ny is not None
        if -3 <= (d - ny).days <= 10:
            x[i] = 600.0
        if 0 <= (d - surprise).days < 7:
            x[i] *= 0.6
        if d == surprise:
            marks["surprise"] = i
        if d == ny and d.year == years.stop - 1:
            marks["sf"] = i - 3
    return days, x + rng.normal(0, 15, len(days)), marks


def test_the_calendar_baseline_expects_the_spring_festival_dip_but_not_a_surprise_dip() -> None:
    days, x, marks = spring_festival_series(range(2021, 2025), surprise=dt.date(2024, 5, 20))
    det = StreamingDetector()
    scores = [det.update(dt.datetime.combine(d, dt.time()), float(v)) for d, v in zip(days, x, strict=True)]
    festival = scores[marks["sf"] : marks["sf"] + 14]
    surprise = max(s.score for s in scores[marks["surprise"] : marks["surprise"] + 7])
    assert surprise >= 0.5
    assert max(s.score for s in festival) < surprise
    # The dip itself (its first days) is expected; a few late-festival days may
    # still alarm because the level adapts during the holiday.
    assert all(s.score < 0.5 for s in festival[:7])
    assert sum(s.score >= 0.5 for s in festival) <= 3


def test_the_calendar_is_what_makes_the_spring_festival_expected() -> None:
    days, x, marks = spring_festival_series(range(2021, 2025), surprise=dt.date(2024, 5, 20))
    det = StreamingDetector(DetectorConfig(calendar=False))
    scores = [det.update(dt.datetime.combine(d, dt.time()), float(v)) for d, v in zip(days, x, strict=True)]
    assert max(s.score for s in scores[marks["sf"] : marks["sf"] + 7]) >= 0.5


def test_scores_of_a_prefix_do_not_change_when_later_data_is_appended() -> None:
    x = hourly_series(24 * 30, seed=6)
    x[24 * 25] += 200
    full = run(x)
    prefix = run(x[: 24 * 20])
    assert [s.score for s in prefix] == [s.score for s in full[: 24 * 20]]
    assert [s.expected for s in prefix] == [s.expected for s in full[: 24 * 20]]


def test_the_batch_path_gives_exactly_the_streaming_scores() -> None:
    n_series, n = 4, 24 * 15
    xs = np.stack([hourly_series(n, seed=10 + k) for k in range(n_series)])
    xs[1, 200] += 300
    xs[2, 250:] -= 200
    xs[3, 100:110] = np.nan  # gaps take the partial-update path
    cfg = DetectorConfig(warmup=48)
    batch = BatchDetector(n_series, cfg)
    got = np.stack([batch.update(START + i * HOUR, xs[:, i]) for i in range(n)], axis=1)
    for k in range(n_series):
        det = StreamingDetector(cfg)
        want = [det.update(START + i * HOUR, float(xs[k, i])).score for i in range(n)]
        assert np.array_equal(got[k], np.array(want)), f"series {k} differs"
    assert got[1, 200] >= 0.5


def test_a_missing_value_scores_zero_and_changes_nothing() -> None:
    x = hourly_series(24 * 10, seed=7)
    cfg = DetectorConfig(warmup=48)
    with_gap, without = StreamingDetector(cfg), StreamingDetector(cfg)
    for i in range(200):
        with_gap.update(START + i * HOUR, float(x[i]))
        without.update(START + i * HOUR, float(x[i]))
    assert with_gap.update(START + 200 * HOUR, float("nan")).score == 0.0
    for i in range(201, 240):
        assert with_gap.update(START + i * HOUR, float(x[i])) == without.update(START + i * HOUR, float(x[i]))


def test_the_likelihood_maps_a_tail_probability_of_1e5_to_one_half() -> None:
    got = likelihood_score(np.array([0.0, 4.264891, 8.0]))
    assert abs(got[1] - 0.5) < 1e-4
    assert got[0] < 0.05 and got[2] > 0.9


def test_the_likelihood_cuts_alarms_from_heavy_tailed_noise() -> None:
    for seed in range(3):
        rng = np.random.default_rng(seed)
        x = hourly_series(24 * 60, seed=seed) + 10 * rng.standard_t(2, 24 * 60)
        with_lik = sum(s.score >= 0.5 for s in run(x)[24 * 7 :])
        without = sum(s.score >= 0.5 for s in run(x, likelihood=False)[24 * 7 :])
        assert with_lik < without, f"seed {seed}: {with_lik} alarms with the likelihood, {without} without"


def test_a_spike_is_also_unlikely_for_the_series() -> None:
    x = hourly_series(24 * 30, seed=8)
    at = 24 * 25
    x[at] += 150
    scores = run(x)
    assert scores[at].likelihood >= 0.5
    assert all(0.0 <= s.likelihood <= 1.0 for s in scores)


def test_a_unit_mixup_on_a_daily_series_does_not_hide_a_shutdown_months_later() -> None:
    """A gross error (values x1,000 for 3 days, a unit mix-up) raises the remembered feature
    maxima at most env_growth-fold, so a shutdown 90 days later is still beyond them (its
    checks fire, which is what the alert path's severity reads); with unbounded maxima
    (env_growth 0) and an unclipped level-shift EWMA (level_shift_clip 0, the second
    defence against a gross error) it is not."""
    rng = np.random.default_rng(7)
    x = 5000 * (1 + rng.normal(0, 0.03, 400))
    mixup, shutdown = 150, 240
    x[mixup : mixup + 3] *= 1000.0
    x[shutdown : shutdown + 5] *= 0.03
    day = dt.timedelta(days=1)
    bounded = run(x, START, day, warmup=60)
    unbounded = run(x, START, day, warmup=60, env_growth=0.0, level_shift_clip=0.0)
    assert bounded[mixup].score >= 0.5 and unbounded[mixup].score >= 0.5
    assert {"spike", "jump"} <= set(bounded[shutdown].checks)
    assert "level_shift" in bounded[shutdown + 1].checks
    assert bounded[shutdown].score > 0.9
    assert unbounded[shutdown].checks == () and unbounded[shutdown].score < 0.01


def test_integer_readings_whose_first_residual_is_zero_still_flag_a_collapse() -> None:
    # Whole-number speeds (~62 +- 3) every 5 minutes, like a road sensor or a counter.
    # The first two readings are equal and day 2 starts as day 1 did, so the level and
    # the daily model each see a first residual of exactly 0.  A scale started at 0
    # never grew under the clipped update: the model looked perfect, every later
    # residual was a z of thousands and a collapse to 15 scored ~0.04 (as on NAB's
    # realTraffic/speed_t4013).
    rng = np.random.default_rng(11)
    n, day = 5 * 288, 288
    x = np.round(62 + rng.normal(0, 3, n))
    x[1] = x[0]
    x[day] = x[0]
    x[4 * day + 100 : 4 * day + 104] = 15.0
    start = dt.datetime(2015, 9, 1)
    det = StreamingDetector(DetectorConfig(warmup=2 * day))
    scores = [det.update(start + dt.timedelta(minutes=5 * i), float(v)).score for i, v in enumerate(x)]
    assert max(scores[4 * day + 100 : 4 * day + 104]) >= 0.5
    # Ordinary readings stay quiet.
    quiet = scores[2 * day : 4 * day + 100]
    assert sum(s >= 0.5 for s in quiet) <= 2, sorted(quiet)[-5:]


def test_a_noise_free_series_keeps_its_perfect_fit() -> None:
    # Residuals that stay exactly 0 (a clean square wave, NAB's
    # art_daily_perfect_square_wave) start the scale at 0 after ZERO_RUN of them, as
    # before: the wave itself raises no alarm.
    n, day = 6 * 288, 288
    x = np.where((np.arange(n) % day) < day // 2, 20.0, 80.0)
    start = dt.datetime(2014, 4, 1)
    det = StreamingDetector(DetectorConfig(warmup=2 * day))
    scores = [det.update(start + dt.timedelta(minutes=5 * i), float(v)).score for i, v in enumerate(x)]
    assert max(scores[2 * day :]) < 0.5, max(scores[2 * day :])
