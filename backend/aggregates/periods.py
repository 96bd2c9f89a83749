"""Pure period arithmetic in local (Asia/Shanghai) calendar terms: buckets, widening a range
to whole buckets, shifting by a year, growth rates. No I/O."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum


class Bucket(StrEnum):
    hour = "hour"
    day = "day"
    week = "week"  # ISO weeks, Monday to Sunday
    month = "month"
    quarter = "quarter"
    year = "year"


MONTH_BUCKETS = (Bucket.month, Bucket.quarter, Bucket.year)
# The longest range each bucket may cover in one call (hour buckets read raw data).
MAX_SPAN_DAYS = {Bucket.hour: 31, Bucket.day: 3 * 366, Bucket.week: 5 * 366, Bucket.month: 30 * 366,
                 Bucket.quarter: 30 * 366, Bucket.year: 30 * 366}


def add_months(d: date, n: int) -> date:
    """The first of the month `n` months after d's month (d must be a 1st)."""
    m = d.year * 12 + d.month - 1 + n
    return date(m // 12, m % 12 + 1, 1)


def bucket_start(d: date, bucket: Bucket) -> date:
    if bucket in (Bucket.hour, Bucket.day):
        return d
    if bucket == Bucket.week:
        return d - timedelta(days=d.weekday())
    if bucket == Bucket.month:
        return d.replace(day=1)
    if bucket == Bucket.quarter:
        return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
    return date(d.year, 1, 1)


def next_bucket(d: date, bucket: Bucket) -> date:
    """The start of the bucket after the one starting at d."""
    if bucket in (Bucket.hour, Bucket.day):
        return d + timedelta(days=1)
    if bucket == Bucket.week:
        return d + timedelta(days=7)
    if bucket == Bucket.month:
        return add_months(d, 1)
    if bucket == Bucket.quarter:
        return add_months(d, 3)
    return date(d.year + 1, 1, 1)


def prev_bucket(d: date, bucket: Bucket) -> date:
    if bucket in (Bucket.hour, Bucket.day):
        return d - timedelta(days=1)
    if bucket == Bucket.week:
        return d - timedelta(days=7)
    if bucket == Bucket.month:
        return add_months(d, -1)
    if bucket == Bucket.quarter:
        return add_months(d, -3)
    return date(d.year - 1, 1, 1)


def widen(start: date, end_inclusive: date, bucket: Bucket) -> tuple[date, date]:
    """[start, end) widened to whole buckets; returns (first bucket start, exclusive end)."""
    a = bucket_start(start, bucket)
    b = next_bucket(bucket_start(end_inclusive, bucket), bucket)
    return a, b


def bucket_starts(a: date, b: date, bucket: Bucket) -> list[date]:
    out = []
    d = bucket_start(a, bucket)
    while d < b:
        out.append(d)
        d = next_bucket(d, bucket)
    return out


def shift_year(d: date, years: int) -> date | None:
    """The same calendar day `years` later; None for 29 February in a year without one."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return None


def same_period_last_year(key: date | datetime, bucket: Bucket) -> date | datetime | None:
    """The bucket a 同比 compares with: the same calendar period a year earlier; for weeks,
    52 weeks (364 days) earlier so that both are Monday-to-Sunday weeks."""
    if bucket == Bucket.week:
        return key - timedelta(days=364)
    if isinstance(key, datetime):
        try:
            return key.replace(year=key.year - 1)
        except ValueError:
            return None
    return shift_year(key, -1)


def growth_pct(value: float | None, base: float | None) -> float | None:
    """(value / base - 1) × 100; None when either is missing or the base is zero. A negative
    base uses its absolute value so the sign still says 'up' or 'down'."""
    if value is None or base is None or base == 0:
        return None
    return (value - base) / abs(base) * 100.0


def period_end(key: date, bucket: Bucket) -> date:
    """The last day of the bucket starting at key (inclusive)."""
    return next_bucket(key, bucket) - timedelta(days=1)


def label(key: date | datetime, bucket: Bucket) -> str:
    if isinstance(key, datetime):
        return key.strftime("%Y-%m-%d %H:00")
    if bucket == Bucket.day:
        return key.isoformat()
    if bucket == Bucket.week:
        y, w, _ = key.isocalendar()
        return f"{y}-W{w:02d}"
    if bucket == Bucket.month:
        return key.strftime("%Y-%m")
    if bucket == Bucket.quarter:
        return f"{key.year}-Q{(key.month - 1) // 3 + 1}"
    return str(key.year)


def _clamp(d: date, first: date, last: date) -> date:
    return max(first, min(d, last))


def partial_span_last_year(key: date, through: date, bucket: Bucket) -> tuple[date, date]:
    """同期 base of a bucket that is not complete yet (data through `through`, inclusive): the
    same span a year earlier, from the bucket's start through the same day (weeks: 52 weeks
    earlier). Returns local days [start, end). 29 February counts as 28 February."""
    if bucket == Bucket.week:
        return key - timedelta(days=364), through - timedelta(days=363)
    a = shift_year(key, -1) or key.replace(day=28, year=key.year - 1)
    last = shift_year(through, -1) or through.replace(day=28, year=through.year - 1)
    return a, _clamp(last, a, period_end(a, bucket)) + timedelta(days=1)


def partial_span_previous(key: date, through: date, bucket: Bucket) -> tuple[date, date]:
    """环比 base of a bucket that is not complete yet: the same span of the previous bucket,
    from its start through the same day of the month (1–27 November against 1–27 October; a
    quarter through 27 November against its previous quarter through 27 August; a day the
    previous bucket lacks is its last day). Returns local days [start, end)."""
    p = prev_bucket(key, bucket)
    if bucket == Bucket.week:
        return p, through - timedelta(days=6)
    if bucket == Bucket.year:
        return partial_span_last_year(key, through, bucket)
    months = 1 if bucket == Bucket.month else 3
    m = add_months(through.replace(day=1), -months)
    last = m.replace(day=min(through.day, period_end(m, Bucket.month).day))
    return p, _clamp(last, p, period_end(p, bucket)) + timedelta(days=1)
