"""Streaming anomaly detector for one series, its batch twin, and the Score it returns.

``StreamingDetector.update(timestamp, value)`` scores a point using only the
points fed before it; all state lives in the object and nothing does I/O.  The
statistical checks (seasonal robust baseline, spike, level shift, drift, jump,
volatility, stuck meter) run in ``engine.SeriesBank``; the per-indicator rules
(absolute thresholds, 同比, target) come from ``rules``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from backend.detection.engine import FEATURES, KIND_MONTHLY, DetectorConfig, SeriesBank
from backend.detection.rules import Result, TargetRule, ThresholdRule, YoYRule, fmt

# Calendar effects are Chinese: aware timestamps are read on Beijing wall-clock time.
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
_EPOCH = dt.datetime(1970, 1, 1)
# A point is an alarm when its score reaches this level (ratio 1 to the recent maximum).
ALARM_LEVEL = 0.5
# Score given to a point on which a configured rule fires: rules are explicit
# policy, so they alarm regardless of the statistics.
RULE_SCORE = 0.9
# Residual scale is a mean absolute deviation; 1.25 of it is about one standard deviation.
MAD_TO_SD = 1.25

CHECK_NAMES_ZH = {
    "spike": "尖峰",
    "level_shift": "水平突变",
    "drift": "缓慢漂移",
    "jump": "跳变",
    "volatility": "波动加剧",
    "stuck": "数值冻结（疑似表计故障）",
    "pattern": "异常模式",
    "threshold": "阈值",
    "yoy": "同比",
    "target": "目标偏离",
    "missing": "缺报",
}
CHECK_NAMES_EN = {
    "spike": "spike",
    "level_shift": "level shift",
    "drift": "slow drift",
    "jump": "jump",
    "volatility": "volatility increase",
    "stuck": "stuck value (frozen meter?)",
    "pattern": "unusual pattern",
    "threshold": "threshold",
    "yoy": "year-on-year",
    "target": "off target",
    "missing": "missing report",
}

Rule = ThresholdRule | YoYRule | TargetRule


@dataclass(frozen=True)
class Score:
    """Anomaly score of one point with what a duty officer needs to act on it.

    ``score`` is in [0, 1] (>= 0.5 is an alarm); ``expected``/``lower``/``upper``
    are the baseline and its band; ``checks`` names what fired; ``since`` is the
    start of the current alarm episode (None when there is no alarm);
    ``likelihood`` is the anomaly likelihood in [0, 1] (0.5: a raw score this
    high has a tail probability of 1e-5 for this series).
    """

    timestamp: dt.datetime
    value: float
    score: float
    expected: float
    lower: float
    upper: float
    checks: tuple[str, ...]
    since: dt.datetime | None
    explanation_zh: str
    explanation_en: str
    likelihood: float = 0.0


def epoch_seconds(ts: dt.datetime) -> float:
    """Seconds since 1970-01-01 of the wall-clock time (aware times are read in Beijing time)."""
    if ts.tzinfo is not None:
        ts = ts.astimezone(LOCAL_TZ).replace(tzinfo=None)
    return (ts - _EPOCH).total_seconds()


def stamp(ts: dt.datetime, monthly: bool = False, en: bool = False) -> str:
    """A data time as the explanations write it: the date alone at midnight, a monthly
    figure's as its month (2026年10月, Oct 2026; it is stamped on the 1st)."""
    if monthly:
        return ts.strftime("%b %Y") if en else f"{ts.year}年{ts.month}月"
    return ts.strftime("%Y-%m-%d") if (ts.hour, ts.minute) == (0, 0) else ts.strftime("%Y-%m-%d %H:%M")


def explain(
    value: float,
    expected: float,
    lower: float,
    upper: float,
    checks: Sequence[str],
    since: dt.datetime | None,
    rule_results: Sequence[Result] = (),
    year_to_date: bool = False,
    ytd_growth: bool = False,
    baseline: float | None = None,
    monthly: bool = False,
) -> tuple[str, str]:
    """Chinese and English sentences: where the value sits against the band, what fired, since when.

    ``year_to_date``: the series was recognised as a running total (累计) and is judged
    on each month's increment; ``ytd_growth``: a 累计同比 growth rate judged on the
    monthly growth it implies.  The sentence says so.  ``baseline``: the level expected
    where the episode began, for an episode whose values are still grossly away from it
    after the detector has adapted (a shutdown into its second day): the sentence measures
    the value against it, not against a band that has followed the plant down.
    ``monthly``: the series is monthly, so "since" names a month, not its first day.
    """
    band_zh = f"预期 {fmt(expected)}, 区间 {fmt(lower)}–{fmt(upper)}"
    band_en = f"expected {fmt(expected)}, band {fmt(lower)}–{fmt(upper)}"
    if baseline is not None and baseline > 0:
        pct = f"{value / baseline * 100:.0f}%"
        word_zh, word_en = ("远低于", "far below") if value < baseline else ("远高于", "far above")
        zh = f"{word_zh}事件开始时的预期水平（当前 {fmt(value)}，为 {fmt(baseline)} 的 {pct}）"
        en = f"{word_en} the level expected when the episode began ({fmt(value)} is {pct} of {fmt(baseline)})"
    elif value < lower:
        zh, en = f"低于预期区间 ({band_zh})", f"below the expected band ({band_en})"
    elif value > upper:
        zh, en = f"高于预期区间 ({band_zh})", f"above the expected band ({band_en})"
    else:
        zh, en = f"在预期区间内 ({band_zh})", f"within the expected band ({band_en})"
    if since is not None:
        zh += f"，自 {stamp(since, monthly)} 起"
        en += f", since {stamp(since, monthly, en=True)}"
    if checks:
        zh += "；触发：" + "、".join(CHECK_NAMES_ZH.get(c, c) for c in checks)
        en += "; fired: " + ", ".join(CHECK_NAMES_EN.get(c, c) for c in checks)
    for r in rule_results:
        zh += f"；{r.message_zh}"
        en += f"; {r.message_en}"
    if year_to_date:
        zh += "；累计值，按当月增量判断"
        en += "; a year-to-date total, judged on the month's increment"
    if ytd_growth:
        zh += "；累计同比增速，按其隐含的当月增速判断"
        en += "; a year-to-date growth rate (累计同比), judged on the monthly growth it implies"
    return zh, en


class StreamingDetector:
    """The production detector for one series: feed points in time order with ``update``.

    Guarantees: the Score for a point depends only on that point and earlier
    ones (appending data never changes earlier scores); a point with a
    non-finite value scores 0 and leaves the state unchanged.
    """

    def __init__(
        self, config: DetectorConfig | None = None, rules: Sequence[Rule] = (), ytd_growth: bool = False
    ) -> None:
        """``ytd_growth``: the series is known to be a 累计同比 growth rate (else it is
        recognised from its values, see engine._ytd_growth)."""
        self.config = config or DetectorConfig()
        self.rules = tuple(rules)
        self._bank = SeriesBank(1, self.config, ytd_growth=np.array([ytd_growth]))
        self._since: dt.datetime | None = None

    def update(self, timestamp: dt.datetime, value: float, last_year: float | None = None) -> Score:
        """Score one point; ``last_year`` is the same period's value a year ago (for 同比 rules)."""
        out = self._bank.step(np.array([epoch_seconds(timestamp)]), np.array([float(value)]))
        score = float(out.score[0])
        expected = float(out.expected[0])
        half = self.config.band_z * MAD_TO_SD * float(out.scale[0])
        lower, upper = expected - half, expected + half
        # Checks are reported for the whole episode, also while the score is
        # damped after the first alarm, so the officer sees what is still wrong.
        checks: list[str] = []
        if out.warm[0]:
            checks = [FEATURES[j] for j in np.argsort(-out.ratios[0]) if out.ratios[0, j] >= 1.0]
            # Rare for this series although no single check is beyond its recent maximum.
            if not checks and out.likelihood[0] >= ALARM_LEVEL:
                checks = ["pattern"]
        fired: list[Result] = []
        for rule in self.rules:
            res = (
                rule.check(timestamp, value, last_year)
                if isinstance(rule, YoYRule)
                else rule.check(timestamp, value)
            )
            if res is not None:
                fired.append(res)
                checks.append(res.check)
        if fired:
            score = max(score, RULE_SCORE)
        if checks:
            self._since = self._since or timestamp
        else:
            self._since = None
        st = self._bank.st
        zh, en = explain(
            float(value), expected, lower, upper, checks, self._since, fired, bool(st["ytd"][0]), bool(st["ytdg"][0]),
            monthly=bool(st["kind"][0] == KIND_MONTHLY),
        )
        return Score(
            timestamp,
            float(value),
            score,
            expected,
            lower,
            upper,
            tuple(checks),
            self._since,
            zh,
            en,
            float(out.likelihood[0]),
        )


class BatchDetector:
    """Many series stepped together; ``update`` gives exactly the StreamingDetector scores.

    Use it for throughput (one numpy step per time point for all series).  It
    returns scores only; rules and explanations belong to the single-series path.
    """

    def __init__(self, n_series: int, config: DetectorConfig | None = None) -> None:
        self._bank = SeriesBank(n_series, config or DetectorConfig())

    def update(self, timestamps: Sequence[dt.datetime] | dt.datetime, values: np.ndarray) -> np.ndarray:
        """Scores (shape (n_series,)) for one point per series; a single timestamp is shared by all."""
        values = np.asarray(values, dtype=float)
        if isinstance(timestamps, dt.datetime):
            t = np.full(len(values), epoch_seconds(timestamps))
        else:
            t = np.array([epoch_seconds(ts) for ts in timestamps])
        return self._bank.step(t, values).score
