"""Pure parts: parsers, number reading, unit conversion, windows, retry rules, the generator."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from backend.ingestion.batch import ParsedRow, PayloadError
from backend.ingestion.service import resolve_rows
from ingest.simulator import feeds
from ingest.simulator.generator import World, day_start, epoch_s, heating_intensity, local_day
from ingest.sources import parsers
from ingest.sources.client import RetryPolicy, retry_after_seconds
from ingest.sources.definitions import source_named
from ingest.sources.parsers import Payload, RowError, number

BJ = parsers.UPSTREAM_TZ


def date_of(day: int) -> date:
    return date(1970, 1, 1) + timedelta(days=day)


def _json(doc: object) -> Payload:
    return Payload(json.dumps(doc, ensure_ascii=False).encode(), "application/json")


def test_metering_times_are_interval_ends_and_become_interval_starts() -> None:
    res = parsers.parse_metering(_json({"code": 0, "data": {"pages": 3, "records": [
        {"credit_code": "X", "data_time": "2026-11-27 00:15:00", "pap_e": "1,234.5", "unit": "kWh"}]}}))
    assert res.pages == 3
    [row] = res.rows
    assert row.time == datetime(2026, 11, 27, 0, 0, tzinfo=BJ)
    assert row.value == 1234.5 and row.unit == "kWh" and row.entity_kind == "enterprise"


def test_metering_rejects_bad_rows_with_reasons_and_keeps_the_good_ones() -> None:
    good = {"credit_code": "X", "data_time": "2026-11-27 00:15:00", "pap_e": 1.0}
    res = parsers.parse_metering(_json({"code": 0, "data": {"records": [
        good, {**good, "pap_e": "N/A"}, {**good, "pap_e": -3}, {**good, "data_time": "2026-13-45 25:00:00"},
        {"credit_code": "X", "data_time": "2026-11-27 00:30:00"}]}}))
    assert len(res.rows) == 1
    reasons = [r.reason for r in res.rejected]
    assert any("not a number" in r for r in reasons)
    assert any("negative" in r for r in reasons)
    assert any("does not match" in r for r in reasons)
    assert any("missing field 'pap_e'" in r for r in reasons)
    assert all(" / " in r for r in reasons)  # Chinese first, then English


@pytest.mark.parametrize("body", [b'{"code": 0, "data": {"records": [{"credit', b"<html>502</html>",
                                  b'{"code": 500, "msg": "busy"}'])
def test_an_unreadable_response_is_a_payload_error(body: bytes) -> None:
    with pytest.raises(PayloadError):
        parsers.parse_metering(Payload(body, "application/json"))


def test_rail_csv_is_read_as_gbk_and_a_bad_line_is_rejected_whole() -> None:
    rows = [["2026-11-26", "乌达站", "150304", "300", "12000.5", "3000.0", "1500.0", "4000.0", "", ""],
            ["2026-11-26", "乌海站", "150302", "三百", "1", "1", "1", "1", "1", ""],
            ["2026-11-26", "乌海站", "150302", "1"]]
    res = parsers.parse_rail(Payload(feeds.rail_csv(rows), "text/csv; charset=gbk"))
    assert {r.indicator for r in res.rows} == {"rail.loading_cars", "rail.tonnage_coal", "rail.tonnage_coke",
                                               "rail.tonnage_other", "coal.rail_in"}  # empty cell: not reported
    assert all(r.entity_code == "150304" and r.time == datetime(2026, 11, 26, tzinfo=BJ) for r in res.rows)
    assert len(res.rejected) == 2 and "三百" in res.rejected[0].raw


def test_a_rail_line_naming_a_park_siding_belongs_to_the_park_and_old_files_still_read() -> None:
    siding = ["2026-11-26", "乌达园区专用线", "150304", "150", "6000", "", "", "", "", "WD"]
    res = parsers.parse_rail(Payload(feeds.rail_csv([siding]), "text/csv; charset=gbk"))
    assert {(r.entity_kind, r.entity_code, r.indicator) for r in res.rows} == {
        ("park", "WD", "rail.loading_cars"), ("park", "WD", "rail.tonnage_coal")}
    # a file from before the 园区代码 column: every line is a district line
    old = "日期,站名,区县代码,装车数(车)\r\n2026-11-26,乌达站,150304,300\r\n".encode("gbk")
    [row] = parsers.parse_rail(Payload(old, "text/csv; charset=gbk")).rows
    assert (row.entity_kind, row.entity_code, row.value) == ("district", "150304", 300.0)


def test_gas_rows_name_parks_or_districts_and_the_older_park_only_shape_still_reads() -> None:
    res = parsers.parse_gas(_json(feeds.gas_body([["150391", "滨河新区", "2026112710", "0.25", "district"],
                                                  ["DT", "低碳产业园区", "2026112710", "0.3"]])))
    assert [(r.entity_kind, r.entity_code) for r in res.rows] == [("district", "150391")]
    assert "expected 5 fields" in res.rejected[0].reason
    old = {"status": "OK", "unit": "万立方米", "columns": ["park_code", "park_name", "hour", "volume"],
           "rows": [["DT", "低碳产业园区", "2026112710", "0.3"]]}
    [row] = parsers.parse_gas(_json(old)).rows
    assert (row.entity_kind, row.entity_code, row.value) == ("park", "DT", 0.3)


def test_oil_sales_of_a_park_sales_area_belong_to_the_park() -> None:
    body = {"data": [{"region_code": "QLS", "region": "千里山工业园区", "region_type": "park", "date": "2026-11-26",
                      "diesel_t": 55.5},
                     {"region_code": "150302", "region": "海勃湾区", "date": "2026-11-26", "total_t": 300}],
            "total": 2}
    res = parsers.parse_oil(_json(body))
    assert {(r.entity_kind, r.entity_code, r.indicator, r.value) for r in res.rows} == {
        ("park", "QLS", "oil.diesel_sales", 55.5), ("district", "150302", "oil.refined_sales", 300.0)}


def test_gas_keeps_the_upstream_unit_for_the_store_to_convert() -> None:
    res = parsers.parse_gas(_json(feeds.gas_body([["WD", "乌达工业园区", "2026112710", "0.7351", "park"]])))
    [row] = res.rows
    assert (row.unit, row.value, row.time) == ("万立方米", 0.7351, datetime(2026, 11, 27, 10, tzinfo=BJ))


def test_coal_maps_chinese_indicator_names_and_rejects_unknown_ones() -> None:
    res = parsers.parse_coal(_json({"success": True, "reportDate": "2026-11-26", "items": [
        {"enterpriseCode": "X", "indicator": "焦炭产量", "value": "0.3000", "unit": "万吨"},
        {"enterpriseCode": "X", "indicator": "精煤销量", "value": "1", "unit": "万吨"}]}))
    assert [(r.indicator, r.value, r.unit) for r in res.rows] == [("coke.output", 0.3, "万吨")]
    assert "精煤销量" in res.rejected[0].reason


@pytest.mark.parametrize("raw, value", [(" 1,234.5 ", 1234.5), (7, 7.0), ("0", 0.0), ("1，000", 1000.0)])
def test_numbers_are_read_leniently(raw: object, value: float) -> None:
    assert number(raw) == value


@pytest.mark.parametrize("raw", ["", "N/A", "nan", "inf", "-1", None, True, [1]])
def test_non_numbers_and_negatives_are_rejected(raw: object) -> None:
    with pytest.raises(RowError):
        number(raw)


UNITS = {"t": ("mass", 1.0), "万吨": ("mass", 10000.0), "10kt": ("mass", 10000.0), "m3": ("volume", 1.0),
         "万立方米": ("volume", 10000.0), "kWh": ("electricity", 1.0), "MW": ("power", 1.0)}
INDICATORS = {"coal.raw_output": ("t", "day"), "gas.consumption": ("m3", "hour"),
              "power.consumption": ("kWh", "15min")}
ENTITIES = {("enterprise", "E1"): 11, ("park", "WD"): 2}
T0 = datetime(2026, 11, 26, tzinfo=UTC)


def test_values_are_converted_to_the_indicator_unit_and_routed_to_their_table() -> None:
    good, bad = resolve_rows([ParsedRow("coal.raw_output", "enterprise", "E1", T0, 0.6266, "万吨"),
                              ParsedRow("gas.consumption", "park", "WD", T0, 0.5, "万立方米")],
                             ENTITIES, INDICATORS, UNITS)
    assert not bad
    assert [(g.key, g.value, g.table) for g in good] == [
        (("coal.raw_output", "enterprise", 11), pytest.approx(6266.0), "period_observation"),
        (("gas.consumption", "park", 2), 5000.0, "observation")]


@pytest.mark.parametrize("row, reason", [
    (ParsedRow("coal.raw_output", "enterprise", "E1", T0, 1, "万立方米"), "cannot convert"),
    (ParsedRow("coal.raw_output", "enterprise", "E1", T0, 1, "斤"), "unknown unit"),
    (ParsedRow("coal.raw_output", "enterprise", "E9", T0, 1, "t"), "unknown enterprise 'E9'"),
    (ParsedRow("coal.sold", "enterprise", "E1", T0, 1, "t"), "unknown indicator"),
    (ParsedRow("coal.raw_output", "enterprise", "E1", T0, float("nan"), "t"), "finite"),
])
def test_rows_the_store_cannot_place_are_rejected_with_a_reason(row: ParsedRow, reason: str) -> None:
    good, bad = resolve_rows([row], ENTITIES, INDICATORS, UNITS)
    assert not good and reason in bad[0].reason


def test_retry_after_is_read_as_seconds_or_a_date_and_honoured() -> None:
    assert retry_after_seconds("7", 0) == 7
    assert retry_after_seconds("Thu, 01 Jan 1970 00:00:10 GMT", 4) == pytest.approx(6)
    assert retry_after_seconds("soon", 0) is None
    policy = RetryPolicy(backoff_s=0.5, max_retry_after_s=60)
    assert policy.delay(1, 3.0) == 3.0 and policy.delay(1, 600) == 60
    assert 0.25 <= policy.delay(1, None) <= 0.5 and policy.delay(10, None) <= 30


def test_windows_start_from_the_watermark_minus_lookback_and_chunk() -> None:
    power = source_named("power_metering")
    now = datetime(2026, 11, 27, 10, 7, tzinfo=UTC)
    assert power.window(None, now) == (datetime(2026, 11, 26, 10, tzinfo=UTC), datetime(2026, 11, 27, 10, tzinfo=UTC))
    wm = datetime(2026, 11, 27, 9, 45, tzinfo=UTC)
    assert power.window(wm, now)[0] == wm - timedelta(hours=3)
    assert power.window(wm - timedelta(days=30), now)[0] == datetime(2026, 11, 20, 10, tzinfo=UTC)  # catch-up cap
    coal = source_named("coal_production")
    start, end = coal.window(None, now)
    assert end == datetime(2026, 11, 28, tzinfo=BJ)  # today's running figures are included
    chunks = coal.chunks(start, end)
    assert chunks[0][0] == start and chunks[-1][1] == end and all(b - a <= timedelta(days=7) for a, b in chunks)


def test_the_generator_is_deterministic_for_a_seed() -> None:
    a, b, c = World(seed=3), World(seed=3), World(seed=4)
    t = epoch_s(datetime(2026, 3, 2, 4, tzinfo=UTC))
    s = a.of("power.consumption")[5]
    assert a.observed(s, t) == b.observed(b.by_key[s.key], t) != c.observed(c.by_key[s.key], t)
    assert [i.label() for i in a.incidents(t, t + 86400 * 60)] == [i.label() for i in b.incidents(t, t + 86400 * 60)]


def test_spring_festival_heating_and_weekly_patterns_are_there() -> None:
    w = World(seed=1)
    mine = next(s for s in w.of("coal.raw_output"))
    day = 86400
    # lunar new year 2026 is 17 February
    festival = epoch_s(datetime(2026, 2, 18, tzinfo=BJ))
    normal = epoch_s(datetime(2026, 3, 18, tzinfo=BJ))
    assert w.true_value(mine, festival) < 0.3 * w.true_value(mine, normal)
    park = w.by_key["gas.consumption|park|WD"]
    jan = sum(w.true_value(park, epoch_s(datetime(2026, 1, 14, tzinfo=BJ)) + h * 3600) for h in range(24))
    jul = sum(w.true_value(park, epoch_s(datetime(2026, 7, 14, tzinfo=BJ)) + h * 3600) for h in range(24))
    assert jan > 1.5 * jul
    office = next(s for s in w.of("power.consumption") if s.entity.group == "other")
    noon = epoch_s(datetime(2026, 6, 10, 13, 30, tzinfo=BJ))
    night = epoch_s(datetime(2026, 6, 10, 3, 30, tzinfo=BJ))
    assert w.true_value(office, noon) > 1.4 * w.true_value(office, night)
    del day


def test_incidents_cover_every_kind_and_show_in_the_served_values() -> None:
    w = World(seed=1)
    start = epoch_s(datetime(2025, 1, 1, tzinfo=UTC))
    incidents = w.incidents(start, start + 365 * 86400)
    kinds = {i.kind for i in incidents}
    assert kinds >= {"shutdown", "level_shift", "slow_decline", "spike", "stuck_meter", "missing_reports",
                     "late_data", "duplicate_deliveries", "unit_mixup", "planned_maintenance"}
    missing = next(i for i in incidents if i.kind == "missing_reports")
    assert w.observed(w.by_key[missing.series_key], missing.start) is None
    stuck = next(i for i in incidents if i.kind == "stuck_meter")
    s = w.by_key[stuck.series_key]
    assert len({w.observed(s, t) for t in w.slots(s, stuck.start, stuck.end)}) == 1
    mixup = next(i for i in incidents if i.kind == "unit_mixup")
    s = w.by_key[mixup.series_key]
    assert w.observed(s, mixup.start) == pytest.approx(w.true_value(s, mixup.start) * mixup.factor)
    # served wrong while it lasts and the day after; corrected upstream from then on
    assert w.observed(s, mixup.start, now=mixup.end + 3600) == pytest.approx(w.observed(s, mixup.start))
    assert w.observed(s, mixup.start, now=mixup.end + 86400) == pytest.approx(w.true_value(s, mixup.start))


def _dispatch(key: str, day: str, records: list[Any], **extra: object) -> Payload:
    return _json({"retCode": "0000", "retMsg": "成功", "data": {key: day, **extra, "records": records}})


def test_dispatch_generation_points_are_hours_ending_and_become_hour_starts() -> None:
    res = parsers.parse_dispatch_generation(_dispatch("date", "2026-11-26", [
        {"plantId": "WHRD001", "creditCode": "X", "points": {"01": 11.2345, "24": "9.5"}}], unit="万千瓦时"))
    assert not res.rejected
    assert [(r.indicator, r.entity_kind, r.entity_code, r.time, r.value, r.unit) for r in res.rows] == [
        ("power.generation", "enterprise", "X", datetime(2026, 11, 26, 0, tzinfo=BJ), 11.2345, "万千瓦时"),
        ("power.generation", "enterprise", "X", datetime(2026, 11, 26, 23, tzinfo=BJ), 9.5, "万千瓦时")]


def test_dispatch_generation_rejects_a_plant_record_with_a_bad_point_and_keeps_the_others() -> None:
    good = {"plantId": "WHRD001", "creditCode": "X", "points": {"01": 1.0}}
    res = parsers.parse_dispatch_generation(_dispatch("date", "2026-11-26", [
        good, {**good, "points": {"01": 1.0, "02": "N/A"}}, {**good, "points": {"25": 1.0}},
        {**good, "points": {"00": 1.0}}, {**good, "points": [1.0]}, {**good, "points": {"03": -2}},
        {"plantId": "WHRD001", "creditCode": "X"}]))
    assert [(r.entity_code, r.value) for r in res.rows] == [("X", 1.0)]
    reasons = [r.reason for r in res.rejected]
    assert len(reasons) == 6
    assert "not a number" in reasons[0] and "'25' is not 01-24" in reasons[1] and "'00' is not 01-24" in reasons[2]
    assert "not an object" in reasons[3] and "negative" in reasons[4] and "missing field 'points'" in reasons[5]
    assert all(" / " in r and not r[0].isascii() for r in reasons)  # Chinese first, then English


def test_dispatch_coal_reads_the_stock_in_wan_tonnes_and_its_days_of_burn_for_the_report_day() -> None:
    res = parsers.parse_dispatch_coal(_dispatch("reportDate", "2026-11-26", [
        {"plantId": "WHRD001", "creditCode": "X", "存煤量(万吨)": "2.1345", "日耗煤量(万吨)": "0.1402", "可用天数": "14.8"},
        {"creditCode": "Y", "存煤量(万吨)": "--"}, {"creditCode": "Y", "存煤量(万吨)": "-1"},
        {"creditCode": "Y", "可用天数": "3.0"}]))
    stock, days = res.rows
    assert (stock.indicator, stock.entity_code, stock.time, stock.value, stock.unit) == (
        "coal.plant_stock", "X", datetime(2026, 11, 26, tzinfo=BJ), 2.1345, "万吨")
    assert (days.indicator, days.entity_code, days.time, days.value, days.unit) == (
        "coal.plant_stock_days", "X", datetime(2026, 11, 26, tzinfo=BJ), 14.8, "天")
    reasons = [r.reason for r in res.rejected]
    assert "not a number" in reasons[0] and "negative" in reasons[1] and "missing field '存煤量(万吨)'" in reasons[2]


@pytest.mark.parametrize("doc", [{"retCode": "4010", "retMsg": "应用鉴权失败"}, {"retCode": "0000", "data": []},
                                 {"retCode": "0000", "data": {"date": "2026-11-26", "records": {}}}])
def test_a_dispatch_error_or_a_body_without_records_is_a_payload_error(doc: dict[str, object]) -> None:
    with pytest.raises(PayloadError):
        parsers.parse_dispatch_generation(_json(doc))


def test_the_dispatch_feed_round_trips_through_its_parser() -> None:
    w = World(seed=1)
    d = datetime(2026, 11, 20, tzinfo=BJ)
    now = epoch_s(d) + 3 * 86400
    gen = parsers.parse_dispatch_generation(_json(feeds.dispatch_body(
        "date", d.date(), feeds.dispatch_generation(w, d.date(), now), unit="万千瓦时")))
    stock = parsers.parse_dispatch_coal(_json(feeds.dispatch_body(
        "reportDate", d.date(), feeds.dispatch_coal_stock(w, d.date(), now))))
    assert not gen.rejected and not stock.rejected
    plants = {s.entity.code for s in w.of("power.generation")}
    assert {r.entity_code for r in gen.rows} == {r.entity_code for r in stock.rows} == plants
    s = w.of("power.generation")[0]
    served = {r.time: r.value for r in gen.rows if r.entity_code == s.entity.code}
    t = epoch_s(d) + 5 * 3600
    v = w.observed(s, t, now)
    assert v is not None and served[datetime.fromtimestamp(t, UTC)] == pytest.approx(v / 10000, abs=6e-5)


def test_plant_coal_stock_balances_with_generation_and_saws_between_deliveries() -> None:
    w = World(seed=1)
    s = w.of("coal.plant_stock")[0]
    g = w.generation_of(s)
    first = local_day(epoch_s(datetime(2025, 11, 1, tzinfo=BJ)))
    days = range(first, first + 365)
    for d in days:
        kwh = sum(w.true_value(g, day_start(d) + 3600 * h) for h in range(24))
        assert 0.45e-3 * kwh <= w.coal_burn(g, d) <= 0.7e-3 * kwh  # t raw coal per kWh, more with heat
        assert w.plant_stock(s, d) == pytest.approx(w.plant_stock(s, d - 1) + w.deliveries(s, d) - w.coal_burn(g, d))
    cover = {d: w.plant_stock(s, d) / w.planned_burn(g, d) for d in days}
    shortfalls = [i for i in w.incidents(day_start(first), day_start(first + 365))
                  if i.series_key == s.key and i.kind == "supply_shortfall"]
    quiet = [c for d, c in cover.items() if not any(i.start <= day_start(d) < i.end + 7 * 86400 for i in shortfalls)]
    assert min(quiet) >= 8 and max(quiet) <= 25
    winter = [c for d, c in cover.items() if date_of(d).month == 1]
    summer = [c for d, c in cover.items() if date_of(d).month == 7]
    assert sum(winter) / len(winter) < sum(summer) / len(summer) - 2  # winter stocks run tighter
    arrivals = [w.deliveries(s, d) for d in days if w.deliveries(s, d) > 0]
    assert 30 <= len(arrivals) <= 150  # lumps every few days, not a daily trickle
    assert sum(1 for a in arrivals if a >= 2500) > 0.9 * len(arrivals)  # train loads


def test_a_supply_shortfall_takes_the_stock_below_its_usual_low() -> None:
    w = World(seed=1)
    start = epoch_s(datetime(2025, 1, 1, tzinfo=UTC))
    shortfalls = [i for i in w.incidents(start, start + 365 * 86400) if i.kind == "supply_shortfall"]
    assert shortfalls and all(i.label()["anomaly"] for i in shortfalls)
    deeper = 0
    for i in shortfalls:
        s = w.by_key[i.series_key]
        g = w.generation_of(s)
        end_day = local_day(i.end) - 1
        planned_low = 15 - 5 * heating_intensity(end_day) - 1  # the lowest a normal cycle goes
        deeper += w.plant_stock(s, end_day) / w.planned_burn(g, end_day) < planned_low
    assert deeper > 0.8 * len(shortfalls)


def test_a_plant_shutdown_stops_its_generation_and_its_consumption() -> None:
    w = World(seed=1)
    start = epoch_s(datetime(2025, 1, 1, tzinfo=UTC))
    [i, *_] = [i for i in w.incidents(start, start + 365 * 86400)
               if i.kind == "shutdown" and i.series_key.startswith("power.generation")]
    code = i.series_key.split("|")[2]
    gen, use = w.by_key[i.series_key], w.by_key[f"power.consumption|enterprise|{code}"]
    t = i.start + 6 * 3600
    assert w.true_value(gen, t) < 0.1 * w.true_value(gen, t - 14 * 86400)
    assert w.true_value(use, t // 900 * 900) < 0.1 * w.true_value(use, (t - 14 * 86400) // 900 * 900)


def test_chp_generation_is_higher_and_flatter_in_winter_and_follows_demand_in_summer() -> None:
    w = World(seed=1)
    g = w.of("power.generation")[0]

    def day(d: str) -> list[float]:
        t0 = epoch_s(datetime.fromisoformat(f"{d}T00:00:00+08:00"))
        return [w.true_value(g, t0 + 3600 * h) for h in range(24)]

    jan, jul = day("2026-01-14"), day("2026-07-14")
    assert sum(jan) > 1.25 * sum(jul)
    assert max(jul) / min(jul) > max(jan) / min(jan)
    assert jul[20] > 1.1 * jul[3]  # the evening peak
