"""Which indicator stands for each family on the trend pages, per level of place."""

from __future__ import annotations

from dashboard.client import Indicator
from dashboard.views import HEADLINE, Refs


def _refs() -> Refs:
    codes = {**{c: f for f, c in HEADLINE.items()}, "coal.rail_in": "coal"}
    inds = [Indicator(code=c, name_zh=c, name_en=c, family=f, unit_code="t", frequency="day") for c, f in codes.items()]
    return Refs(districts=[], parks=[], industries=[], indicators=inds, units={}, units_en={})


def test_a_park_shows_coal_by_what_its_siding_brings_in_and_the_other_families_as_everywhere() -> None:
    r = _refs()
    city = dict((f, i.code) for f, i in r.headline())
    park = dict((f, i.code) for f, i in r.headline("park"))
    assert city["coal"] == "coal.raw_output" and park["coal"] == "coal.rail_in"
    assert {f: c for f, c in park.items() if f != "coal"} == {f: c for f, c in city.items() if f != "coal"}
    assert dict((f, i.code) for f, i in r.headline("district")) == city
    assert list(park) == ["coal", "power", "oil", "gas", "transport"]


def test_day_charts_end_with_the_last_complete_day_and_other_granularities_keep_their_end() -> None:
    from datetime import date

    from dashboard.area import complete_days_end

    today = date(2026, 11, 28)
    assert complete_days_end(today, "day", today) == date(2026, 11, 27)
    assert complete_days_end(date(2026, 11, 20), "day", today) == date(2026, 11, 20)  # a past range: as asked
    assert complete_days_end(today, "month", today) == today
    assert complete_days_end(today, "hour", today) == today
