"""Batch scoring with saved detector state: resuming from a blob gives exactly the scores of an
uninterrupted run (so splitting data into ingest cycles changes nothing), and a point's score
never depends on later points."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np

from backend.alerts import scoring
from backend.detection.engine import DetectorConfig

CFG = DetectorConfig()
T0 = 1_772_380_800.0  # 2026-03-01T16:00Z


def _series(n: int, seed: int, drop_at: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = T0 + 900.0 * np.arange(n)
    x = 1000 * (1 + 0.25 * np.sin(2 * math.pi * np.arange(n) / 96)) * (1 + 0.02 * rng.standard_normal(n))
    if drop_at is not None:
        x[drop_at:] *= 0.4
    return t, x


def _score(chunks: list[int], data: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    lay = scoring.layout(CFG)
    blobs: list[bytes | None] = [None] * len(data)
    out: list[list[np.ndarray]] = [[] for _ in data]
    pos = 0
    for size in chunks:
        bank = scoring.load_bank(blobs, CFG, lay)
        part = [(t[pos:pos + size], x[pos:pos + size]) for t, x in data]
        for i, s in enumerate(scoring.score_batch(bank, part, [scoring.RuleSet()] * len(data), CFG)):
            out[i].append(s.severity)
        blobs = list(scoring.dump_bank(bank, lay))
        pos += size
    return [np.concatenate(o) for o in out]


def test_resuming_from_saved_state_gives_the_same_scores_as_one_run():
    data = [_series(1200, 1, drop_at=1100), _series(1200, 2), _series(1100, 3)]
    whole = _score([1200], data)
    split = _score([700, 96, 4, 4, 396], data)
    for a, b in zip(whole, split, strict=True):
        np.testing.assert_array_equal(a, b)
    assert whole[0][1100:1102].max() > 0.9  # the drop is found
    assert whole[1][300:].max() < 0.9


def test_a_prefix_scores_the_same_whatever_comes_after():
    t, x = _series(600, 4)
    t2, x2 = t.copy(), x.copy()
    x2[400:] *= 3.0
    a = _score([600], [(t, x)])[0]
    b = _score([600], [(t2, x2)])[0]
    np.testing.assert_array_equal(a[:400], b[:400])


def test_a_threshold_rule_sets_the_severity_when_it_fires():
    from backend.detection.rules import ThresholdRule

    t, x = _series(300, 5)
    x[250] = 5.0
    lay = scoring.layout(CFG)
    bank = scoring.load_bank([None], CFG, lay)
    rules = scoring.RuleSet(thresholds=(ThresholdRule(lower=100.0),))
    s = scoring.score_batch(bank, [(t, x)], [rules], CFG)[0]
    assert s.severity[250] >= 0.9
    names, fired = scoring.checks_at(s, 250, rules)
    assert "threshold" in names and fired[0].check == "threshold"


def _monthly_total(years: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A 累计 year-to-date total (January and February as one figure), Beijing month starts."""
    rng = np.random.default_rng(seed)
    t, x, total = [], [], 0.0
    for y in range(2015, 2015 + years):
        for m in range(2, 13):
            v = 1000.0 * (2.0 if m == 2 else 1.0) * (1.0 + 0.015 * rng.standard_normal())
            total = v if m == 2 else total + v
            t.append(datetime(y, m, 1, tzinfo=UTC).timestamp() - 8 * 3600)
            x.append(total)
    return np.array(t), np.array(x)


def test_monthly_state_resumes_exactly_and_a_total_is_said_to_be_one():
    # The base-effect memory and the year-to-date state survive the saved blobs.
    data = [_monthly_total(6, 1), _monthly_total(6, 2)]
    yoy_t = data[0][0][11:]
    yoy_x = 100.0 * (data[1][1][11:] / data[1][1][:-11] - 1.0)
    data.append((yoy_t, yoy_x))
    whole = _score([66], data)
    split = _score([20, 13, 1, 32], data)
    for a, b in zip(whole, split, strict=True):
        np.testing.assert_array_equal(a, b)
    lay = scoring.layout(CFG)
    bank = scoring.load_bank([None, None], CFG, lay)
    scored = scoring.score_batch(bank, [data[0], (data[0][0], data[0][1] * 0 + 5.0)], [scoring.RuleSet()] * 2, CFG)
    assert scored[0].year_to_date and not scored[1].year_to_date
