"""Vectorised streaming core shared by every detector path.

``SeriesBank`` holds the state of N series side by side in numpy arrays and
advances all of them by one point per call.  The single-series streaming
detector is a bank of one, and the batch path is a bank of many, so both run
the very same arithmetic and give the same scores.

Causality is structural: ``step`` sees only the current point and the state
built from earlier points, and every statistic it uses (baselines, scales,
feature maxima) is read *before* it is updated with the current point.

Method (details and parameters in docs/detection.md):

1. Three robust baselines compete: a level (robust EWMA, with a Holt trend on
   daily and monthly series), a daily-seasonal
   Holt-Winters (slot = time of day, weekday for daily data or the daily
   series' own cycle when it has one, month for monthly data) and a calendar-seasonal Holt-Winters (slot = Chinese day type
   x time of day: weekday, public holiday, 调休 make-up day, Spring Festival
   offset by lunar date).  Updates are Huber-clipped, so an anomaly barely
   moves a baseline (on daily and monthly series only after SETTLE points, with
   running-mean scales until then, so a short series finds its noise level).  The baseline with the smallest recent residual scale is
   the expectation; a slot that has never been seen falls back to a simpler one.
2. Checks turn the residual into non-negative features: spike (|z|), level
   shift (short EWMA of z), drift (long EWMA of z), jump (first difference over
   its robust scale), volatility (fast/slow ratio of |first difference|) and
   stuck (-run_length * log P(no change)).
3. Each feature is divided by its own recent maximum (a maximum that decays
   with a half-life, so old incidents are forgotten), floored so a quiet series
   does not turn noise into alarms: "how unusual is this for this series".
   On daily and monthly series one episode can raise that maximum only to
   ``env_growth`` times the maximum over calm points (raw ratio < 1).
   The anomaly score is r^2/(1+r^2) for r the largest ratio, so 0.5 means
   "beyond anything seen lately".
4. An HTM-style anomaly likelihood calibrates that raw score per series: the
   raw score's long-run mean and variance (exponentially weighted, half-life
   ``likelihood_halflife``) give a Gaussian tail probability Q of the current
   raw score, mapped to -log10(Q)/10 (so Q = 1e-5 gives 0.5).  The score is the
   geometric mean of the raw score and that likelihood: high only when the
   point is both beyond the recent maxima *and* rare for this series' own raw
   scores.  Until the likelihood has seen ``warmup`` raw scores (and at least
   LIKELIHOOD_MIN_POINTS) the raw score is used alone, and daily and monthly
   series always use the raw score alone.
5. Zero during warm-up.  A score that is not a new high of the recent score
   maximum (decaying with half-life ``refractory``) is damped, because one
   incident should raise one alarm at its onset, not a stream of them.

Monthly series are read in the form a statistics bureau publishes them: positive
quantities in logs, a year-to-date total (累计) on its increments (_year_to_date), a
year-to-date growth rate (累计同比) on the monthly growth it implies (_ytd_growth),
each found from the values (or, for 累计同比, declared by the caller).  When a series
finds out what it is, its last KEPT figures are read again in that form
(_reread) instead of restarting its models blind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.detection import calendar as cal

FEATURES: tuple[str, ...] = ("spike", "level_shift", "drift", "jump", "volatility", "stuck")
N_FEATURES = len(FEATURES)

DAY = 86400.0
# Bin width floor for sub-daily slots: at most 288 slots per day.
MIN_BIN_SECONDS = 300.0
MAX_SLOTS_PER_DAY = 288
KIND_SUBDAILY, KIND_DAILY, KIND_MONTHLY = 0, 1, 2
N_SLOTS1 = MAX_SLOTS_PER_DAY
N_SLOTS2 = cal.N_DAY_TYPES_SUBDAILY * MAX_SLOTS_PER_DAY
# Deltas looked at before the sampling interval is fixed.
INTERVAL_PROBE = 8
# Points (after the sampling interval is fixed) before the scales of a daily or
# monthly series are Huber-clipped.  Their scales restart then as running means,
# so a short series reaches its true noise level within its warm-up instead of
# growing from a small first residual by at most a few per cent a step.
SETTLE = 10
# Exactly-zero residuals after which a model's scale starts at 0 (a perfect fit).
ZERO_RUN = 20
# A monthly series is modelled in logs when its values are positive and at least half
# of its first steps change it by less than this share of its size.
LOG_STEP = 0.25
# A monthly series is read as a year-to-date total (累计) when, before its first new
# year as a monthly series, it rose at least this often within a year and never fell,
# and every new year restarted it below YTD_RESET of the year before's last value.
YTD_RISES = 5
YTD_RESET = 0.5
# Points, counted from its first kept figure, before a re-read total's increments are
# scored (a year and a half: 24 missed January 2020 on totals starting in 2018, 12 gave
# two more other alarms).
YTD_WARMUP = 18
# A monthly growth rate is read as 累计同比 (the 同比 growth of a year-to-date total) when
# the log-likelihood ratio of its step sizes (see _ytd_growth) reaches YTDG_LLR over at
# least YTDG_MIN year-on-year differences of steps, and YTDG_YEARS years of pairs each
# favoured it on their own with no step beyond YTDG_WILD (A, B) times either model's mean
# (a shock); each term is clipped at YTDG_CLIP times its model's running mean once
# YTDG_SETTLE terms are in.
YTDG_LLR = 9.0
YTDG_MIN = 12
YTDG_YEARS = 3
YTDG_WILD = (50.0, 12.0)
YTDG_CLIP = 6.0
YTDG_SETTLE = 5
# ... unless its calendar months explain at least this share of its kept figures' variation
# within a year (a season; see _seasonal_share): measured each August, 0.39-0.99 on 31
# provinces' monthly power use 2016-2024 (0.39-0.49 only in Xinjiang and Ningxia, never read
# as 累计同比 anyway), 0.01-0.38 on China's and synthetic 累计同比 and 当月同比 rates once
# two years are kept.
YTDG_SEASON = 0.5
# Revision of what a detector state means.  Raised when a change makes states learned by
# the previous version wrong to keep (not merely different): the alert path then re-learns
# every series from its stored history (backend/alerts/scoring.layout).  2: a level with a
# season may have been read as 累计同比 (YTDG_SEASON), and stays so once read.
STATE_REVISION = 2
# Raw figures a monthly series keeps (and every series until its interval is known), to be
# re-read when it finds out what it is (see _reread).
KEPT = 36
# A step this long (seconds) is a monthly one before the series' interval is fixed.
MONTH_STEP = 20 * DAY
# The festival model by day type replaces the offset's own slot on a daily series only
# when its recent error on festival days is below this share of the slot's.
SF_MARGIN = 0.5
# Gain of the festival models' exponentially weighted errors (per festival day).
SF_ERR_GAIN = 0.2
# Scored residuals a seasonal model needs before it may be the expectation.
SEASON_MIN, SEASON_MIN_MONTHLY = 20, 4
# A daily series' own cycle (see _cycle): candidate periods 1..CYC_MAX days, kept as a ring
# of the last CYC_MAX + 1 days, the mean |x(d) - x(d - p)| per lag learned with gain
# CYC_ALPHA (a running mean for the first 1 / CYC_ALPHA), judged after CYC_MIN pairs.
CYC_MAX = 14
CYC_RING = CYC_MAX + 1
CYC_ALPHA = 0.02
CYC_MIN = 28
# A period is a cycle when its lag differences are below CYC_GENUINE of the day-to-day
# ones; it replaces the seasonal model's period when below CYC_SWITCH of that period's.
CYC_GENUINE = 0.5
CYC_SWITCH = 0.7
# The shortest lag whose differences are within this factor of the smallest is the
# period (a 5-day cycle also repeats every 10 days, and chance favours either).
CYC_PREFER = 1.5
WEEK = 7
# A daily-kind series sampled every WEEKLY_DT or more (weekly figures) meets each Spring
# Festival at a different offset every year (its points fall on one weekday), so an
# offset's own slot is seen about once in seven years.  An offset it has not seen reads
# the nearest offset it has, within SF_NEAR days (a week's figure spans a week anyway);
# each offset still learns only from its own figures.
WEEKLY_DT = 4 * DAY
SF_NEAR = 3
# The month a monthly seasonal model in logs turns is read by it when the growth it took
# out of its first year is within this (log units: about +-15 %); see _step.
TURN_READ = 0.15


def _nearest_seen(counts: np.ndarray, rows: np.ndarray, slot: np.ndarray, lo: int, hi: int, use: np.ndarray) -> np.ndarray:
    """``slot``, or where ``use`` and it is unseen (count 0), the nearest seen slot in
    [lo, hi] within SF_NEAR (the earlier one first on a tie); unchanged if none."""
    out = slot.copy()
    todo = use & (counts[rows, np.clip(slot, 0, counts.shape[1] - 1)] == 0)
    for k in (-1, 1, -2, 2, -3, 3)[: 2 * SF_NEAR]:
        cand = slot + k
        ok = todo & (cand >= lo) & (cand <= hi)
        ok[ok] = counts[rows[ok], cand[ok]] > 0
        out = np.where(ok, cand, out)
        todo &= ~ok
    return out


@dataclass(frozen=True)
class DetectorConfig:
    """Parameters of the production detector (see docs/detection.md).

    ``warmup`` and ``refractory`` are in points; None picks a default from the
    sampling interval once it is known.
    """

    warmup: int | None = None
    refractory: int | None = None
    level_alpha: float = 0.1
    season_alpha: float = 0.3
    scale_alpha: float = 0.02
    huber: float = 3.0
    short_alpha: float = 0.2
    drift_alpha: float = 0.02
    jump_alpha: float = 0.02
    vol_fast: float = 0.05
    vol_slow: float = 0.002
    change_alpha: float = 0.002
    tail_halflife: int | None = None
    damp: float = 0.2
    season_margin: float = 0.9
    band_z: float = 3.0
    calendar: bool = True
    floors: tuple[float, ...] = (4.0, 2.0, 1.0, 4.0, 2.0, 9.0)
    # Weight of each feature ratio in the raw score.  The jump feature alone
    # raised half of the false alarms on the NAB tuning half, and the spike
    # feature most of the rest (79 of 136), so both count 0.8.
    weights: tuple[float, ...] = (0.8, 1.0, 1.0, 0.8, 1.0, 1.0)
    likelihood: bool = True
    likelihood_halflife: int = 8000
    # Holt trend gain on monthly series (0 switches the trend off): the level follows a
    # growing economy instead of lagging it, so a steady trend is not read as drift.
    # Sub-daily series get no trend (on NAB it chased every daily ramp and halved the
    # score), nor do daily ones (it followed every level shift and slow decline into a
    # new normal within days: simulator corpus 58.3 with it, 61.5 without).
    trend_beta: float = 0.1
    # Level gain on daily series: slower than ``level_alpha``, so a two-week level shift
    # is still a residual at its end (simulator corpus 60.0 at 0.1, 61.5 at 0.05).
    daily_level_alpha: float = 0.05
    # On daily and monthly series one episode may raise a feature's remembered maximum
    # to at most this multiple of the feature's maximum over calm points (raw ratio < 1,
    # decaying with the same half-life), so the memory describes the series' ordinary
    # variation, and a gross error (a unit mix-up, x1,000) or one incident cannot hide
    # the next.  Simulator corpus: 52.7 with 3, 57.4 with 2, 61.5 with 1.5, 62.6 with 1.0-1.2.
    # Sub-daily series are left unbounded: on NAB a cap of 3 cost the held-out half 19
    # points (docs/detection.md).  0 switches the bound off.
    env_growth: float = 1.5
    # The same bound on monthly series, looser: a month is one point, so an episode is
    # short, and at 1.5 a China-shaped 同比 series flagged three more ordinary months.
    env_growth_monthly: float = 3.0
    # Monthly series whose values are all positive are modelled in logs (see _step).
    log_monthly: bool = True
    # A monthly year-to-date total (累计) is recognised and scored on its monthly
    # increments (see _year_to_date).
    year_to_date: bool = True
    # A monthly 累计同比 (year-to-date growth rate) is recognised from its step sizes and
    # scored on the monthly growth it implies (see _ytd_growth).
    ytd_growth: bool = True
    # Last year's anomaly in a month is expected back as its mirror image (a 同比 base
    # effect) where that fits better (see _base_effect).
    base_effect: bool = True
    # On Spring Festival days of a daily series, a second festival model (the day's own
    # type plus a festival effect per offset) competes with the offset's own slot, which
    # carries last year's weekday pattern into this year (see _step).
    festival_day_type: bool = True
    # A daily series' seasonal model takes the series' own cycle (say, a 5-day delivery
    # cycle) instead of the week when the data show one (see _cycle).
    own_cycle: bool = True
    # On daily and monthly series the z fed to the level-shift EWMA is clipped to
    # +-level_shift_clip (0: unclipped, as on sub-daily series, where it cost the NAB
    # held-out half 3 points).  Simulator corpus 63.8 unclipped; 65.1 / 64.5 / 65.9 / 64.6
    # at 3 / 5 / 10 / 30 (docs/detection.md, "Level-shift memory").
    level_shift_clip: float = 10.0
    # A monthly series' deviation that a first move of the Spring Festival into or out of
    # its month explains counts this many times less (see _step; 1 switches it off).  On 31
    # provinces' real monthly power use the other alarms at 0.5 fell 36 -> 23 (-> 22 at 3),
    # no known event lost (docs/detection.md, "Real provincial statistics").
    sf_move_damp: float = 2.0
    # A daily series' seasonal slot is first set within this many spreads (gdev) of the level
    # (0: unbounded; see the slot updates in SeriesBank.step).
    first_slot_bound: float = 20.0


def default_warmup(kind: int) -> int:
    """Points scored 0 at the start: enough to see the seasonal cycle twice."""
    return {KIND_SUBDAILY: 2 * 96, KIND_DAILY: 28, KIND_MONTHLY: 24}[kind]


def default_refractory(kind: int) -> int:
    """Half-life (points) of the recent score maximum below which scores are damped."""
    return {KIND_SUBDAILY: 200, KIND_DAILY: 7, KIND_MONTHLY: 3}[kind]


def default_halflife(kind: int) -> int:
    """Half-life (points) of the remembered feature maxima: 2.4 days of 5-minute data, half a year daily, half a year monthly."""
    return {KIND_SUBDAILY: 700, KIND_DAILY: 180, KIND_MONTHLY: 6}[kind]


@dataclass(frozen=True)
class StepOutput:
    """Per-series output of one step; arrays of shape (n,)."""

    score: np.ndarray
    expected: np.ndarray
    scale: np.ndarray
    ratios: np.ndarray  # (n, N_FEATURES) feature / its recent maximum
    warm: np.ndarray  # bool: past warm-up
    likelihood: np.ndarray  # anomaly likelihood in [0, 1] (0.5: tail probability 1e-5)


def _state(n: int, cfg: DetectorConfig) -> dict[str, np.ndarray]:
    f = np.zeros
    nan = np.full(n, np.nan)
    return {
        "n": f(n, dtype=np.int64),
        "last_t": nan.copy(),
        "last_x": nan.copy(),
        "dtmin": np.full(n, np.inf),
        "ndt": f(n, dtype=np.int64),
        "dt": nan.copy(),
        "kind": np.full(n, -1, dtype=np.int64),
        "warmup": np.full(n, -1, dtype=np.int64),
        "refr": np.full(n, -1, dtype=np.int64),
        "lvl": np.full((n, 3), np.nan),
        "trend": f((n, 3)),
        "nk": f(n, dtype=np.int64),
        "sc": np.full((n, 3), np.nan),
        "nsc": f((n, 3), dtype=np.int64),
        "s1": f((n, N_SLOTS1)),
        "c1": f((n, N_SLOTS1), dtype=np.int64),
        "s2": f((n, N_SLOTS2)),
        "c2": f((n, N_SLOTS2), dtype=np.int64),
        "zs": f(n),
        "zd": f(n),
        "vf": f((n, 3)),
        "vs": f((n, 3)),
        "pchg": np.full(n, 0.5),
        "run": f(n, dtype=np.int64),
        "env": np.tile(np.asarray(cfg.floors, dtype=float), (n, 1)),
        # Feature maxima over calm points only (raw ratio < 1), decaying like "env".
        "benv": np.tile(np.asarray(cfg.floors, dtype=float), (n, 1)),
        "halflife": np.full(n, -1, dtype=np.int64),
        "gdev": f(n),
        "last_r": np.full((n, 3), np.nan),
        "sdr": np.full((n, 3), np.nan),
        "recent": f(n),
        "warmup_override": np.full(n, -1, dtype=np.int64),
        "lm": f(n),
        "lv": f(n),
        "lcnt": f(n, dtype=np.int64),
        # Every value so far > 0, and whether the series is modelled in logs (monthly only).
        "xpos": np.ones(n, dtype=bool),
        "logm": np.zeros(n, dtype=bool),
        # Steps, while the interval is probed, that changed the value by < LOG_STEP of its size.
        "nsmall": f(n, dtype=np.int64),
        # Time and point count of the first point the models learned from.
        "t0": nan.copy(),
        "n0": f(n, dtype=np.int64),
        # Seasonal models (columns 1, 2) whose first year has been untilted.
        "untilted": np.zeros((n, 3), dtype=bool),
        # Exactly-zero residuals a model has scored before its scale started.
        "zrun": f((n, 3), dtype=np.int64),
        # Monthly base effects: per calendar month, each model's residual beyond
        # huber scales (0 if none), its expectation then, and the month (since 1970).
        "mex": f((n, 12, 3)),
        "mexe": f((n, 12, 3)),
        "mexm": np.full((n, 12), -1, dtype=np.int64),
        # Spring Festival effect per day offset over the day's own type (daily series), and
        # the recent error of the two festival models (offset slot, day type + effect).
        "sfx": f((n, cal.SF_LAST - cal.SF_FIRST + 1)),
        "csfx": f((n, cal.SF_LAST - cal.SF_FIRST + 1), dtype=np.int64),
        "sferr": f((n, 2)),
        # Year-to-date totals: recognised, still possible, rises within a year, last raw value.
        "ytd": np.zeros(n, dtype=bool),
        "ytdok": np.ones(n, dtype=bool),
        "ytdup": f(n, dtype=np.int64),
        "raw_last": nan.copy(),
        # 累计同比: recognised (or declared by the caller), and the evidence so far: per
        # calendar month the last step into it (value, month it came from (negative: from
        # last year), year), and the sums of the two step-size models (see _ytd_growth).
        "ytdg": np.zeros(n, dtype=bool),
        "ytdg_d": f((n, 12, 2)),
        "ytdg_from": f((n, 12), dtype=np.int64),
        "ytdg_y": np.full((n, 12), -1, dtype=np.int64),
        "ytdg_s": f((n, 2, 3)),
        "ytdg_pos": np.ones(n, dtype=bool),
        # Relative monthly levels behind a 累计同比 figure: per calendar month, last year's
        # and this year's (the year it was set in "ytdg_wy"); equal until the series says.
        "ytdg_w": np.ones((n, 12, 2)),
        "ytdg_wy": np.full((n, 12), -1, dtype=np.int64),
        "ytdg_n": f(n, dtype=np.int64),
        # The same sums for the current year of pairs (its year), and the finished years
        # whose own ratio favoured 累计同比, per domain.
        "ytdg_ys": f((n, 2, 3)),
        "ytdg_yn": f(n, dtype=np.int64),
        "ytdg_yy": np.full(n, -1, dtype=np.int64),
        "ytdg_yes": f((n, 2), dtype=np.int64),
        "ytdg_yw": np.zeros((n, 2), dtype=bool),
        # The last KEPT raw figures (time, value) of a monthly series, and how many it has had.
        "kept_t": f((n, KEPT)),
        "kept_x": f((n, KEPT)),
        "kept_n": f(n, dtype=np.int64),
        # Daily series: the seasonal model's period (days), the last CYC_RING values by day,
        # and the mean absolute lag-p difference (p = 1..CYC_MAX) with its count.
        "period": np.full(n, WEEK, dtype=np.int64),
        "cyc_x": f((n, CYC_RING)),
        "cyc_d": np.full((n, CYC_RING), -1, dtype=np.int64),
        "cyc_e": f((n, CYC_MAX)),
        "cyc_n": f((n, CYC_MAX), dtype=np.int64),
    }


def _day_types(days: np.ndarray, daily: np.ndarray, use_calendar: bool) -> np.ndarray:
    """Day type per series; weekday when the calendar is off."""
    dow = (days + 3) % 7
    if not use_calendar:
        return dow
    out = dow.copy()
    for i, (d, is_daily) in enumerate(zip(days.tolist(), daily.tolist(), strict=True)):
        out[i] = cal.day_type(int(d), bool(is_daily))
    return out


class SeriesBank:
    """Streaming state of N series; ``step`` advances every series by one point."""

    def __init__(
        self,
        n: int,
        config: DetectorConfig | None = None,
        warmup: np.ndarray | None = None,
        ytd_growth: np.ndarray | None = None,
    ) -> None:
        """``warmup`` optionally overrides the warm-up length per series (points);
        ``ytd_growth`` (bool per series) declares series known to be 累计同比 growth rates
        (from the indicator catalogue), which are then scored on their implied monthly
        growth from their first point instead of once their values show it."""
        self.n = n
        self.cfg = config or DetectorConfig()
        self.st = _state(n, self.cfg)
        if warmup is not None:
            self.st["warmup_override"] = np.asarray(warmup, dtype=np.int64).copy()
        if ytd_growth is not None:
            self.st["ytdg"] = np.asarray(ytd_growth, dtype=bool).copy()

    def step(self, t: np.ndarray, x: np.ndarray) -> StepOutput:
        """Score one point per series (t in epoch seconds of wall-clock time, x finite values).

        Series whose x is not finite keep their state untouched and score 0.
        """
        # Copies: the state keeps the last point, and must not alias caller memory.
        t = np.array(t, dtype=float)
        x = np.array(x, dtype=float)
        ok = np.isfinite(x) & np.isfinite(t)
        if ok.all():
            return _step(self.st, self.cfg, t, x)
        idx = np.flatnonzero(ok)
        score = np.zeros(self.n)
        expected = np.full(self.n, np.nan)
        scale = np.full(self.n, np.nan)
        ratios = np.zeros((self.n, N_FEATURES))
        warm = np.zeros(self.n, dtype=bool)
        lik = np.zeros(self.n)
        if len(idx):
            sub = {k: v[idx] for k, v in self.st.items()}
            out = _step(sub, self.cfg, t[idx], x[idx])
            for k, v in sub.items():
                self.st[k][idx] = v
            score[idx], expected[idx], scale[idx] = out.score, out.expected, out.scale
            ratios[idx], warm[idx], lik[idx] = out.ratios, out.warm, out.likelihood
        return StepOutput(score, expected, scale, ratios, warm, lik)


# Chebyshev fit of erfc (Numerical Recipes "erfcc"): relative error below 1.2e-7 everywhere.
_ERFC_COEFFS = (
    -1.26551223,
    1.00002368,
    0.37409196,
    0.09678418,
    -0.18628806,
    0.27886807,
    -1.13520398,
    1.48851587,
    -0.82215223,
    0.17087277,
)


def _erfc(x: np.ndarray) -> np.ndarray:
    """Complementary error function, accurate in relative terms far into the tail."""
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = np.zeros_like(t)
    for c in reversed(_ERFC_COEFFS):
        poly = c + t * poly
    r = t * np.exp(-z * z + poly)
    return np.where(x >= 0, r, 2.0 - r)


LOG_1E10 = float(np.log(1e-10))
# Raw scores the likelihood needs before it is used: a tail probability of 1e-5
# cannot be estimated from a few dozen points (a monthly series never gets there).
LIKELIHOOD_MIN_POINTS = 200
LIKELIHOOD_VAR_FLOOR = 1e-4


def likelihood_score(z: np.ndarray) -> np.ndarray:
    """-log10(Q(z)) / 10 clipped to [0, 1], Q the Gaussian upper tail: Q = 1e-5 gives 0.5."""
    q = np.maximum(0.5 * _erfc(z / np.sqrt(2.0)), 1e-300)
    return np.clip(np.log(q) / LOG_1E10, 0.0, 1.0)


def _slots(
    st: dict[str, np.ndarray], cfg: DetectorConfig, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Slots for time t: daily model, calendar model as predicted, as learned, the plain
    weekday slot, and (daily series) the day type without the Spring Festival.

    The predicted calendar slot falls back to the plain weekday slot while the
    learned one (say, a first holiday) has never been seen.
    """
    kind = st["kind"]
    days = np.floor(t / DAY).astype(np.int64)
    dow = (days + 3) % 7
    # dt is NaN until a series has shown its sampling interval; its slots are unused until then
    bw = np.maximum(np.nan_to_num(st["dt"], nan=MIN_BIN_SECONDS), MIN_BIN_SECONDS)
    spd = np.minimum(np.round(DAY / bw), MAX_SLOTS_PER_DAY).astype(np.int64)
    tod = np.minimum(np.floor((t - days * DAY) / bw).astype(np.int64), spd - 1)
    dtype_ = _day_types(days, kind == KIND_DAILY, cfg.calendar)
    months = t.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
    month = months % 12
    sf = np.zeros(len(t), dtype=np.int64)
    if cfg.calendar:
        for i in np.flatnonzero(kind == KIND_MONTHLY).tolist():
            sf[i] = cal.spring_festival_in_month(int(1970 + months[i] // 12), int(month[i] + 1))
    # A daily series' seasonal model cycles by weekday, or by its own period (see _cycle).
    per = st["period"]
    cyc = np.where(per == WEEK, dow, days % np.maximum(per, 1))
    slot1 = np.where(kind == KIND_SUBDAILY, tod, np.where(kind == KIND_DAILY, cyc, month))
    slot2 = np.where(
        kind == KIND_SUBDAILY,
        dtype_ * spd + tod,
        np.where(kind == KIND_DAILY, dtype_, month + 12 * sf),
    )
    # A calendar slot never seen before (a first holiday) falls back to the plain weekday slot.
    plain = np.where(kind == KIND_SUBDAILY, dow * spd + tod, np.where(kind == KIND_DAILY, dow, month))
    rows = np.arange(len(t))
    pred2 = np.where(st["c2"][rows, slot2] > 0, slot2, plain)
    # A daily day's type without the Spring Festival (weekday, holiday, 调休 day).
    base2 = plain.copy()
    if cfg.calendar:
        for i in np.flatnonzero(kind == KIND_DAILY).tolist():
            base2[i] = cal.day_type(int(days[i]), False)
    return slot1, pred2, slot2, plain, base2


def _learn(old: np.ndarray, target: np.ndarray, seen: np.ndarray, lim: np.ndarray, gain: float) -> np.ndarray:
    """A seasonal slot's update: towards ``target`` by a Huber-clipped step, or set to it if unseen."""
    return np.where(seen, old + gain * np.clip(target - old, -lim, lim), target)


def _year_to_date(
    st: dict[str, np.ndarray], cfg: DetectorConfig, t: np.ndarray, x_raw: np.ndarray, first: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Monthly increments of year-to-date totals (累计); other series pass unchanged.

    A bureau publishes many figures only as a running total since January.  Scored as
    they are, a -10 % month is -1 to -2 % of a year's sum, and the total's saw-tooth
    (it restarts every January) looks like a shock every year.  A monthly series that
    rose within each year and never fell (at least YTD_RISES times) and restarted below
    YTD_RESET of its last value at its first new year as a monthly series is read as
    such a total: its kept figures are re-read as increments (_reread), and from then on
    each point is scored as its increment (the first figure of a year, January or a
    January-February figure, is its own increment).  Returns the values to model and the
    running total each increment is added to (0 where none) so the expectation can be
    reported as a total.
    """
    year = t.astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64)
    last = np.nan_to_num(st["last_t"]).astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64)
    same = ~first & (year == last)
    prev = st["raw_last"]
    base = np.where(st["ytd"] & same, prev, 0.0)
    cand = ~st["ytd"] & ~st["ytdg"] & ~first
    if cfg.year_to_date and cand.any():
        reset = x_raw < YTD_RESET * prev
        st["ytdok"] &= ~(cand & ((same & (x_raw < prev)) | (~same & ~reset)))
        st["ytdup"] += cand & same & (x_raw > prev)
        go = cand & ~same & reset & (x_raw > 0) & st["ytdok"] & (st["ytdup"] >= YTD_RISES)
        go &= st["kind"] == KIND_MONTHLY
    else:
        go = np.zeros(len(t), dtype=bool)
    if go.any():
        idx = np.flatnonzero(go)
        # Its kept figures are read again as increments (_reread): not blind for two years.
        _reread(st, cfg, idx, t[idx], logs=cfg.log_monthly, ytd=True)
        st["ytd"][idx] = True
        # YTD_WARMUP increments (from the first kept figure) before they are scored.
        first_kept = st["n"][idx] - np.minimum(st["kept_n"][idx], KEPT)
        st["warmup"][idx] = np.maximum(st["warmup"][idx], first_kept + YTD_WARMUP)
    st["raw_last"] = x_raw.copy()  # a copy: a re-read writes the state back in place
    return x_raw - base, base


def _llr(s: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Log-likelihood ratio of "step variance proportional to v" against "constant variance"
    from sums (..., 3) of d^2, d^2 / v and log v over n terms (0 where a sum is 0)."""
    ok = (s[..., 0] > 0) & (s[..., 1] > 0)
    ratio = np.where(ok, s[..., 0], 1.0) / np.where(ok, s[..., 1], 1.0)
    return np.where(ok, 0.5 * n * np.log(ratio) - 0.5 * s[..., 2], 0.0)


# State a re-read series keeps: its own point count, warm-up and settings, and what it
# learned about its form.  Everything else (the models) comes from the re-reading.
_REREAD_KEEP = frozenset((
    "n", "warmup", "warmup_override", "refr", "halflife", "ytd", "ytdok", "ytdup",
    "ytdg_d", "ytdg_from", "ytdg_y", "ytdg_s", "ytdg_n", "ytdg_ys", "ytdg_yn", "ytdg_yy", "ytdg_yes", "ytdg_yw",
    "ytdg_pos",
    "kept_t", "kept_x", "kept_n",
))


def _reread(
    st: dict[str, np.ndarray],
    cfg: DetectorConfig,
    rows: np.ndarray,
    until: np.ndarray,
    *,
    logs: bool,
    ytd_growth: bool = False,
    ytd: bool = False,
) -> None:
    """Read the kept figures of ``rows`` (the last KEPT before ``until``) again with
    fresh models, in logs or not, as 累计同比 or not, and take the models so learned.

    A monthly series finds out what it is only after some figures: its interval after
    INTERVAL_PROBE steps (then it is modelled in logs), a 累计同比 after years.  Restarted
    from scratch then, it was blind for months: on a series starting in 2018 the seasonal
    model was not ready by January 2020.  Re-read, it is scored as if it had been known
    from its first kept figure.  The interval is taken as known (no second probing).
    """
    sub = SeriesBank(len(rows), cfg, ytd_growth=np.full(len(rows), ytd_growth))
    for key in ("dt", "dtmin", "ndt", "kind", "warmup", "refr", "halflife"):
        sub.st[key] = st[key][rows].copy()
    sub.st["logm"][:] = logs
    sub.st["ytd"][:] = ytd
    count = st["kept_n"][rows]
    held = np.minimum(count, KEPT)
    longest = int(held.max())
    for q in range(longest):
        # Row r's figure number count - longest + q, if it is among those held.
        e = count - longest + q
        ok = e >= count - held
        pos = np.where(ok, e, 0) % KEPT
        tq = np.where(ok, st["kept_t"][rows, pos], np.nan)
        ok &= tq < until
        sub.step(np.where(ok, tq, np.nan), np.where(ok, st["kept_x"][rows, pos], np.nan))
    for key, val in sub.st.items():
        if key not in _REREAD_KEEP:
            st[key][rows] = val


def _ytd_growth(
    st: dict[str, np.ndarray], cfg: DetectorConfig, t: np.ndarray, x_raw: np.ndarray, first: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The monthly growth a 累计同比 figure implies; other series pass unchanged.

    Many provincial figures are published only as 累计同比: the growth of the total
    since January against the same months a year earlier.  Scored as it stands, a -10 %
    September moves a January-October figure by 1-2 points, while the January-February
    figure, an average of two months, is as noisy as a month.  With c_m the figure (in
    per cent) through calendar month m, c_k the figure before it in the same year and W
    the running sum of last year's monthly levels, the months k+1..m grew by
    g = ((100 + c_m) W_m - (100 + c_k) W_k) / (W_m - W_k) - 100 (a year's first figure
    is its own g), and g is scored like a 当月同比 rate, base effects included.  Last
    year's levels are relative: equal at first (no season is published with the rate),
    then each month's grown by the g found for it, so a year after a shock its
    depressed months weigh less (with equal weights March 2021 read as -9 % on a
    synthetic series whose March grew 5 %; with them, +1 %).

    Recognition from the values (for series not declared so): if a figure averages m
    months, a step from month k to month m has variance proportional to
    v = (m - k) / (m k) (a step into a new year: 1 / m + 1 / k), so steps shrink ten-fold
    through a year, while a 当月 rate's steps do not.  Steps are compared with the same
    step a year earlier (a level series' seasonal steps cancel), and the Gaussian
    log-likelihood ratio of "variance v" against "constant variance" is summed; each term
    is clipped at YTDG_CLIP times its model's running mean.  A collapse at a year's start
    looks like a 累计 figure's big early steps, and year-on-year differences carry it into
    the next year too, so the evidence must also hold year by year: YTDG_YEARS years of
    pairs each favouring 累计同比 on their own, none with a wild step.  Then the series is
    read as 累计同比: its kept figures (the last KEPT) are read again as such with
    fresh models (_reread), so it is not blind for months.  Checked in the tests on 当月
    rates, levels with a season, short series with a shock, and China's own series.

    Returns the values to model and the (base, factor) that report an expectation of g as
    a figure: c = base + factor g.
    """
    # Monthly series, and series whose interval is not yet fixed (their steps are stored
    # from the first one a month apart: a year of pairs sooner).
    candidates = (st["kind"] == KIND_MONTHLY) | (st["kind"] < 0) if cfg.ytd_growth else np.zeros(len(t), dtype=bool)
    if not (candidates | st["ytdg"]).any():
        return x_raw, np.zeros(len(t)), np.ones(len(t))
    m_all = t.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
    year, month = m_all // 12, m_all % 12 + 1
    last_m = np.nan_to_num(st["last_t"]).astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
    y0, m0 = last_m // 12, last_m % 12 + 1
    prev = st["raw_last"]
    has = ~first & np.isfinite(prev)
    same = has & (year == y0) & (month > m0)
    go = np.zeros(len(t), dtype=bool)
    monthly_step = (st["kind"] < 0) & (t - np.nan_to_num(st["last_t"]) >= MONTH_STEP)
    cand = has & cfg.ytd_growth & ~st["ytdg"] & ~st["ytd"] & ((st["kind"] == KIND_MONTHLY) | monthly_step)
    cand &= same | (year == y0 + 1)
    if cand.any():
        i = np.flatnonzero(cand)
        mi, ki = month[i], m0[i]
        v = np.where(same[i], (mi - ki) / (mi * ki), 1.0 / mi + 1.0 / ki)
        frm = np.where(same[i], ki, -ki)
        # Evidence in two domains: the series' units, and logs while every value has been
        # positive.  A positive level's seasonal steps grow with it (and so do their
        # year-on-year differences), so a log-modelled series is judged in logs; one that
        # leaves logs (a growth rate turning negative in a shock) is judged in units on
        # all its history, calm years included, not on the shock alone.
        pos = (x_raw[i] > 0) & (prev[i] > 0)
        st["ytdg_pos"][i] &= pos
        d_u = x_raw[i] - prev[i]
        d_l = np.log(np.where(pos, x_raw[i], 1.0) / np.where(pos, prev[i], 1.0))
        slot = mi - 1
        paired = (st["ytdg_y"][i, slot] == year[i] - 1) & (st["ytdg_from"][i, slot] == frm)
        dd = np.stack([d_u, d_l], axis=1) - st["ytdg_d"][i, slot]
        st["ytdg_d"][i, slot] = np.stack([d_u, d_l], axis=1)
        st["ytdg_from"][i, slot], st["ytdg_y"][i, slot] = frm, year[i]
        j, dd, v = i[paired], dd[paired], v[paired]
        if len(j):
            s, n = st["ytdg_s"][j], st["ytdg_n"][j]  # (r, 2 domains, 3), (r,)
            a, b = dd * dd, dd * dd / v[:, None]
            nn = np.maximum(n, 1)[:, None]
            settled = (n[:, None] >= YTDG_SETTLE) & (s[:, :, 0] > 0) & (s[:, :, 1] > 0)
            # A term far beyond either model's mean is a shock, in any reading.
            wild = settled & ((a > YTDG_WILD[0] * s[:, :, 0] / nn) | (b > YTDG_WILD[1] * s[:, :, 1] / nn))
            a = np.where(settled, np.minimum(a, YTDG_CLIP * s[:, :, 0] / nn), a)
            b = np.where(settled, np.minimum(b, YTDG_CLIP * s[:, :, 1] / nn), b)
            lv = np.broadcast_to(np.log(v)[:, None], a.shape)
            term = np.stack([a, b, lv], axis=2)
            # The same evidence per year of pairs: a year whose own ratio favours 累计同比
            # counts once it is over.  A shock at one year's start looks like 累计同比 in
            # that year only; a 累计同比 figure looks so every year.
            ys, yn, yw = st["ytdg_ys"][j], st["ytdg_yn"][j], st["ytdg_yw"][j]
            over = (st["ytdg_yy"][j] != year[j]) & (yn > 0)
            st["ytdg_yes"][j] += over[:, None] & (_llr(ys, yn[:, None]) > 0) & ~yw
            ys = np.where(over[:, None, None], 0.0, ys) + term
            yn = np.where(over, 0, yn) + 1
            yw = np.where(over[:, None], False, yw) | wild
            st["ytdg_ys"][j], st["ytdg_yn"][j], st["ytdg_yy"][j], st["ytdg_yw"][j] = ys, yn, year[j], yw
            s = s + term
            n = n + 1
            st["ytdg_s"][j], st["ytdg_n"][j] = s, n
            dom = (st["logm"][j] & st["ytdg_pos"][j]).astype(np.int64)
            r = np.arange(len(j))
            llr = _llr(s, n[:, None])[r, dom]
            years = st["ytdg_yes"][j][r, dom] + ((_llr(ys, yn[:, None])[r, dom] > 0) & ~yw[r, dom])
            go[j] = (n >= YTDG_MIN) & (llr >= YTDG_LLR) & (years >= YTDG_YEARS)
            if go[j].any():
                # And no season.  Year-on-year differences cancel a level's season but not
                # its Spring Festival, which moves between January and February, so a
                # level's early steps differ from year to year like a 累计 figure's (five of
                # 31 provinces' monthly power use were misread so, then scored 1.0 every
                # September).  A level's calendar months explain most of its variation
                # within a year; a growth rate's, little.
                k = np.flatnonzero(go[j])
                share = _seasonal_share(st, j[k], dom[k] == 1)
                go[j[k]] = ~(share >= YTDG_SEASON)
    if go.any():
        idx = np.flatnonzero(go)
        _reread(st, cfg, idx, t[idx], logs=False, ytd_growth=True)
        st["ytdg"][idx] = True
    on = st["ytdg"]
    g, base, factor = x_raw.copy(), np.zeros(len(t)), np.ones(len(t))
    if on.any():
        i = np.flatnonzero(on)
        k = np.where(same[i], m0[i], 0)
        months = np.arange(1, 13)
        lv, wy = st["ytdg_w"][i], st["ytdg_wy"][i]
        # Last year's level of each month: the one kept aside where this year's is in.
        w = np.where(wy == year[i, None], lv[:, :, 0], lv[:, :, 1])
        w_m = np.where(months[None, :] <= month[i, None], w, 0.0).sum(axis=1)
        w_k = np.where(months[None, :] <= k[:, None], w, 0.0).sum(axis=1)
        c_k = np.where(k > 0, np.nan_to_num(prev[i]), 0.0)
        new = w_m - w_k
        g[i] = ((100.0 + x_raw[i]) * w_m - (100.0 + c_k) * w_k) / new - 100.0
        base[i], factor[i] = w_k / w_m * c_k, new / w_m
        # This year's level of the months k+1..m: last year's grown by g.
        grow = np.clip(1.0 + g[i] / 100.0, 0.2, 5.0)
        span = (months[None, :] > k[:, None]) & (months[None, :] <= month[i, None])
        lv[:, :, 0] = np.where(span, w, lv[:, :, 0])
        lv[:, :, 1] = np.where(span, w * grow[:, None], lv[:, :, 1])
        st["ytdg_w"][i] = lv
        st["ytdg_wy"][i] = np.where(span, year[i, None], wy)
    return g, base, factor


def _seasonal_share(st: dict[str, np.ndarray], rows: np.ndarray, logs: np.ndarray) -> np.ndarray:
    """Share of the kept figures' within-year variation that their calendar month explains
    (in logs where ``logs``): near 1 for a level with a season, about a third for three
    years of white noise, less for a 累计同比 figure (smooth within a year); NaN where
    fewer than two years hold two figures each."""
    out = np.full(len(rows), np.nan)
    for k, r in enumerate(rows):
        held = min(int(st["kept_n"][r]), KEPT)
        pos = (int(st["kept_n"][r]) - held + np.arange(held)) % KEPT
        tk, xk = st["kept_t"][r, pos], st["kept_x"][r, pos]
        ok = np.isfinite(tk) & np.isfinite(xk) & ((xk > 0) | ~logs[k])
        if ok.sum() < 6:
            continue
        m = tk[ok].astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
        y, mo = m // 12, m % 12
        v = np.log(xk[ok]) if logs[k] else xk[ok]
        _, year_of, per_year = np.unique(y, return_inverse=True, return_counts=True)
        dev = v - (np.bincount(year_of, v) / per_year)[year_of]
        total = float((dev * dev).sum())
        if (per_year >= 2).sum() < 2 or total <= 0:
            continue
        month_mean = np.bincount(mo, dev, minlength=12) / np.maximum(np.bincount(mo, minlength=12), 1)
        out[k] = float((month_mean[mo] ** 2).sum()) / total
    return out


def _logs_to_units(st: dict[str, np.ndarray], rows: np.ndarray) -> None:
    """Convert the models of log-modelled ``rows`` back to the series' own units.

    Levels and seasonal slots are exponentiated; trends, scales and residuals (small
    in logs) are multiplied by the level (first order); the feature maxima and the
    score's history are dimensionless and stay.
    """
    lv = st["lvl"][rows]
    e = np.exp(np.nan_to_num(lv))  # (r, 3)
    st["lvl"][rows] = np.where(np.isnan(lv), np.nan, e)
    st["trend"][rows] = e * st["trend"][rows]
    for key in ("sc", "sdr", "last_r", "vf", "vs"):
        st[key][rows] = e * st[key][rows]
    for key_s, key_c, col in (("s1", "c1", 1), ("s2", "c2", 2)):
        base = e[:, col : col + 1]
        seen = st[key_c][rows] > 0
        st[key_s][rows] = np.where(seen, base * np.expm1(st[key_s][rows]), 0.0)
    st["gdev"][rows] = e[:, 0] * st["gdev"][rows]
    st["mex"][rows] = e[:, None, :] * st["mex"][rows]
    st["mexe"][rows] = np.exp(st["mexe"][rows])
    st["last_x"][rows] = np.exp(st["last_x"][rows])
    st["logm"][rows] = False


# State of the seasonal model (column 1) that restarts when its period changes.
_CYCLE_MODEL_KEYS = ("sc", "nsc", "last_r", "sdr", "vf", "vs", "zrun", "trend")


def _cycle(st: dict[str, np.ndarray], cfg: DetectorConfig, t: np.ndarray, x: np.ndarray) -> None:
    """Learn a daily series' own cycle and give the seasonal model that period.

    A daily series' seasonal model cycles by weekday, but not every rhythm is a week: a
    power plant's coal stock saws with its 5-7-day delivery cycle, which a weekday model
    reads as noise, so a train that half arrives is lost in it.  Per lag p = 1..CYC_MAX
    days the mean |x(d) - x(d - p)| is learned (only over pairs exactly p days apart).
    The shortest lag within CYC_PREFER of the best of 2..CYC_MAX is a cycle when its differences
    are below CYC_GENUINE of the day-to-day ones (a smooth or random-walk series has
    none: its differences grow with the lag); without one the period is the week.  The
    seasonal model takes a new period when that period's differences are below
    CYC_SWITCH of its current one's (or is a divisor of it: the same cycle in fewer
    slots; never a multiple of it), and restarts (slots, scale, its level from the
    plain level).  Runs after the point is scored: it changes the model from the next
    point on.
    """
    daily = np.flatnonzero(st["kind"] == KIND_DAILY)
    if not cfg.own_cycle or not len(daily):
        return
    day = np.floor(t[daily] / DAY).astype(np.int64)
    xv = x[daily]
    ring_x, ring_d = st["cyc_x"][daily], st["cyc_d"][daily]
    lags = np.arange(1, CYC_MAX + 1)
    pos = (day[:, None] - lags[None, :]) % CYC_RING
    i = np.arange(len(daily))
    pair = ring_d[i[:, None], pos] == (day[:, None] - lags[None, :])
    diff = np.abs(xv[:, None] - ring_x[i[:, None], pos])
    cnt = st["cyc_n"][daily]
    gain = np.maximum(CYC_ALPHA, 1.0 / (cnt + 1.0))
    e = st["cyc_e"][daily]
    # Huber-clipped once settled: one spike enters every lag's pairs one day after
    # another (lag 1 the next day, lag 2 the day after ...), which unclipped made the
    # lags it had not reached yet look like a cycle, one after the other.
    diff = np.where(cnt >= SETTLE, np.minimum(diff, cfg.huber * e), diff)
    e = np.where(pair, e + gain * (diff - e), e)
    cnt = cnt + pair
    st["cyc_e"][daily], st["cyc_n"][daily] = e, cnt
    here = day % CYC_RING
    st["cyc_x"][daily, here], st["cyc_d"][daily, here] = xv, day
    ready = cnt.min(axis=1) >= CYC_MIN
    if not ready.any():
        return
    tail = e[:, 1:]
    best = np.argmax(tail <= CYC_PREFER * tail.min(axis=1, keepdims=True), axis=1) + 2
    e_best = e[i, best - 1]
    want = np.where(e_best < CYC_GENUINE * e[:, 0], best, WEEK)
    cur = st["period"][daily]
    e_cur = e[i, cur - 1]
    e_want = e[i, want - 1]
    # A divisor of the current period (5 after 10) is the same cycle learned in fewer slots.
    better = (e_want < CYC_SWITCH * e_cur) | ((cur % want == 0) & (e_want <= CYC_PREFER * e_cur))
    # A multiple of the current period (10 after 5) is never taken: the current period
    # already repeats then, and estimates that close would flip between the two.
    switch = ready & (want % cur != 0) & better
    if not switch.any():
        return
    rows = daily[switch]
    st["period"][rows] = want[switch]
    fresh = _state(len(rows), cfg)
    for key in _CYCLE_MODEL_KEYS:
        st[key][rows, 1] = fresh[key][:, 1]
    st["s1"][rows], st["c1"][rows] = fresh["s1"], fresh["c1"]
    st["lvl"][rows, 1] = st["lvl"][rows, 0]


def _untilt_first_year(
    st: dict[str, np.ndarray],
    x: np.ndarray,
    t: np.ndarray,
    lvl: np.ndarray,
    first: np.ndarray,
    models: tuple[tuple[int, np.ndarray, np.ndarray], ...],
    huber: float = 3.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Take the first year's growth out of a monthly seasonal model's slots.

    In its first year a seasonal model holds its level and sets each month's slot
    against it, so a month k months after the start also holds k months of growth.
    When the model first meets a month again (a year on), the gap r between that
    value and the expectation is the year's growth: each slot loses r * k / 12, the
    level gains r and the trend becomes r per year.  Without this, the seam between
    the last and the first month of that year jumped in every later year.  Only the
    state before the current point is changed; ``lvl`` (this step's level) in place.
    The current point then fits exactly, so it does not count as a scored residual
    (returned mask): a scale starting from a zero residual would make the model
    look perfect.  Also returned: the gap r per turned model (NaN elsewhere).
    """
    turned = np.zeros(st["untilted"].shape, dtype=bool)
    gaps = np.full(st["untilted"].shape, np.nan)
    m0 = np.nan_to_num(st["t0"]).astype("datetime64[s]").astype("datetime64[M]").astype(np.int64) % 12
    # A month that is itself an anomaly (early 2020 a year after a series starts) is no
    # measure of the year's growth, and turning on it would take the anomaly for growth
    # and bend every slot by it.  On a series in logs the turn waits for a month that
    # is no outlier (beyond huber scales) to the plain level model.
    with np.errstate(divide="ignore", invalid="ignore"):  # no scale yet: NaN, calm
        z0 = (x - lvl[:, 0] - st["trend"][:, 0]) / st["sc"][:, 0]
    calm = ~st["logm"] | ~(np.abs(z0) > huber)
    for col, slot, seen in models:
        key_s, key_c = f"s{col}", f"c{col}"
        turn = seen & (st["kind"] == KIND_MONTHLY) & ~st["untilted"][:, col] & ~first & calm
        turned[:, col] = turn
        if not turn.any():
            continue
        idx = np.flatnonzero(turn)
        r = x[idx] - (lvl[idx, col] + st["trend"][idx, col] + st[key_s][idx, slot[idx]])
        gaps[idx, col] = r
        steps = np.maximum(st["n"][idx] - st["n0"][idx], 1)
        k = (np.arange(st[key_s].shape[1])[None, :] % 12 - m0[idx, None]) % 12
        st[key_s][idx] -= np.where(st[key_c][idx] > 0, r[:, None] * k / 12.0, 0.0)
        st["trend"][idx, col] = r / steps
        lvl[idx, col] = lvl[idx, col] + r - r / steps
    st["untilted"] |= turned
    return turned, gaps


def _base_effect(
    st: dict[str, np.ndarray],
    rows: np.ndarray,
    mon: np.ndarray,
    mslot: np.ndarray,
    monthly: np.ndarray,
    logm: np.ndarray,
    resid: np.ndarray,
    expect: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Expect last year's anomaly in this month back as its mirror image (a base effect).

    A 同比 growth rate compares a month with the same month a year earlier, so a shock
    (Jan-Feb 2020: -21 %) returns a year later as a rebound (+40 %) that is no news,
    and left alone it also raised the feature maxima that then hid the next real dip.
    If a model's residual in this month a year ago, r1, was beyond huber scales, the
    rebound it implies is r2 = -r1 / (1 + r1 / (100 + e1)) for a rate in per cent
    (e1 the expectation then; exactly -r1 in logs, and where that ratio is not
    sensible) and it is taken as expected, but only where that makes the residual
    smaller: a level series' recovery (no mirror) is scored as before.
    """
    has = monthly & (st["mexm"][rows, mslot] == mon - 12)
    r1 = st["mex"][rows, mslot]
    e1 = st["mexe"][rows, mslot]
    # A model that could not score that month (a calendar slot it had not yet seen) takes
    # the level model's memory: the anomaly was in the data, whichever model saw it.
    blind = (r1 == 0.0) & (r1[:, :1] != 0.0)
    r1 = np.where(blind, r1[:, :1], r1)
    e1 = np.where(blind, e1[:, :1], e1)
    den = 1.0 + r1 / np.where(np.abs(100.0 + e1) > 1e-9, 100.0 + e1, 1.0)
    pct = ~logm[:, None] & (den > 0.2)
    r2 = np.where(pct, -r1 / np.where(pct, den, 1.0), -r1)
    mirror = np.where(has[:, None] & (np.abs(resid - r2) < np.abs(resid)), r2, 0.0)
    return resid - mirror, expect + mirror


def _step(st: dict[str, np.ndarray], cfg: DetectorConfig, t: np.ndarray, x_raw: np.ndarray) -> StepOutput:
    m = len(x_raw)
    rows = np.arange(m)
    first = st["n"] == 0
    g, g_base, g_factor = _ytd_growth(st, cfg, t, x_raw, first)
    x_in, ytd_base = _year_to_date(st, cfg, t, x_raw, first)
    x_in = np.where(st["ytdg"], g, x_in)
    ytd_base = np.where(st["ytdg"], g_base, ytd_base)
    st["xpos"] = st["xpos"] & (x_in > 0)
    # --- sampling interval (fixed after INTERVAL_PROBE deltas) ----------------
    delta = t - st["last_t"]
    probing = np.isnan(st["dt"]) & ~first
    good = probing & (delta > 0)
    st["dtmin"] = np.where(good, np.minimum(st["dtmin"], delta), st["dtmin"])
    st["ndt"] = st["ndt"] + good
    size = np.maximum(np.abs(x_in), np.abs(np.nan_to_num(st["last_x"])))
    st["nsmall"] = st["nsmall"] + (good & (np.abs(x_in - st["last_x"]) < LOG_STEP * size))
    fix = probing & (st["ndt"] >= INTERVAL_PROBE) & np.isfinite(st["dtmin"])
    if fix.any():
        dtv = st["dtmin"]
        kind = np.where(dtv < 0.9 * DAY, KIND_SUBDAILY, np.where(dtv < 20 * DAY, KIND_DAILY, KIND_MONTHLY))
        st["dt"] = np.where(fix, dtv, st["dt"])
        st["kind"] = np.where(fix, kind, st["kind"])
        wu = np.array([default_warmup(int(k)) for k in kind]) if cfg.warmup is None else cfg.warmup
        rf = (
            np.array([default_refractory(int(k)) for k in kind]) if cfg.refractory is None else cfg.refractory
        )
        wu = np.where(st["warmup_override"] >= 0, st["warmup_override"], wu)
        st["warmup"] = np.where(fix, wu, st["warmup"])
        st["refr"] = np.where(fix, rf, st["refr"])
        hl = (
            np.array([default_halflife(int(k)) for k in kind])
            if cfg.tail_halflife is None
            else cfg.tail_halflife
        )
        st["halflife"] = np.where(fix, hl, st["halflife"])
        # A monthly series of positive values (output, consumption, a year-to-date total)
        # is modelled in logs: its season and its growth are proportions, so a February
        # that holds January too, or a winter peak that grows with the economy, is one
        # learned shape instead of a residual that grows every year.  Its models restart
        # from this point (the first INTERVAL_PROBE points were in the old units).
        # A growth rate hovering a few points above zero (its steps are large against
        # its size) stays in its own units: in logs its noise would be grossly skewed.
        modest = 2 * st["nsmall"] >= st["ndt"]
        go_log = fix & (kind == KIND_MONTHLY) & st["xpos"] & modest & cfg.log_monthly & ~st["ytdg"]
        if go_log.any():
            idx = np.flatnonzero(go_log)
            _reread(st, cfg, idx, t[idx], logs=True, ytd_growth=False)
        # A declared 累计同比 series is re-read too (in units): its first points were scored
        # before the interval was known, with feature maxima nothing bounded.
        go_ytdg = fix & (kind == KIND_MONTHLY) & st["ytdg"]
        if go_ytdg.any():
            idx = np.flatnonzero(go_ytdg)
            _reread(st, cfg, idx, t[idx], logs=False, ytd_growth=True)
    # A value <= 0 shows a log-modelled series is not a positive quantity after all (a
    # growth rate that turned negative, a month with no output): its models go back to
    # the series' own units, learned state converted, before this point is scored.
    back = st["logm"] & (x_in <= 0)
    if back.any():
        _logs_to_units(st, np.flatnonzero(back))
    logm = st["logm"]
    x = np.where(logm, np.log(np.where(logm, x_in, 1.0)), x_in) if logm.any() else x_in
    st["t0"] = np.where(first, t, st["t0"])
    st["n0"] = np.where(first, st["n"], st["n0"])
    seasonal = st["kind"] >= 0
    # --- baselines: expectation and residual per model ------------------------
    lvl = np.where(np.isnan(st["lvl"]), x[:, None], st["lvl"])
    if seasonal.any():
        slot1, slot2, true2, plain, base2 = (np.where(seasonal, s, 0) for s in _slots(st, cfg, t))
    else:
        slot1 = slot2 = true2 = plain = base2 = np.zeros(m, dtype=np.int64)
    seen1 = seasonal & (st["c1"][rows, slot1] > 0)
    seen2 = seasonal & (st["c2"][rows, slot2] > 0)
    # Spring Festival days of a daily series have two festival models: the offset's own
    # slot (as learned last year), and the day's own type (weekday, holiday, 调休) plus a
    # festival effect learned per offset over it.  The second replaces the first once its
    # recent error on festival days is below SF_MARGIN of the first's.
    sf_day = (st["kind"] == KIND_DAILY) & (true2 >= cal.SF_FIRST) & cfg.festival_day_type
    sf_off = np.where(sf_day, true2 - cal.SF_FIRST, 0)
    # Weekly figures read the nearest festival offset they have seen (WEEKLY_DT, SF_NEAR).
    weekly = sf_day & (np.nan_to_num(st["dt"]) >= WEEKLY_DT)
    read2, read_off = true2, sf_off
    if weekly.any():
        read2 = _nearest_seen(st["c2"], rows, true2, cal.SF_FIRST, cal.SF_LAST, weekly)
        read_off = _nearest_seen(st["csfx"], rows, sf_off, 0, cal.SF_LAST - cal.SF_FIRST, weekly)
        slot2 = np.where(weekly & (read2 != true2), read2, slot2)
        seen2 = seasonal & (st["c2"][rows, slot2] > 0)
    two_ok = sf_day & (st["csfx"][rows, read_off] > 0) & (st["c2"][rows, base2] > 0)
    one_ok = sf_day & (st["c2"][rows, read2] > 0)
    two_val = st["s2"][rows, base2] + st["sfx"][rows, read_off]
    one_val = st["s2"][rows, read2]
    use_two = two_ok & (~one_ok | (st["sferr"][:, 1] < SF_MARGIN * st["sferr"][:, 0]))
    if use_two.any():
        seen2 = np.where(use_two, seasonal, seen2)
    turned, turn_gap = (
        _untilt_first_year(st, x, t, lvl, first, ((1, slot1, seen1), (2, slot2, seen2)), cfg.huber)
        if seasonal.any()
        else (np.zeros((m, 3), dtype=bool), np.full((m, 3), np.nan))
    )
    season = np.stack(
        [
            np.zeros(m),
            np.where(seen1, st["s1"][rows, slot1], 0.0),
            np.where(seen2, np.where(use_two, two_val, st["s2"][rows, slot2]), 0.0),
        ],
        axis=1,
    )
    usable = np.stack([np.ones(m, dtype=bool), seen1, seen2], axis=1)
    trend = st["trend"]
    expect = lvl + trend + season
    resid = x[:, None] - expect
    monthly = st["kind"] == KIND_MONTHLY
    mon = t.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
    mslot = mon % 12
    if monthly.any() and cfg.base_effect:
        resid, expect = _base_effect(st, rows, mon, mslot, monthly, logm, resid, expect)
    sc = st["sc"]
    # Scale floor: a tiny fraction of the series' own spread, so a noise-free
    # series cannot turn rounding error into an infinite z.
    gdev = np.where(first, 0.0, st["gdev"])
    floor = 1e-3 * gdev + 1e-9 * (1.0 + np.abs(x))
    scale = np.maximum(np.where(np.isfinite(sc), sc, np.inf), floor[:, None])
    # The seasonal models must have settled (20 scored residuals; 6 on monthly
    # data, which scores one per slot a year) and beat the level by a margin,
    # so a noise series is not forced into a seasonal shape.
    need = np.where(st["kind"] == KIND_MONTHLY, SEASON_MIN_MONTHLY, SEASON_MIN)
    eligible = usable & (st["nsc"] >= need[:, None])
    eligible[:, 0] = True
    penalty = np.array([1.0, 1.0 / cfg.season_margin, 1.0 / cfg.season_margin**2])
    rank = np.where(eligible, np.where(np.isfinite(scale), scale, 1e300) * penalty, np.inf)
    best = np.argmin(rank, axis=1)
    # On a day the calendar model has learned as special (a holiday, a Spring
    # Festival offset, a 调休 day) it knows something the others cannot: it wins.
    # Sub-daily slots (day type x time of day) see a holiday too rarely to be
    # trusted over the others, and on foreign data (NAB) they only add noise.
    special = eligible[:, 2] & ((slot2 != plain) | use_two) & (st["kind"] != KIND_SUBDAILY)
    best = np.where(special, 2, best)
    # The month a monthly seasonal model in logs turns (_untilt_first_year: a calm month,
    # met again a year on) is read by that model, which now fits it, and not by the plain
    # level model, to which the season's ordinary swing (December to January) is news;
    # but only if what it took for the year's growth is plausible (within TURN_READ of 0:
    # a collapse the level model's wide first-year scale found calm is still news).
    plausible = turned & (np.abs(np.nan_to_num(turn_gap, nan=np.inf)) <= TURN_READ)
    turn_read = plausible[:, 1:].any(axis=1) & st["logm"] & (st["kind"] == KIND_MONTHLY)
    best = np.where(turn_read, np.where(plausible[:, 2], 2, 1), best)
    r_best = resid[rows, best]
    s_best = scale[rows, best]
    s_best = np.where(np.isfinite(s_best), s_best, np.abs(r_best) + floor)
    z = r_best / s_best
    exp_best = expect[rows, best]
    # A month the Spring Festival has moved into (or out of) for the first time in a monthly
    # series: it was seen only the other way (January 2017 after two Februaries), so no model
    # knows what the festival does to it.  A deviation the move explains (lower when the
    # festival came in, higher when it left) counts sf_move_damp times less; one against it
    # (the 2020 collapse in a February the festival had left) counts in full.  On 31
    # provinces' monthly power use: 13 of the 36 other alarms were such months.
    moved = np.zeros(m, dtype=bool)
    mon_cal = (st["kind"] == KIND_MONTHLY) & seasonal
    if cfg.calendar and cfg.sf_move_damp > 1.0 and mon_cal.any():
        # A monthly calendar slot is month + 12 x (festival in it); other series' slots
        # (day type x time of day) run to N_SLOTS2 and are not looked at.
        mslot2 = np.where(mon_cal, true2, 0)
        sf_now = mslot2 >= 12
        other = (mslot2 + 12) % 24
        moved = mon_cal & (st["c2"][rows, mslot2] == 0) & (st["c2"][rows, other] > 0)
        moved &= np.where(sf_now, z < 0, z > 0)
        z = np.where(moved, z / cfg.sf_move_damp, z)
    # --- features ---------------------------------------------------------------
    # On daily and monthly series one point moves the level-shift EWMA by at most
    # short_alpha x level_shift_clip: a unit mix-up (z ~ 1e5) kept it saturated for ~50
    # days, and a decline in those weeks was damped as "no new high".
    z_s = z
    if cfg.level_shift_clip > 0:
        c = cfg.level_shift_clip
        z_s = np.where(st["kind"] >= KIND_DAILY, np.clip(z, -c, c), z)
    zs = (1 - cfg.short_alpha) * st["zs"] + cfg.short_alpha * z_s
    zd = (1 - cfg.drift_alpha) * st["zd"] + cfg.drift_alpha * np.clip(z, -cfg.huber, cfg.huber)
    # Differences of each model's residual: a raw first difference would fire on
    # every daily ramp of a seasonal series.
    dr = np.where(np.isnan(st["last_r"]), 0.0, resid - st["last_r"])
    adr = np.abs(dr)
    sdr = st["sdr"]
    sdr_ok = np.isfinite(sdr)
    jump_all = np.where(sdr_ok, adr / np.maximum(np.nan_to_num(sdr), floor[:, None]), 0.0)
    jump = np.where(moved, jump_all[rows, best] / cfg.sf_move_damp, jump_all[rows, best])
    # Points since the sampling interval was fixed.  Sub-daily series settle
    # within their long warm-up and keep the clipped update from the start.
    # Daily and monthly scales are running means (gain 1/(points + 1)) until
    # their exponential memory is the shorter one, and unclipped until SETTLE.
    nk = st["nk"]
    coarse = (st["kind"] >= KIND_DAILY)[:, None]
    settled = (nk >= SETTLE)[:, None] | ~coarse
    # On monthly series a model's scales are clipped once the model itself has settled
    # (SETTLE scored residuals): started from a residual or difference that happened to be
    # tiny, a clipped scale grows by a few per cent a step and stays tiny for years (a
    # re-read calendar model's jump scale: 0.0015 against 0.024).  Daily series keep the
    # series' count (the simulator corpus: 65.9 as it is, 65.8 with this).
    monthly_kind = (st["kind"] == KIND_MONTHLY)[:, None]
    own = settled & ((st["nsc"] >= SETTLE) | ~monthly_kind)
    # A monthly seasonal model starts scoring a year in: its scales average its own
    # residuals (gain 1 / (its scored residuals + 1)), not the series' point count.
    count = np.where(monthly_kind, st["nsc"], nk[:, None])
    early = np.where(coarse, 1.0 / (count + 1.0), 0.0)
    a_f, a_s = np.maximum(cfg.vol_fast, early), np.maximum(cfg.vol_slow, early)
    vf = np.where(sdr_ok, (1 - a_f) * st["vf"] + a_f * adr, adr)
    vs = np.where(sdr_ok, (1 - a_s) * st["vs"] + a_s * adr, adr)
    vol = vf[rows, best] / np.maximum(vs[rows, best], floor)
    adx = np.where(first, 0.0, np.abs(x - st["last_x"]))
    changed = adx > 1e-12 * (1.0 + np.abs(x))
    run = np.where(changed | first, 0, st["run"] + 1)
    pchg = st["pchg"]
    stuck = -run * np.log1p(-np.minimum(pchg, 0.999))
    feats = np.stack([np.abs(z), np.abs(zs), np.abs(zd), jump, vol, stuck], axis=1)
    floors = np.asarray(cfg.floors)
    env = np.maximum(st["env"], floors)
    ratios = feats / env
    raw = (ratios * np.asarray(cfg.weights)).max(axis=1)
    raw_score = raw * raw / (1.0 + raw * raw)
    warm = (st["warmup"] >= 0) & (st["n"] >= st["warmup"])
    # Anomaly likelihood of the raw score against its own long-run distribution.
    lm, lv, lcnt = st["lm"], st["lv"], st["lcnt"]
    lik = likelihood_score((raw_score - lm) / np.sqrt(np.maximum(lv, LIKELIHOOD_VAR_FLOOR)))
    established = warm & (lcnt >= np.maximum(st["warmup"], LIKELIHOOD_MIN_POINTS))
    # Sub-daily series only: on daily and monthly series the likelihood hid incidents
    # (simulator corpus: 46.4 with it against 61.5 without; docs/detection.md).
    established = established & (st["kind"] == KIND_SUBDAILY)
    score = np.where(established & cfg.likelihood, np.sqrt(raw_score * lik), raw_score)
    lik = np.where(established, lik, 0.0)
    score = np.where(warm, score, 0.0)
    # Only a new high of the recent (decaying) maximum passes undamped: an
    # episode then raises one alarm at its onset, whatever threshold is used,
    # and again only if it clearly escalates.
    recent = st["recent"]
    fresh = score > recent
    out = np.where(fresh, score, score * cfg.damp)
    rdecay = np.where(st["refr"] > 0, 0.5 ** (1.0 / np.maximum(st["refr"], 1)), 0.0)
    # --- state updates (after scoring: nothing above used the current point) ----
    st["recent"] = np.maximum(score, recent * rdecay)
    la = np.maximum(1.0 - 0.5 ** (1.0 / cfg.likelihood_halflife), 1.0 / (lcnt + 1.0))
    ld = raw_score - lm
    st["lm"], st["lv"], st["lcnt"] = lm + la * ld, (1.0 - la) * (lv + la * ld * ld), lcnt + 1
    decay = np.where(st["halflife"] > 0, 0.5 ** (1.0 / np.maximum(st["halflife"], 1)), 1.0)
    grown = feats
    if cfg.env_growth > 0:
        coarse_kind = (st["kind"] >= KIND_DAILY)[:, None]
        g = np.where(st["kind"] == KIND_MONTHLY, cfg.env_growth_monthly, cfg.env_growth)[:, None]
        grown = np.where(coarse_kind, np.minimum(feats, g * np.maximum(st["benv"], floors)), feats)
    st["env"] = np.maximum(grown, st["env"] * decay[:, None])
    # The calm maxima learn from calm points only: an episode cannot raise the basis of
    # its own bound (when it was the maximum at the last calm point, each incident
    # could triple it, and three unit mix-ups made it 27 times its calm value).
    st["benv"] = np.maximum(st["benv"] * decay[:, None], np.where((raw < 1.0)[:, None], feats, 0.0))
    st["zs"], st["zd"], st["vf"], st["vs"], st["run"] = zs, zd, vf, vs, run
    st["pchg"] = np.where(first, pchg, (1 - cfg.change_alpha) * pchg + cfg.change_alpha * changed)
    clip_dr = np.where(sdr_ok & own, np.minimum(adr, cfg.huber * np.nan_to_num(sdr)), adr)
    has_r = ~np.isnan(st["last_r"])
    a_j = np.maximum(cfg.jump_alpha, early)
    # A model whose last residual was unusable (a calendar slot not seen before) keeps its
    # jump scale on monthly series: dropped, it restarted from the next single difference
    # (on a monthly calendar model every year a Spring Festival moved month).
    st["sdr"] = np.where(
        has_r,
        np.where(sdr_ok, (1 - a_j) * np.nan_to_num(sdr) + a_j * clip_dr, adr),
        np.where(monthly_kind, sdr, np.nan),
    )
    st["last_r"] = np.where(usable, resid, np.nan)
    # The spread behind the scale floor is Huber-clipped on daily and monthly series once
    # settled: a unit mix-up (x10,000 for days) raised it, and with it the floor, above
    # the true noise for months, so a later shutdown was a "3-sigma" event.
    dev0 = np.abs(x - lvl[:, 0])
    clip_g = (gdev > 0) & (st["nk"] >= SETTLE) & (st["kind"] >= KIND_DAILY)
    dev0 = np.where(clip_g, np.minimum(dev0, cfg.huber * gdev), dev0)
    st["gdev"] = np.where(first, 0.0, gdev + cfg.scale_alpha * (dev0 - gdev))
    lim = cfg.huber * np.where(np.isfinite(sc) & own, sc, np.inf)
    rc = np.clip(resid, -lim, lim)
    scored = usable & ~first[:, None] & ~turned
    a_sc = np.maximum(cfg.scale_alpha, early)
    # A scale starts at its first non-zero residual.  On quantised data (integer
    # speeds, counts) the first residual is often exactly 0, and a zero scale never
    # grows under the clipped update: the model then looked perfect for ever, every
    # residual was a z of thousands and the feature maxima blinded the detector.
    # A model whose residuals stay exactly 0 (a noise-free series) gets its scale of 0
    # after ZERO_RUN of them: there the fit is perfect.
    zero = (np.abs(resid) == 0) & ~np.isfinite(sc)
    st["zrun"] = np.where(scored & zero, st["zrun"] + 1, st["zrun"])
    first_sc = np.where(np.abs(resid) > 0, np.abs(resid), np.where(st["zrun"] >= ZERO_RUN, 0.0, np.nan))
    new_sc = np.where(np.isfinite(sc), sc + a_sc * (np.minimum(np.abs(resid), lim) - sc), first_sc)
    st["sc"] = np.where(scored, new_sc, sc)
    st["nsc"] = st["nsc"] + scored
    if monthly.any():
        # A residual beyond huber scales is remembered for the same month next year.
        idx = np.flatnonzero(monthly)
        st["mex"][idx, mslot[idx]] = np.where(scored & (np.abs(resid) > lim), resid, 0.0)[idx]
        st["mexe"][idx, mslot[idx]] = expect[idx]
        st["mexm"][idx, mslot[idx]] = mon[idx]
    # Level of each model moves by the clipped residual; a seasonal model whose
    # slot is unseen keeps its level and initialises the slot instead.
    la_lvl = np.where((st["kind"] == KIND_DAILY)[:, None], cfg.daily_level_alpha, cfg.level_alpha)
    new_lvl = lvl + trend + la_lvl * rc
    beta = np.where(st["kind"] == KIND_MONTHLY, cfg.trend_beta, 0.0)[:, None]
    new_trend = trend + beta * la_lvl * rc
    for col, seen in ((1, seen1), (2, seen2)):
        keep = seen | ~seasonal
        new_lvl[:, col] = np.where(keep, new_lvl[:, col], lvl[:, col] + trend[:, col])
        new_trend[:, col] = np.where(keep, new_trend[:, col], trend[:, col])
    st["lvl"], st["trend"] = new_lvl, new_trend
    if seasonal.any():
        idx = np.flatnonzero(seasonal)
        both = two_ok & one_ok
        if both.any():
            base_lvl = lvl[:, 2] + trend[:, 2]
            e1 = np.abs(x - base_lvl - one_val)
            e2 = np.abs(x - base_lvl - two_val)
            err = np.stack([e1, e2], axis=1)
            st["sferr"] = np.where(both[:, None], (1 - SF_ERR_GAIN) * st["sferr"] + SF_ERR_GAIN * err, st["sferr"])
        learn = sf_day & (st["c2"][rows, base2] > 0)
        if learn.any():
            j = np.flatnonzero(learn)
            d = x[j] - new_lvl[j, 2] - st["s2"][j, base2[j]]
            seen_j = st["csfx"][j, sf_off[j]] > 0
            st["sfx"][j, sf_off[j]] = _learn(st["sfx"][j, sf_off[j]], d, seen_j, lim[j, 2], cfg.season_alpha)
            st["csfx"][j, sf_off[j]] += 1
        # A daily series' slot is first set no further than huber spreads (gdev) from the level:
        # set from one gross outlier (a day delivered 4.5 times over) or one day inside an
        # incident, it expected that every week for months, since a seen slot moves at most
        # huber scales a visit (the demo: a coke plant "below its band" every Saturday from May
        # to November; another "above" every Thursday). A real weekly shape is within a few
        # spreads, which include it, and the later visits complete it.
        bound = np.where((cfg.first_slot_bound > 0) & (st["kind"] == KIND_DAILY) & (gdev > 0),
                         cfg.first_slot_bound * gdev, np.inf)
        for key_s, key_c, slot, col in (("s1", "c1", slot1, 1), ("s2", "c2", true2, 2)):
            dev = x - new_lvl[:, col]
            seen = st[key_c][rows, slot] > 0
            upd = _learn(st[key_s][rows, slot], np.clip(dev, -bound, bound), seen, lim[:, col], cfg.season_alpha)
            st[key_s][idx, slot[idx]] = upd[idx]
            st[key_c][idx, slot[idx]] += 1
    _cycle(st, cfg, t, x)
    # The last KEPT raw figures of a monthly series (and of every series until its
    # interval is known), to be re-read when it turns out what it is (_reread).
    kept = np.flatnonzero((st["kind"] == KIND_MONTHLY) | (st["kind"] < 0))
    if len(kept):
        pos_r = st["kept_n"][kept] % KEPT
        st["kept_t"][kept, pos_r], st["kept_x"][kept, pos_r] = t[kept], x_raw[kept]
        st["kept_n"][kept] += 1
    st["n"] = st["n"] + 1
    st["nk"] = st["nk"] + (st["kind"] >= 0)
    st["last_t"], st["last_x"] = t, x
    if logm.any():
        # Back to the series' units: the expectation, and the scale by the delta method.
        e_raw = np.exp(np.where(logm, exp_best, 0.0))
        exp_best = np.where(logm, e_raw, exp_best)
        s_best = np.where(logm, e_raw * s_best, s_best)
    # A year-to-date total's expectation is last month's total plus the expected increment;
    # a 累计同比 figure's is last figure's months plus the expected growth of the new ones.
    return StepOutput(out, ytd_base + g_factor * exp_best, g_factor * s_best, ratios, warm, lik)
