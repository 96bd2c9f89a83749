"""Pure: the store-time hold for suspected unit mix-ups from automated upstream feeds.

An upstream that switches units without saying so (kWh sent as Wh, 万吨 figures sent in
tonnes) delivers values 1,000 or 10,000 times too large. Stored, one such value dominates
every sum it enters (a district's month, the city's 同比) until someone corrects it. So a
scheduled feed's value that is at least `HOLD_FACTOR` times the largest value its series
held in the last `HISTORY_DAYS` days is not stored but held in the quarantine, with the
reason, for a person to look at (and resubmit as is, or corrected, through
`POST /api/v1/ingest/quarantine/{id}/resubmit`, which does not hold again).

Only upward: a value far *below* its history is what a shutdown looks like, and is exactly
what the detector must see. 200× is far beyond any real change of an industrial meter against
its own three-month maximum (a restart after a shutdown comes back to the old level, which the
maximum still remembers), and far below the 1,000× of the smallest unit slip.

"The largest value" is robust: the 75th percentile of the series' daily maxima, so that a few
days of a mix-up stored earlier (before anyone noticed) do not become the yardstick.

A series with fewer than `MIN_HISTORY_DAYS` days of data (a meter just onboarded, where a
wrongly configured unit is most likely) has no settled "usual" of its own yet; it is judged
against its **peers**: the largest usual value of the *other* series of the same indicator,
stored or in the same batch (a system started from nothing judges its first batch by the
batch). No single enterprise, park or district meters 200× the largest one of its kind.
Without peers (a new indicator, a single series), nothing is held on that ground.  Once it
has `MIN_OWN_DAYS` days of its own, 200× those days' usual largest value is held too: a
small enterprise's kWh sent as Wh is 1,000× its own few days but may stay under 200× the
largest plant of its kind (seen on a fresh demo, whose history arrives a week at a time:
such a slip on day 6 of a series was stored and made the city's day 65 % too large).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

HOLD_FACTOR = 200.0
HISTORY_DAYS = 90
MIN_HISTORY_DAYS = 7
MIN_OWN_DAYS = 3


@dataclass(frozen=True)
class Ceiling:
    """The usual largest value of a series over the last `HISTORY_DAYS` days (75th percentile
    of its daily maxima), and on how many days it had data (from the daily rollups);
    `typical`, the median of those maxima, is the yardstick while the series is young (a
    wrong day among its first three or four would move the 75th percentile)."""

    largest: float
    days: int
    typical: float | None = None

    def yardstick(self) -> float | None:
        """What a value is compared with: the usual largest value once the series has
        `MIN_HISTORY_DAYS` days, the median of its daily maxima from `MIN_OWN_DAYS`, else none."""
        if self.days >= MIN_HISTORY_DAYS:
            return self.largest
        if self.days >= MIN_OWN_DAYS:
            return self.typical if self.typical is not None else self.largest
        return None


def withdraw_limit(ceiling: Ceiling | None) -> float | None:
    """Stored values of a series at or above this are withdrawn into the quarantine: what the
    hold would hold now, against the series' own days (peers never withdraw anything).  A
    mix-up stored while the series had no days of its own to be judged by (a backfill that
    starts with the newest day) is taken out as soon as it has."""
    y = ceiling.yardstick() if ceiling is not None else None
    return HOLD_FACTOR * y if y is not None and y > 0 else None


@dataclass(frozen=True)
class Hold:
    """Why a value is held: how many times its yardstick it is, and which yardstick (the
    series' own usual largest value, or its peers')."""

    ratio: float
    yardstick: float
    basis: str  # own | peers


def judge(value: float, ceiling: Ceiling | None, peers: float | None = None) -> Hold | None:
    """Whether `value` is held. `ceiling`: the series' own history; `peers`: the largest usual
    value of the indicator's other series (`peer_ceiling`), used while the series has too
    little history of its own (with its own few days, from `MIN_OWN_DAYS`)."""
    own = ceiling.yardstick() if ceiling is not None else None
    if own is not None and own > 0 and value / own >= HOLD_FACTOR:
        return Hold(value / own, own, "own")
    # A settled history decides alone; a young series (its own few days, from
    # MIN_OWN_DAYS) is also judged against its peers.
    if ceiling is not None and ceiling.days >= MIN_HISTORY_DAYS:
        return None
    if peers is None or peers <= 0 or value / peers < HOLD_FACTOR:
        return None
    return Hold(value / peers, peers, "peers")


def hold_reason(value: float, unit: str) -> str:
    """The quarantine reason of a held value. It names the value but not the ratio: the
    yardstick moves as history grows, and a re-delivered value must find its row (the
    quarantine keeps one row per source, content and reason), not add another."""
    return (f"疑似单位错误，暂存待核：{value:,.6g} {unit} 超过该序列（新序列为同类对象）近{HISTORY_DAYS}天常见最大值的 "
            f"{HOLD_FACTOR:.0f} 倍 / suspected unit mix-up, held for review: {value:,.6g} {unit} is over "
            f"{HOLD_FACTOR:.0f}× the usual largest value of this series (of its peers while it is new) in "
            f"{HISTORY_DAYS} days")


def peer_ceiling(series_id: int, stored_top: list[tuple[int, float]], batch_max: dict[int, float]) -> float | None:
    """The largest usual value among the *other* series of an indicator: `stored_top` holds the
    two largest stored ones (series id, value), `batch_max` each series' largest value in the
    batch being stored."""
    others = [v for sid, v in stored_top if sid != series_id][:1]
    others += [v for sid, v in batch_max.items() if sid != series_id]
    return max(others) if others else None


def peer_ceilings(stored_top: list[tuple[int, float]], batch_max: dict[int, float]) -> dict[int, float | None]:
    """`peer_ceiling` of every series in `batch_max`, in one pass: the largest value among the
    others is the largest or the second largest of the batch, so only those two are compared."""
    top_two = dict(heapq.nlargest(2, batch_max.items(), key=lambda kv: kv[1]))
    return {sid: peer_ceiling(sid, stored_top, top_two) for sid in batch_max}
