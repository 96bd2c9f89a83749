"""Pure: the daily rollup buckets of a set of brand-new points, computed client-side.

The bulk import's fast path has the points in arrays already; grouping them here saves
reading them back from the hypertable. The result merges into `rollup_daily` exactly as
`repository._merge_new_into_daily` merges points (sums add, min/max combine, `last` is the
value at the latest time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # binary timestamptz counts µs, binary date days, from here


@dataclass(frozen=True)
class DailyPartials:
    """One entry per (series, local day) bucket, in (series, day) order."""

    series_id: np.ndarray  # int
    day: np.ndarray  # int: days since 2000-01-01
    sum: np.ndarray
    count: np.ndarray
    min: np.ndarray
    max: np.ndarray
    last: np.ndarray  # the value at last_at
    last_at: np.ndarray  # int: µs since 2000-01-01 UTC

    def __len__(self) -> int:
        return len(self.series_id)


def daily_partials(series_id: np.ndarray, day: np.ndarray, time_us: np.ndarray, value: np.ndarray) -> DailyPartials:
    """Bucket points (given in delivery order, at most one per series and time) by (series,
    day). Each bucket's sum adds its values one after another in delivery order, as
    PostgreSQL's sum() adds the rows of a staged batch, so the staged path and this one
    store the same float."""
    if len(series_id) == 0:
        empty = np.zeros(0, np.int64)
        return DailyPartials(empty, empty, np.zeros(0), empty, np.zeros(0), np.zeros(0), np.zeros(0), empty)
    order = np.lexsort((day, series_id))  # stable: delivery order kept inside a bucket
    s, d, t, v = series_id[order], day[order], time_us[order], value[order]
    starts = np.flatnonzero(np.concatenate(([True], (s[1:] != s[:-1]) | (d[1:] != d[:-1]))))
    ends = np.append(starts[1:], len(s))
    sums = np.array([v[a:b].cumsum()[-1] for a, b in zip(starts.tolist(), ends.tolist(), strict=True)])
    last_at = np.maximum.reduceat(t, starts)
    count = ends - starts
    at_last = t == np.repeat(last_at, count)  # one point per bucket: times are unique within a series
    return DailyPartials(series_id=s[starts], day=d[starts], sum=sums, count=count,
                         min=np.minimum.reduceat(v, starts), max=np.maximum.reduceat(v, starts),
                         last=v[at_last], last_at=last_at)
