"""Chinese working-day calendar and Spring Festival position, as pure lookups.

The detector's calendar-aware baseline keys its seasonal slots on a *day type*
instead of the plain weekday.  Day types:

* 0-6  Monday..Sunday on an ordinary day;
* 2    (Wednesday) for a 调休 make-up working day, because a weekend declared a
  working day behaves like an ordinary mid-week day for industry;
* ``HOLIDAY`` for a public holiday other than the Spring Festival;
* for the Spring Festival, the day's offset from lunar new year's day
  (``SF_FIRST``..``SF_LAST``) on daily data, or ``HOLIDAY`` on sub-daily data
  (where one slot per offset and time of day would never fill).

Outside the years ``chinese_calendar`` knows, holidays fall back to weekdays:
the detector then simply loses the calendar refinement rather than failing.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import chinese_calendar
from lunardate import LunarDate

HOLIDAY = 7
SF_BEFORE = 10
SF_AFTER = 25
SF_FIRST = 8
SF_LAST = SF_FIRST + SF_BEFORE + SF_AFTER
N_DAY_TYPES_DAILY = SF_LAST + 1
N_DAY_TYPES_SUBDAILY = HOLIDAY + 1
MAKE_UP_WORKDAY = 2

_EPOCH = dt.date(1970, 1, 1)


@lru_cache(maxsize=256)
def lunar_new_year(year: int) -> dt.date | None:
    """Gregorian date of lunar new year's day in ``year`` (None outside lunardate's range)."""
    try:
        return LunarDate(year, 1, 1).to_solar_date()
    except ValueError:
        return None


def spring_festival_offset(day: dt.date) -> int | None:
    """Days from the nearest lunar new year's day if within [-SF_BEFORE, SF_AFTER], else None."""
    for year in (day.year, day.year + 1):
        ny = lunar_new_year(year)
        if ny is None:
            continue
        off = (day - ny).days
        if -SF_BEFORE <= off <= SF_AFTER:
            return off
    return None


def spring_festival_in_month(year: int, month: int) -> bool:
    """True when lunar new year's day falls in the given Gregorian month."""
    ny = lunar_new_year(year)
    return ny is not None and ny.year == year and ny.month == month


@lru_cache(maxsize=8192)
def day_type(day_number: int, daily: bool) -> int:
    """Day type (see module docstring) of the day ``day_number`` days after 1970-01-01."""
    day = _EPOCH + dt.timedelta(days=day_number)
    weekday = day.weekday()
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        workday = chinese_calendar.is_workday(day)
    except NotImplementedError:
        return weekday
    if daily:
        # Around the Spring Festival the lunar position dominates (a 调休
        # Sunday inside it is still a festival day for industry).
        off = spring_festival_offset(day)
        if off is not None:
            return SF_FIRST + off + SF_BEFORE
    if workday and weekday >= 5:
        return MAKE_UP_WORKDAY
    if on_holiday and name is not None:
        # A weekend inside a holiday block belongs to the holiday too; a plain
        # weekend comes back with no holiday name.
        return HOLIDAY
    return weekday
