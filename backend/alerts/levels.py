"""Four-colour warning levels (四色预警) and how an episode's level develops. Pure: no I/O.

A point's *severity* in [0, 1] comes from the detector (see `scoring`). The *priority*
weighs it by how much the indicator and the entity matter (`importance`, about 0.5–2):
``priority = 1 - (1 - severity) ** importance``, so importance 1 leaves severity as is,
a key enterprise's point counts for more and a minor series' for less, and the result
stays in [0, 1].

`step` runs one series' episode forward point by point:

- an episode *opens* only after ``up_points`` consecutive active points: a single glitch
  never raises an alert (minimum duration). Each point of the run needs severity >= the
  activation threshold; once the run has reached yellow, the following points need only the
  activation threshold minus ``hysteresis`` (the detector has already seen the first point
  of a collapse, so its second scores a little lower although the value is just as far out);
- its level is the highest level reached by the priority *held* over the last
  ``hold_points`` points, so a shutdown that the detector has stopped calling new keeps
  its colour for a while; it is *raised* at once when a point warrants a higher level;
- it is *lowered* only when the held priority has stayed below the current level's
  threshold minus ``hysteresis`` for ``down_points`` points (hysteresis, no flapping);
- it *ends* when the severity (or the separate ``sustain`` reading, see `scoring`) has
  stayed below the activation threshold minus the hysteresis for ``clear_points`` points,
  and not while the values stay grossly below (under 0.3 times) the level expected where
  the episode began (`departed`): after half a day or so the detector takes a shutdown for
  the new normal, but the plant is still down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import IntEnum
from typing import Any


class Level(IntEnum):
    """Warning colours, red the most severe."""

    blue = 1  # 蓝：关注
    yellow = 2  # 黄
    orange = 3  # 橙
    red = 4  # 红：重大

    @property
    def zh(self) -> str:
        return LEVEL_ZH[self]

    @classmethod
    def parse(cls, name: str) -> Level:
        try:
            return cls[name]
        except KeyError:
            raise ValueError(f"unknown level {name!r}; use blue, yellow, orange or red") from None


LEVEL_ZH = {Level.blue: "蓝色", Level.yellow: "黄色", Level.orange: "橙色", Level.red: "红色"}
LEVEL_HEX = {Level.blue: "#1f6fd1", Level.yellow: "#d8a800", Level.orange: "#e8710a", Level.red: "#d0021b"}


@dataclass(frozen=True)
class LevelPolicy:
    """Thresholds on priority for each level and the anti-flapping parameters (in points)."""

    thresholds: tuple[float, float, float, float] = (0.5, 0.8, 0.9, 0.96)  # blue, yellow, orange, red
    activation: float = 0.5  # severity at or above which a point is part of an episode
    hysteresis: float = 0.08
    up_points: int = 2
    hold_points: int = 16
    down_points: int = 4
    clear_points: int = 8

    def threshold(self, level: Level) -> float:
        return self.thresholds[int(level) - 1]


# Sub-daily series (15 min, hourly): 30 min to open, 4 h of hold, 2 h calm to end.
SUBDAILY_POLICY = LevelPolicy()
# Daily and monthly series: every point is already a day's or a month's worth.
PERIOD_POLICY = LevelPolicy(up_points=1, hold_points=2, down_points=1, clear_points=2)


def priority(severity: float, importance: float) -> float:
    """Severity weighted by importance, in [0, 1]; importance 1 is neutral."""
    s = min(max(severity, 0.0), 1.0)
    w = min(max(importance, 0.1), 5.0)
    return 1.0 - (1.0 - s) ** w


def level_for(p: float, policy: LevelPolicy) -> Level | None:
    """The highest level whose threshold p reaches, or None below blue."""
    found: Level | None = None
    for lvl in Level:
        if p >= policy.threshold(lvl):
            found = lvl
    return found


@dataclass(frozen=True)
class TrackerState:
    """One series' episode state; ``level`` 0 means no episode."""

    level: int = 0
    run: int = 0  # consecutive active points while no episode is open
    run_start: datetime | None = None
    run_peak: float = 0.0
    held: tuple[float, ...] = ()  # priorities of the last hold_points points
    below: int = 0  # consecutive points the held priority is below the lowering threshold
    calm: int = 0  # consecutive calm points
    episode_start: datetime | None = None
    peak_level: int = 0
    # The expected value where the run (and so the episode) began, before the detector adapted:
    # what `departed` measures a continuing shutdown against.
    baseline: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level, "run": self.run,
            "run_start": self.run_start.isoformat() if self.run_start else None,
            "run_peak": self.run_peak, "held": list(self.held), "below": self.below, "calm": self.calm,
            "episode_start": self.episode_start.isoformat() if self.episode_start else None,
            "peak_level": self.peak_level, "baseline": self.baseline,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> TrackerState:
        if not d:
            return cls()
        def _t(v: str | None) -> datetime | None:
            return datetime.fromisoformat(v) if v else None
        return cls(level=int(d.get("level", 0)), run=int(d.get("run", 0)), run_start=_t(d.get("run_start")),
                   run_peak=float(d.get("run_peak", 0.0)), held=tuple(d.get("held", ())),
                   below=int(d.get("below", 0)), calm=int(d.get("calm", 0)),
                   episode_start=_t(d.get("episode_start")), peak_level=int(d.get("peak_level", 0)),
                   baseline=None if d.get("baseline") is None else float(d["baseline"]))


@dataclass(frozen=True)
class LevelEvent:
    """What happened to the episode at ``at``: opened, raised, lowered or ended."""

    kind: str  # opened | raised | lowered | ended
    at: datetime
    level: Level | None  # the level after the event (None when ended)
    previous: Level | None = None
    episode_start: datetime | None = None


@dataclass
class StepResult:
    state: TrackerState
    events: list[LevelEvent] = field(default_factory=list)


# A value below GROSS_LOW times the level expected where its episode began is a gross drop (a
# plant shut down): no daily or weekly pattern explains it, however used to it the detector
# has become. Downward only: a detector that started learning inside a shutdown expects the
# shutdown level, and the restart would be "3,000 % above" it for ever (found on the demo: five
# red alerts on plants that had come back); a gross rise (a unit mix-up) is held at ingest.
GROSS_LOW = 0.3


def departed(value: float | None, baseline: float | None) -> bool:
    """Whether `value` is still grossly below the positive level its episode began at."""
    if value is None or baseline is None or not math.isfinite(value) or not baseline > 0:
        return False
    return value < GROSS_LOW * baseline


def step(state: TrackerState, at: datetime, severity: float, importance: float,
         policy: LevelPolicy = SUBDAILY_POLICY, sustain: float | None = None,
         value: float | None = None, expected: float | None = None) -> StepResult:
    """Advance the episode by one point; returns the new state and the events it caused.

    ``severity`` opens an episode and sets its level; ``sustain`` (default: severity) is what
    keeps an open episode from ending. With ``value`` and ``expected`` given, the expectation
    where the run began is kept as the episode's baseline, and an episode whose values stay
    grossly below it (`departed`: a shutdown into its second day) neither ends nor loses
    its level when the detector has adapted to the new level and stopped finding it unusual:
    the data are not "back to normal"."""
    p = priority(severity, importance)
    # A run that has already reached yellow continues at the activation minus the hysteresis.
    strong_run = state.run > 0 and state.run_peak >= policy.thresholds[1]
    active = severity >= policy.activation - (policy.hysteresis if strong_run else 0.0)
    held = (*state.held, p)[-policy.hold_points:]
    events: list[LevelEvent] = []
    if state.level == 0:
        if not active:
            return StepResult(replace(state, run=0, run_start=None, run_peak=0.0, held=held, baseline=None))
        run = state.run + 1
        run_start = state.run_start or at
        run_peak = max(state.run_peak, p)
        baseline = state.baseline if state.run else (expected if expected is not None and math.isfinite(expected)
                                                     else None)
        if run < policy.up_points:
            return StepResult(replace(state, run=run, run_start=run_start, run_peak=run_peak, held=held,
                                      baseline=baseline))
        lvl = level_for(max(held), policy) or Level.blue
        events.append(LevelEvent("opened", at, lvl, None, run_start))
        return StepResult(TrackerState(level=int(lvl), held=held, episode_start=run_start,
                                       peak_level=int(lvl), baseline=baseline), events)
    current = Level(state.level)
    keep = severity if sustain is None else max(severity, sustain)
    away = departed(value, state.baseline)
    calm = 0 if away or keep >= policy.activation - policy.hysteresis else state.calm + 1
    if calm >= policy.clear_points:
        events.append(LevelEvent("ended", at, None, current, state.episode_start))
        return StepResult(TrackerState(held=held), events)
    target = level_for(max(held), policy) or Level.blue
    below = state.below
    new_level = current
    if target > current:
        new_level, below = target, 0
        events.append(LevelEvent("raised", at, target, current, state.episode_start))
    elif max(held) < policy.threshold(current) - policy.hysteresis and current > Level.blue and not away:
        below += 1
        if below >= policy.down_points:
            # Lower to the level the held priority supports with the hysteresis margin.
            lowered = level_for(max(held) + policy.hysteresis, policy) or Level.blue
            lowered = Level(min(max(lowered, Level.blue), current - 1))
            new_level, below = lowered, 0
            events.append(LevelEvent("lowered", at, lowered, current, state.episode_start))
    else:
        below = 0
    return StepResult(replace(state, level=int(new_level), held=held, below=below, calm=calm,
                              peak_level=max(state.peak_level, int(new_level))), events)


ENTITY_WEIGHT = {"city": 1.5, "district": 1.3, "park": 1.2}


def importance(*, is_leading: bool, entity_kind: str, key_enterprise: bool = False, above_scale: bool = False,
               override: float | None = None) -> float:
    """How much a series matters: indicator weight (leading indicators 1.0, others 0.8) times
    entity weight (city 1.5, district 1.3, park 1.2, key enterprise 1.5, above-scale 1.0,
    other enterprises 0.8). A configured importance (rule of kind ``importance``) wins."""
    if override is not None:
        return float(override)
    ind = 1.0 if is_leading else 0.8
    if entity_kind == "enterprise":
        ent = 1.5 if key_enterprise else (1.0 if above_scale else 0.8)
    else:
        ent = ENTITY_WEIGHT.get(entity_kind, 1.0)
    return ind * ent


# A move in the indicator's good direction (output up) is worth watching, not alarming.
GOOD_DIRECTION_FACTOR = 0.5


def directional_importance(base: float, good_direction: str, value: float, expected: float) -> float:
    if good_direction == "up" and value > expected or good_direction == "down" and value < expected:
        return base * GOOD_DIRECTION_FACTOR
    return base


DAY_S = 86_400.0


def held_expectation(times: list[datetime], expected: list[float | None], lower: list[float | None],
                     upper: list[float | None], start: datetime
                     ) -> tuple[list[float | None], list[float | None], list[float | None]]:
    """The chart of an episode whose values have `departed` from where it began: from `start`
    on, each point's expectation and band are the ones the detector had *before* the episode,
    at the same phase of the series' cycle (the same time of day on the last day before it for
    sub-daily points, the same weekday for daily ones; otherwise the last expectation before
    it). The detector follows a shutdown down within a day, and a chart drawn with its later
    expectations would show the plant at 3 % as "expected"; the alert's text already measures
    it against the level where the episode began. Points before `start` and series with no
    expectation before it are returned as they were."""
    t0 = start.timestamp()
    before = {round(t.timestamp()): k for k, t in enumerate(times)
              if t.timestamp() < t0 and expected[k] is not None and lower[k] is not None and upper[k] is not None}
    if not before:
        return list(expected), list(lower), list(upper)
    first, last = min(before), max(before)
    secs = sorted(t.timestamp() for t in times)
    steps = [b - a for a, b in zip(secs, secs[1:], strict=False) if b > a]
    step = sorted(steps)[len(steps) // 2] if steps else DAY_S
    cycle = DAY_S if step < DAY_S else 7 * DAY_S if step < 2 * DAY_S else None
    e, lo, hi = list(expected), list(lower), list(upper)
    for k, t in enumerate(times):
        ts = t.timestamp()
        if ts < t0:
            continue
        ref = before[last]
        if cycle is not None:
            back = ts - math.ceil((ts - t0 + 1e-6) / cycle) * cycle  # the same phase, before the start
            while back >= first - 1:
                if round(back) in before:
                    ref = before[round(back)]
                    break
                back -= cycle
        e[k], lo[k], hi[k] = expected[ref], lower[ref], upper[ref]
    return e, lo, hi


def onset(times: list[float], values: list[float], expected: list[float], half: list[float], start: float) -> float:
    """When an episode that opens at `start` (epoch seconds) really began: the first of the
    consecutive points before it that already lay outside their expected band on the same side.

    The detector can flag a change only some points after it began: a level shift builds up
    evidence, and points in a series' warm-up are scored 0 (a daily series whose history
    arrived newest first can meet a plant's drop in its first weeks). The values left the band
    earlier, and the alert says since when ("自 … 起") from here. Points with no band stop the
    walk; `start` itself inside its band (an alert raised by a rule) is returned unchanged."""
    order = sorted(range(len(times)), key=lambda k: times[k])
    at = next((n for n, k in enumerate(order) if times[k] == start), None)
    if at is None:
        return start

    def side(k: int) -> int:
        e, h = expected[k], half[k]
        if not (math.isfinite(e) and math.isfinite(h) and math.isfinite(values[k])):
            return 0
        d = values[k] - e
        return 1 if d > h else -1 if d < -h else 0

    s = side(order[at])
    if s == 0:
        return start
    while at > 0 and side(order[at - 1]) == s:
        at -= 1
    return times[order[at]]
