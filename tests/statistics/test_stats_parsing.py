"""Pure parsing of periods, numbers, measures, labels and units as official tables write them."""

from __future__ import annotations

import pytest

from backend.statistics.parsing import (
    Measure,
    NumberError,
    Period,
    normalise_unit,
    parse_measure,
    parse_number,
    parse_period,
    remove_periods,
    split_label,
)
from backend.statistics.tables import decode_text, read_csv


@pytest.mark.parametrize("text, expected", [
    ("202109", Period(2021, 9, 9)),
    ("2021-09", Period(2021, 9, 9)),
    ("2021/9", Period(2021, 9, 9)),
    ("2021.09", Period(2021, 9, 9)),
    ("2021年9月", Period(2021, 9, 9)),
    ("2021年09月份", Period(2021, 9, 9)),
    (" 2021 年 9 月 ", Period(2021, 9, 9)),
    ("2021M09", Period(2021, 9, 9)),
    ("2021年1-2月", Period(2021, 1, 2)),
    ("2021年1—2月", Period(2021, 1, 2)),
    ("2021年1～9月", Period(2021, 1, 9)),
    ("2021年1月-9月", Period(2021, 1, 9)),
    ("2021年9月规模以上工业主要产品产量", Period(2021, 9, 9)),
])
def test_periods_are_read_in_every_official_spelling(text: str, expected: Period):
    assert parse_period(text) == expected


def test_a_period_without_a_year_takes_the_year_from_context():
    assert parse_period("1-9月", year=2021) == Period(2021, 1, 9)
    assert parse_period("9月", year=2021) == Period(2021, 9, 9)
    assert parse_period("9月") == Period(None, 9, 9)


@pytest.mark.parametrize("text", ["2021年13月", "202113", "最近13个月", "", "abc", "2021年3-2月"])
def test_impossible_or_absent_periods_give_none(text: str):
    assert parse_period(text) is None


@pytest.mark.parametrize("text, expected", [
    ("1,234.5", 1234.5), (" 22.1 ", 22.1), ("1 234", 1234.0), ("12\u3000345", 12345.0), ("１２.５", 12.5),
    ("8.1%", 8.1), ("-3.2", -3.2), ("123.4*", 123.4), ("(5)", -5.0), ("1e3", 1000.0),
])
def test_numbers_tolerate_separators_spaces_and_marks(text: str, expected: float):
    assert parse_number(text) == expected


@pytest.mark.parametrize("text", ["", " ", "-", "--", "—", "…", "...", "x", "0", "0.0", "0.00"])
def test_blank_dash_and_zero_mean_not_published(text: str):
    assert parse_number(text) is None


def test_zero_is_a_value_when_the_mapping_says_so():
    assert parse_number("0", zero_is_missing=False) == 0.0


@pytest.mark.parametrize("text", ["abc", "12..3", "1,23", "12a"])
def test_garbage_is_not_a_number(text: str):
    with pytest.raises(NumberError):
        parse_number(text)


@pytest.mark.parametrize("text, expected", [
    ("当月", Measure.MONTH), ("本月", Measure.MONTH), ("当期值", Measure.MONTH),
    ("累计", Measure.YTD), ("1-本月累计", Measure.YTD), ("1-9月", Measure.YTD), ("本年累计", Measure.YTD),
    ("同比增长(%)", Measure.GROWTH_MONTH), ("本月比上年同月增长%", Measure.GROWTH_MONTH),
    ("累计增长(%)", Measure.GROWTH_YTD), ("1-本月比上年同期增长", Measure.GROWTH_YTD),
    ("上年同期累计", Measure.OTHER), ("比重", Measure.OTHER), ("值", None),
])
def test_measures_are_recognised(text: str, expected: Measure | None):
    assert parse_measure(text) == expected


def test_a_header_measure_is_read_without_its_period():
    assert parse_measure(remove_periods("2021年1-2月 当月")) == Measure.MONTH
    assert parse_measure(remove_periods("2021年9月")) is None


def test_exported_labels_split_into_name_measure_and_unit():
    lab = split_label("发电量当期值(亿千瓦时)")
    assert (lab.base, lab.unit, lab.measure) == ("发电量", "亿千瓦时", Measure.MONTH)
    lab = split_label("原煤产量累计值（万吨）")
    assert (lab.base, lab.unit, lab.measure) == ("原煤产量", "万吨", Measure.YTD)
    lab = split_label("规模以上工业增加值_累计增长(%)")
    assert (lab.base, lab.unit, lab.measure) == ("规模以上工业增加值", "%", Measure.GROWTH_YTD)
    lab = split_label(" 原 煤 ")
    assert (lab.full, lab.base, lab.unit, lab.measure) == ("原煤", "原煤", None, None)


@pytest.mark.parametrize("text, expected", [
    ("万 吨", "万吨"), ("（亿千瓦小时）", "亿千瓦时"), ("单位：万吨", "万吨"), ("万千瓦时", "万千瓦时"),
    ("吨标煤", "吨标准煤"), ("％", "%"), ("", None),
])
def test_units_are_normalised_to_catalogue_spelling(text: str, expected: str | None):
    assert normalise_unit(text) == expected


def test_csv_encodings_are_detected():
    text = "指标,值\n原煤,1\n"
    assert decode_text(text.encode("utf-8")) == (text, "utf-8")
    assert decode_text(b"\xef\xbb\xbf" + text.encode("utf-8")) == (text, "utf-8-sig")
    assert decode_text(text.encode("gbk")) == (text, "gb18030")
    assert decode_text(text.encode("utf-16")) == (text, "utf-16")


def test_tab_separated_files_are_split_on_tabs():
    rows, _ = read_csv("指标\t值\n原煤\t1,234\n".encode())
    assert rows == [["指标", "值"], ["原煤", "1,234"]]
