"""Does a silence or maintenance window cover an alert? Pure.

Every field a silence sets must match (unset fields match anything); a silence with no
field set covers everything, which the service refuses to create without an explicit
``everything`` flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Target:
    """What is being judged: an alert's (or a series') indicator and places."""

    indicator_code: str
    entity_kind: str
    entity_id: int
    district_id: int | None
    park_id: int | None


@dataclass(frozen=True)
class Window:
    id: int
    kind: str  # silence | maintenance
    starts_at: datetime
    ends_at: datetime
    indicator_code: str | None = None
    entity_kind: str | None = None
    entity_id: int | None = None
    district_id: int | None = None
    park_id: int | None = None
    cancelled: bool = False


def covers(w: Window, t: Target, at: datetime) -> bool:
    if w.cancelled or not (w.starts_at <= at < w.ends_at):
        return False
    if w.indicator_code is not None and w.indicator_code != t.indicator_code:
        return False
    if w.entity_kind is not None and not _entity_matches(w, t):
        return False
    if w.district_id is not None and w.district_id != t.district_id:
        return False
    return not (w.park_id is not None and w.park_id != t.park_id)


def _entity_matches(w: Window, t: Target) -> bool:
    if w.entity_kind == t.entity_kind and (w.entity_id is None or w.entity_id == t.entity_id):
        return True
    # A park window also covers the enterprises in the park, a district window its parks and enterprises.
    if w.entity_id is None:
        return False
    return (w.entity_kind == "park" and t.park_id == w.entity_id) or (
        w.entity_kind == "district" and t.district_id == w.entity_id)


def first_covering(windows: list[Window], t: Target, at: datetime, kind: str) -> Window | None:
    for w in windows:
        if w.kind == kind and covers(w, t, at):
            return w
    return None
