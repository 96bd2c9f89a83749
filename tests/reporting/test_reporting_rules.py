"""Pure rules of direct reporting: deadlines, validation, review flags, completeness."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from backend.catalogue.service import read_catalogue
from backend.reporting.rules import (
    ReportError,
    Rule,
    Status,
    check_month_closed,
    classify,
    completed_at,
    default_due_at,
    indicator_code,
    month_of,
    review_flags,
    validate_value,
)
from backend.reporting.upload import UploadError, parse_upload

TZ = "Asia/Shanghai"
SH = ZoneInfo(TZ)


@pytest.fixture(scope="module")
def units() -> dict[str, tuple[str, float]]:
    out: dict[str, tuple[str, float]] = {}
    for u in read_catalogue()["units"]:
        out[u["code"]] = out[u["name_zh"]] = (u["dimension"], u["factor"])
    return out


def test_the_default_deadline_is_the_end_of_the_8th_of_the_next_month_local_time():
    assert default_due_at(date(2026, 10, 1), 8, TZ) == datetime(2026, 11, 9, tzinfo=SH)
    assert default_due_at(date(2026, 12, 1), 8, TZ) == datetime(2027, 1, 9, tzinfo=SH)
    assert default_due_at(date(2026, 10, 1), 15, TZ) == datetime(2026, 11, 16, tzinfo=SH)


def test_a_month_can_be_reported_only_after_it_ended():
    check_month_closed(date(2026, 10, 1), datetime(2026, 11, 1, 0, 0, tzinfo=SH), TZ)
    with pytest.raises(ReportError, match="has not ended"):
        check_month_closed(date(2026, 10, 1), datetime(2026, 10, 31, 23, 59, tzinfo=SH), TZ)


@pytest.mark.parametrize("text, month", [("2026-10", date(2026, 10, 1)), ("202610", date(2026, 10, 1)),
                                         ("2026年10月", date(2026, 10, 1))])
def test_reporting_months_are_read(text: str, month: date):
    assert month_of(text) == month


def test_a_reporting_month_range_is_refused():
    with pytest.raises(ReportError):
        month_of("2026年1-2月")


def test_form_labels_name_indicators():
    assert indicator_code("工业总产值（万元）") == "econ.gross_output"
    assert indicator_code("econ.revenue") == "econ.revenue"
    assert indicator_code("综合能耗(吨标准煤)") == "energy.consumption"
    assert indicator_code("利润总额") is None


def test_values_convert_to_the_storage_unit(units):
    assert validate_value("econ.gross_output", "1,234.5", "万元", "10k_yuan", units) == 1234.5
    assert validate_value("econ.gross_output", 1.5, "亿元", "10k_yuan", units) == 15000.0
    assert validate_value("econ.main_product_output", "2.5", "万吨", "t", units) == 25000.0
    assert validate_value("energy.consumption", 800, None, "tce", units) == 800.0


@pytest.mark.parametrize("code, value, unit, message", [
    ("econ.gross_output", "abc", "万元", "not a number"),
    ("econ.gross_output", True, "万元", "not a number"),
    ("econ.gross_output", "", "万元", "no value"),
    ("econ.gross_output", float("inf"), "万元", "not a finite"),
    ("econ.gross_output", 100, "吨", "cannot convert"),
    ("econ.gross_output", 100, "斤", "unknown unit"),
    ("econ.gross_output", -5, "万元", "outside"),
    ("econ.gross_output", 2e7, "万元", "outside"),
    ("econ.revenue", 5e6, "亿元", "outside"),
    ("econ.fai_industrial", 5, "万元", "not reported directly"),
])
def test_impossible_values_are_rejected_with_the_reason(units, code, value, unit, message):
    with pytest.raises(ReportError, match=message):
        validate_value(code, value, unit, "10k_yuan" if code.startswith("econ") else "t", units)


def test_negative_value_added_is_allowed(units):
    assert validate_value("econ.value_added", -20, "万元", "10k_yuan", units) == -20.0


def _rules(flags):
    return {(f.indicator_code, f.rule) for f in flags}


def test_a_month_on_month_jump_beyond_the_threshold_is_flagged_not_a_small_move():
    flags = review_flags({"econ.revenue": 1600.0, "econ.gross_output": 1100.0},
                         {"econ.revenue": 1000.0, "econ.gross_output": 1000.0}, None, None,
                         jump_ratio=0.5, power_ratio=0.5)
    assert _rules(flags) == {("econ.revenue", Rule.MOM_JUMP)}
    assert flags[0].detail["change"] == pytest.approx(0.6)
    assert "环比+60%" in flags[0].message


def test_a_drop_is_a_jump_too_and_no_history_means_no_jump():
    assert _rules(review_flags({"econ.revenue": 400.0}, {"econ.revenue": 1000.0}, None, None,
                               jump_ratio=0.5, power_ratio=0.5)) == {("econ.revenue", Rule.MOM_JUMP)}
    assert review_flags({"econ.revenue": 400.0}, {}, None, None, jump_ratio=0.5, power_ratio=0.5) == []


def test_value_added_above_gross_output_is_flagged():
    flags = review_flags({"econ.gross_output": 100.0, "econ.value_added": 120.0}, {}, None, None,
                         jump_ratio=0.5, power_ratio=0.5)
    assert _rules(flags) == {("econ.value_added", Rule.VALUE_ADDED_ABOVE_OUTPUT)}


def test_energy_below_the_electricity_it_metered_is_flagged():
    # 10 GWh metered = 1,229 tce at 0.1229 kgce/kWh; reporting 1,000 tce in total is impossible
    flags = review_flags({"energy.consumption": 1000.0}, {}, 10_000_000.0, None, jump_ratio=0.5, power_ratio=0.5)
    assert _rules(flags) == {("energy.consumption", Rule.ENERGY_BELOW_ELECTRICITY)}
    assert review_flags({"energy.consumption": 1300.0}, {}, 10_000_000.0, None, jump_ratio=0.5,
                        power_ratio=0.5) == []


def test_output_that_moves_against_electricity_use_is_flagged():
    # output up 40% (under the jump threshold) while power fell 30%: intensity -50%
    flags = review_flags({"econ.main_product_output": 14000.0}, {"econ.main_product_output": 10000.0},
                         700_000.0, 1_000_000.0, jump_ratio=0.5, power_ratio=0.4)
    assert _rules(flags) == {("econ.main_product_output", Rule.POWER_INTENSITY)}
    # output and power moving together: fine
    assert review_flags({"econ.main_product_output": 14000.0}, {"econ.main_product_output": 10000.0},
                        1_400_000.0, 1_000_000.0, jump_ratio=0.5, power_ratio=0.4) == []


def test_output_with_zero_metered_power_is_flagged_but_unmetered_is_not():
    assert _rules(review_flags({"econ.main_product_output": 500.0}, {}, 0.0, None, jump_ratio=0.5,
                               power_ratio=0.5)) == {("econ.main_product_output", Rule.OUTPUT_WITHOUT_POWER)}
    assert review_flags({"econ.main_product_output": 500.0}, {}, None, None, jump_ratio=0.5, power_ratio=0.5) == []


DUE = datetime(2026, 11, 9, tzinfo=SH)


@pytest.mark.parametrize("done, now, status", [
    (datetime(2026, 11, 5, tzinfo=SH), datetime(2026, 11, 20, tzinfo=SH), Status.REPORTED),
    (datetime(2026, 11, 8, 23, 59, tzinfo=SH), datetime(2026, 11, 20, tzinfo=SH), Status.REPORTED),
    (datetime(2026, 11, 9, 0, 0, tzinfo=SH), datetime(2026, 11, 20, tzinfo=SH), Status.LATE),
    (None, datetime(2026, 11, 9, 0, 0, tzinfo=SH), Status.MISSING),
    (None, datetime(2026, 11, 8, 12, 0, tzinfo=SH), Status.PENDING),
])
def test_completeness_is_classified_against_the_deadline(done, now, status):
    assert classify(done, DUE, now) == status


def test_a_report_is_complete_when_the_last_required_indicator_first_arrived():
    t1, t2 = datetime(2026, 11, 3, tzinfo=UTC), datetime(2026, 11, 10, tzinfo=UTC)
    firsts = {"econ.gross_output": t1, "econ.revenue": t1, "econ.value_added": t2, "energy.consumption": t1,
              "econ.main_product_output": t1}
    assert completed_at(firsts) == t2
    del firsts["econ.revenue"]
    assert completed_at(firsts) is None


def test_the_wide_form_gives_one_value_per_filled_cell():
    grid = [["2026年10月工业企业月报"],
            ["统一社会信用代码", "企业名称", "报告期", "工业总产值(万元)", "营业收入（万元）", "综合能耗(吨标准煤)"],
            ["91150300MA0N000001", "示例", "2026-10", "1,200", "", "350"]]
    values, problems = parse_upload(grid)
    assert [(v.location, v.indicator_code, v.value, v.unit) for v in values] == [
        ("D3", "econ.gross_output", "1,200", "万元"), ("F3", "energy.consumption", "350", "吨标准煤")]
    assert problems == []


def test_the_long_form_reads_indicator_value_and_unit_and_reports_unknown_indicators():
    grid = [["报告期", "指标", "数值", "单位"], ["2026-10", "工业增加值", "300", "万元"],
            ["2026-10", "利润总额", "5", "万元"]]
    values, problems = parse_upload(grid)
    assert [(v.indicator_code, v.value, v.unit, v.uscc) for v in values] == [("econ.value_added", "300", "万元", "")]
    assert problems[0].location == "B3" and "利润总额" in problems[0].reason


def test_a_file_that_is_no_reporting_form_is_refused():
    with pytest.raises(UploadError):
        parse_upload([["a", "b"], ["1", "2"]])
