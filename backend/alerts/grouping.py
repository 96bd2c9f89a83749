"""Park-level grouping: many enterprises in one park dropping together become one alert. Pure.

Enterprise alerts on the same indicator in the same park whose episodes started within
``window`` of each other form a cluster; a cluster of at least ``min_members`` becomes a
park-level group alert with the enterprise alerts as its members (they stay visible, but
mail goes out for the group, not for each member). An existing active group for the
same park and indicator absorbs later members.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Member:
    alert_id: int
    park_id: int
    indicator_code: str
    started_at: datetime


@dataclass(frozen=True)
class ExistingGroup:
    group_id: int
    park_id: int
    indicator_code: str
    started_at: datetime


@dataclass(frozen=True)
class Decision:
    """Create a group (group_id None) or attach to ``group_id``, for ``members``."""

    park_id: int
    indicator_code: str
    members: tuple[int, ...]
    group_id: int | None = None


def plan(ungrouped: Sequence[Member], groups: Sequence[ExistingGroup], window: timedelta = timedelta(hours=2),
         min_members: int = 3) -> list[Decision]:
    """Which ungrouped enterprise alerts join an existing group or form a new one."""
    by_key: dict[tuple[int, str], list[Member]] = defaultdict(list)
    for m in ungrouped:
        by_key[(m.park_id, m.indicator_code)].append(m)
    existing = {(g.park_id, g.indicator_code): g for g in groups}
    out: list[Decision] = []
    for key, members in sorted(by_key.items()):
        members.sort(key=lambda m: (m.started_at, m.alert_id))
        group = existing.get(key)
        if group is not None:
            near = tuple(m.alert_id for m in members if abs(m.started_at - group.started_at) <= window)
            if near:
                out.append(Decision(key[0], key[1], near, group.group_id))
            continue
        # The largest set of members whose start times fit in one window (sliding window).
        best: list[Member] = []
        lo = 0
        for hi in range(len(members)):
            while members[hi].started_at - members[lo].started_at > window:
                lo += 1
            if hi - lo + 1 > len(best):
                best = members[lo:hi + 1]
        if len(best) >= min_members:
            out.append(Decision(key[0], key[1], tuple(m.alert_id for m in best)))
    return out
