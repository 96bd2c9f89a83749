"""Scoring new points of many series at once with the production detector, and keeping each
series' detector state between runs. Pure: no I/O (the service loads and stores the bytes).

The detector (`backend.detection`) is a streaming one: `engine.SeriesBank` advances N series
by one point per step with exactly the arithmetic of `StreamingDetector`. Here the states of
the series that received data are stacked into one bank, each series is fed its new points in
time order (series with fewer points are padded with NaN, which leaves their state untouched),
and the state is cut back into one compressed blob per series. A blob also carries a ring of
the last `RING` points with their expected band, so that an alert's chart can show the day
before the episode started.

Severity of a point (what `levels` weighs) combines two readings, both zero during warm-up:
the detector's *undamped* score u (the detector damps repeated alarms of one incident; an
episode's level needs the real magnitude) and the distance from the expected band
(d = |x - expected| / half-band, b = d²/(1+d²), so the band edge is 0.5).

- ``severity`` (onset) = min(u, b): an episode starts only where the detector fires *and*
  the value is outside its band: on pure noise the detector's jump check alone would open
  an episode for several percent of series a day; a stuck meter (whose values sit inside
  the band) counts on u alone;
- ``sustain`` = max(u, b): once open, the episode lasts while either still sees it (after
  its onset the detector adapts and calls a continuing shutdown less and less unusual).

A configured rule that fires sets both to at least `detectors.RULE_SCORE`.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from backend.detection import detectors
from backend.detection.engine import FEATURES, KIND_MONTHLY, STATE_REVISION, DetectorConfig, SeriesBank
from backend.detection.rules import Result, TargetRule, ThresholdRule, YoYRule

RING = 96
_RING_KEYS = ("ring_t", "ring_x", "ring_e", "ring_h", "ring_s")
_STUCK = FEATURES.index("stuck")


@dataclass(frozen=True)
class Layout:
    """Byte layout of one series' state: (key, dtype, shape) in a fixed order."""

    fields: tuple[tuple[str, str, tuple[int, ...]], ...]
    revision: int = STATE_REVISION

    @property
    def digest(self) -> str:
        return hashlib.sha1(repr((self.revision, self.fields)).encode()).hexdigest()[:16]

    @property
    def row_bytes(self) -> int:
        return sum(np.dtype(d).itemsize * int(np.prod(s, dtype=np.int64)) for _, d, s in self.fields)


def layout(config: DetectorConfig) -> Layout:
    """The state layout of ``config``'s detector: a saved state of another layout (or of another
    ``engine.STATE_REVISION``) is not loaded, and its series is re-learned from its history
    (`service._new_layout`)."""
    st = SeriesBank(1, config).st
    fields = [(k, v.dtype.str, tuple(v.shape[1:])) for k, v in sorted(st.items())]
    fields += [(k, np.dtype(float).str, (RING,)) for k in _RING_KEYS]
    fields.append(("ring_pos", np.dtype(np.int64).str, ()))
    return Layout(tuple(fields))


@dataclass
class Bank:
    """Stacked state of n series (detector state + chart ring)."""

    bank: SeriesBank
    ring: dict[str, np.ndarray]


def declared_ytd_growth(indicator_code: str, unit_code: str) -> bool:
    """A catalogue indicator that is a 累计同比 growth rate: a `.ytd` twin in per cent
    (e.g. `econ.value_added_growth.ytd`, docs/statistics-import.md)."""
    return indicator_code.endswith(".ytd") and unit_code == "pct"


def load_bank(blobs: Sequence[bytes | None], config: DetectorConfig, lay: Layout,
              ytd_growth: Sequence[bool] = ()) -> Bank:
    """A bank for len(blobs) series; None (or a blob of another layout) starts a fresh series.
    ``ytd_growth[i]`` declares a fresh series a 累计同比 rate (a stored state keeps what it learned)."""
    n = len(blobs)
    bank = SeriesBank(n, config, ytd_growth=np.array(ytd_growth, dtype=bool) if len(ytd_growth) else None)
    ring: dict[str, np.ndarray] = {k: np.full((n, RING), np.nan) for k in _RING_KEYS}
    ring["ring_pos"] = np.zeros(n, dtype=np.int64)
    known = [i for i, b in enumerate(blobs) if b is not None]
    if not known:
        return Bank(bank, ring)
    raw = np.frombuffer(b"".join(zlib.decompress(blobs[i]) for i in known),  # type: ignore[arg-type]
                        dtype=np.uint8).reshape(len(known), lay.row_bytes)
    idx = np.asarray(known)
    off = 0
    for key, dtype, shape in lay.fields:
        size = np.dtype(dtype).itemsize * int(np.prod(shape, dtype=np.int64))
        cols = np.ascontiguousarray(raw[:, off:off + size]).view(dtype).reshape((len(known), *shape))
        off += size
        target: dict[str, Any] = ring if key.startswith("ring_") else bank.st
        target[key][idx] = cols
    return Bank(bank, ring)


def dump_bank(b: Bank, lay: Layout) -> list[bytes]:
    parts = []
    for key, dtype, _shape in lay.fields:
        src = b.ring if key.startswith("ring_") else b.bank.st
        arr = np.ascontiguousarray(src[key].astype(dtype, copy=False))
        parts.append(arr.reshape(arr.shape[0], -1).view(np.uint8))
    rows = np.concatenate(parts, axis=1)
    return [zlib.compress(rows[i].tobytes(), 1) for i in range(rows.shape[0])]


@dataclass(frozen=True)
class RuleSet:
    """Rules for one series (the subset of detection rules the evaluation path applies)."""

    thresholds: tuple[ThresholdRule, ...] = ()
    targets: tuple[TargetRule, ...] = ()
    yoys: tuple[YoYRule, ...] = ()  # 同比 limits: need the same period's value a year earlier

    def __bool__(self) -> bool:
        return bool(self.thresholds or self.targets or self.yoys)

    def check(self, at: datetime, value: float, last_year: float | None = None) -> list[Result]:
        """Every rule that fires on this point; 同比 rules only when last year's value is known."""
        out: list[Result] = []
        rules: tuple[ThresholdRule | TargetRule, ...] = (*self.thresholds, *self.targets)
        for r in rules:
            res = r.check(at, value)
            if res is not None:
                out.append(res)
        for y in self.yoys:
            res = y.check(at, value, last_year)
            if res is not None:
                out.append(res)
        return out


@dataclass
class Scored:
    """Scores of one series' new points (arrays in time order)."""

    t: np.ndarray  # UTC epoch seconds
    x: np.ndarray
    expected: np.ndarray
    half: np.ndarray  # half-width of the expected band
    severity: np.ndarray  # onset strength: what opens an episode and sets its level
    checks: list[tuple[str, ...]] = field(default_factory=list)  # filled lazily for the points that matter
    ratios: np.ndarray | None = None
    rule_fired: np.ndarray | None = None
    sustain: np.ndarray | None = None  # what keeps an open episode going (detector or band alone)
    last_year: np.ndarray | None = None  # same period a year earlier (NaN: unknown), for 同比 rules
    year_to_date: bool = False  # read as a 累计 total and judged on its monthly increments
    ytd_growth: bool = False  # a 累计同比 growth rate, judged on the monthly growth it implies
    monthly: bool = False  # the detector reads the series as monthly

    def last_year_at(self, i: int) -> float | None:
        if self.last_year is None or not np.isfinite(self.last_year[i]):
            return None
        return float(self.last_year[i])

    def at(self, i: int) -> datetime:
        return datetime.fromtimestamp(float(self.t[i]), UTC)


def local_offset_seconds(tz_offset: timedelta | None) -> float:
    return tz_offset.total_seconds() if tz_offset else 0.0


def score_batch(bank: Bank, points: Sequence[tuple[np.ndarray, np.ndarray]], rules: Sequence[RuleSet],
                config: DetectorConfig, last_year: Sequence[np.ndarray | None] = ()) -> list[Scored]:
    """Feed each series i its points ``points[i] = (t_utc_seconds, values)`` (sorted) and
    return their scores; ``bank`` is advanced in place. ``last_year[i]`` (optional, aligned
    with ``points[i]``, NaN where unknown) holds the same period's values a year earlier,
    which 同比 rules compare with."""
    n = len(points)
    lengths = np.array([len(p[0]) for p in points], dtype=np.int64)
    steps = int(lengths.max()) if n else 0
    T = np.full((n, steps), np.nan)
    X = np.full((n, steps), np.nan)
    for i, (t, x) in enumerate(points):
        T[i, :len(t)] = t
        X[i, :len(x)] = x
    # The detector reads calendar effects on Beijing wall-clock time (no DST since 1991).
    wall = T + detectors.epoch_seconds(datetime(2000, 1, 1, tzinfo=UTC)) - 946684800.0
    E = np.full((n, steps), np.nan)
    H = np.full((n, steps), np.nan)
    S = np.zeros((n, steps))
    U = np.zeros((n, steps))
    R = np.zeros((n, steps, len(FEATURES)))
    mad_sd = detectors.MAD_TO_SD * config.band_z
    rows = np.arange(n)
    ring = bank.ring
    for j in range(steps):
        x = X[:, j]
        out = bank.bank.step(wall[:, j], x)
        ok = np.isfinite(x)
        half = mad_sd * out.scale
        r = out.ratios.max(axis=1)
        undamped = r * r / (1.0 + r * r)
        d = np.abs(x - out.expected) / np.maximum(half, 1e-12)
        dev = d * d / (1.0 + d * d)
        dev = np.nan_to_num(dev)
        warm = out.warm & ok
        # Onset: the detector and the band must agree (a jump inside the band is noise), except
        # for a frozen meter, whose values sit inside the band by nature.
        stuck = out.ratios[:, _STUCK] >= 1.0
        onset = np.where(stuck, undamped, np.minimum(undamped, dev))
        sev = np.where(warm, onset, 0.0)
        sustain = np.where(warm, np.maximum(undamped, dev), 0.0)
        E[:, j], H[:, j], S[:, j], R[:, j], U[:, j] = out.expected, half, sev, out.ratios, sustain
        if ok.any():
            pos = ring["ring_pos"]
            sel = rows[ok]
            p = pos[ok] % RING
            for key, val in (("ring_t", T[:, j]), ("ring_x", x), ("ring_e", out.expected), ("ring_h", half),
                             ("ring_s", sev)):
                ring[key][sel, p] = val[ok]
            ring["ring_pos"] = np.where(ok, pos + 1, pos)
    result: list[Scored] = []
    for i in range(n):
        m = int(lengths[i])
        sev = S[i, :m].copy()
        fired = np.zeros(m, dtype=bool)
        rs = rules[i] if i < len(rules) else RuleSet()
        ly = last_year[i] if i < len(last_year) else None
        if rs:
            for k in range(m):
                prev = float(ly[k]) if ly is not None and np.isfinite(ly[k]) else None
                if rs.check(datetime.fromtimestamp(float(T[i, k]), UTC), float(X[i, k]), prev):
                    fired[k] = True
            sev = np.where(fired, np.maximum(sev, detectors.RULE_SCORE), sev)
        sustain = np.maximum(U[i, :m], sev)
        result.append(Scored(T[i, :m], X[i, :m], E[i, :m], H[i, :m], sev, ratios=R[i, :m], rule_fired=fired,
                             sustain=sustain, last_year=None if ly is None else np.asarray(ly, dtype=float),
                             year_to_date=bool(bank.bank.st["ytd"][i]),
                             ytd_growth=bool(bank.bank.st["ytdg"][i]),
                             monthly=bool(bank.bank.st["kind"][i] == KIND_MONTHLY)))
    return result


def checks_at(s: Scored, k: int, rules: RuleSet) -> tuple[tuple[str, ...], list[Result]]:
    """Names of the checks that fired at point k (detector checks, then rules)."""
    names: list[str] = []
    if s.ratios is not None and s.severity[k] > 0:
        order = np.argsort(-s.ratios[k])
        names = [FEATURES[j] for j in order if s.ratios[k, j] >= 1.0]
        half = s.half[k]
        if not names and np.isfinite(half) and abs(s.x[k] - s.expected[k]) > half:
            names = ["level_shift"] if s.x[k] != s.expected[k] else []
    fired = rules.check(s.at(k), float(s.x[k]), s.last_year_at(k)) if rules else []
    return tuple(names) + tuple(r.check for r in fired), fired


def ring_points(bank: Bank, i: int) -> list[tuple[float, float, float, float, float]]:
    """The ring of series i in time order: (t_utc_seconds, value, expected, half, severity)."""
    ring = bank.ring
    pos = int(ring["ring_pos"][i])
    order = [(pos + k) % RING for k in range(RING)]
    out = []
    for p in order:
        t = ring["ring_t"][i, p]
        if np.isfinite(t):
            out.append((float(t), float(ring["ring_x"][i, p]), float(ring["ring_e"][i, p]),
                        float(ring["ring_h"][i, p]), float(ring["ring_s"][i, p])))
    return out
