"""The importer's pure part on hand-written files in every shape official data comes in."""

from __future__ import annotations

import io

import openpyxl
import pytest
import xlwt

from backend.statistics.layout import LayoutError, read_layout
from backend.statistics.mapping import MappingError, parse_mapping
from backend.statistics.rules import QUALITY_DERIVED, QUALITY_PUBLISHED, derive, plan_import
from backend.statistics.tables import read_table
from tests.statistics.support import REGISTRY, values

P, D = QUALITY_PUBLISHED, QUALITY_DERIVED


def test_a_long_table_stores_month_and_ytd_and_rejects_bad_rows_with_reasons(plan_for):
    plan = plan_for("long_wuhai.csv", "long_wuhai.yaml")
    got = values(plan)
    assert got == {
        # 1-2月 累计 45.6 亿元 -> February YTD, in 万元; January/February month values stay empty
        ("econ.value_added.ytd", "city", 0, "2021-02"): (456000.0, P),
        ("econ.value_added", "city", 0, "2021-03"): (213000.0, P),
        ("econ.value_added.ytd", "city", 0, "2021-03"): (669000.0, P),
        ("econ.value_added", "city", 0, "2021-04"): (221000.0, P),  # " 22.1 " with stray spaces
        ("econ.value_added.ytd", "city", 0, "2021-04"): (890000.0, D),  # 669000 + 221000
        ("stats.raw_coal", "district", 3, "2021-04"): (12345000.0, P),  # "1,234.5" 万吨 -> t
        ("stats.power_generation", "city", 0, "2021-04"): (1250000000.0, P),  # 12.5 亿千瓦时 -> kWh
    }
    reasons = {r.location: r.reason for r in plan.rejections}
    assert set(reasons) == {"H8", "H9", "H11"}
    assert "region not in mapping: 150399" in reasons["H8"]
    assert "not a number: 'abc'" in reasons["H9"]
    assert "indicator not in mapping: A05" in reasons["H11"]
    assert all(r.raw for r in plan.rejections)
    assert "某某区" in next(r.raw for r in plan.rejections if r.location == "H8")
    assert plan.not_published == 1  # the YTD written as 0


def test_a_gbk_wide_table_with_two_header_rows_reads_months_over_measures(plan_for):
    plan = plan_for("wide_two_header_gbk.csv", "wide_two_header.yaml")
    got = values(plan)
    assert got[("stats.raw_coal", "city", 0, "2021-09")] == (23456000.0, P)
    assert got[("stats.raw_coal.ytd", "city", 0, "2021-09")] == (180002000.0, P)
    assert got[("stats.raw_coal", "city", 0, "2021-08")] == (22000000.0, P)
    assert got[("stats.raw_coal.ytd", "city", 0, "2021-08")] == (156546000.0, P)
    assert ("stats.coke", "city", 0, "2021-08") not in got  # "-": not published
    assert got[("stats.carbide.ytd", "city", 0, "2021-08")] == (1153000.0, P)
    assert len(got) == 11
    assert plan.rejections == []
    assert plan.not_published == 1
    # 其中：冶金焦 is not mapped and the mapping says to ignore what it does not map
    assert sum(plan.ignored.values()) == 4


def test_the_statistics_bureau_export_with_preamble_and_measure_in_the_label(plan_for):
    plan = plan_for("nbs_export_bom.csv", "nbs_export.yaml")
    got = values(plan)
    # 内蒙古自治区 (from "地区：" in the preamble) -> city entity 150000
    assert got[("stats.power_generation", "city", 150000, "2021-09")] == (52030000000.0, P)
    assert got[("stats.power_generation.ytd", "city", 150000, "2021-02")] == (97040000000.0, P)
    # March month value not published: derived from the YTD values of February and March
    assert got[("stats.power_generation", "city", 150000, "2021-03")] == (48020000000.0, D)
    assert ("stats.power_generation", "city", 150000, "2021-02") not in got
    assert ("stats.power_generation", "city", 150000, "2021-01") not in got
    assert len(plan.published) == 8
    assert sum(plan.ignored.values()) == 9  # growth rates: not mapped, so not stored
    assert plan.rejections == []


def test_a_gb18030_long_table_with_month_and_ytd_columns_and_province_codes(plan_for):
    plan = plan_for("provinces_gbk.csv", "provinces.yaml")
    got = values(plan)
    assert got[("stats.raw_coal.ytd", "city", 150000, "2021-02")] == (170123000.0, P)
    assert got[("stats.raw_coal", "city", 150000, "2021-03")] == (102531000.0, P)
    assert got[("stats.raw_coal", "city", 140000, "2021-03")] == (98765000.0, P)
    assert got[("stats.raw_coal", "city", 0, "2021-03")] == (3124000.0, P)  # 150300 is our own city
    assert [(r.location, "2021年13月" in r.reason) for r in plan.rejections] == [("E6", True), ("F6", True)]


def test_months_down_and_indicators_across_with_ytd_only_derive_the_month_values(plan_for):
    plan = plan_for("time_rows.csv", "time_rows.yaml")
    got = values(plan)
    assert got == {
        ("econ.value_added.ytd", "city", 0, "2021-02"): (456000.0, P),
        ("econ.value_added.ytd", "city", 0, "2021-03"): (669000.0, P),
        ("econ.value_added.ytd", "city", 0, "2021-04"): (890000.0, P),
        ("econ.value_added_growth.ytd", "city", 0, "2021-02"): (18.2, P),
        ("econ.value_added_growth.ytd", "city", 0, "2021-03"): (15.1, P),
        ("econ.value_added_growth.ytd", "city", 0, "2021-04"): (13.0, P),
        ("econ.value_added", "city", 0, "2021-03"): (213000.0, D),
        ("econ.value_added", "city", 0, "2021-04"): (221000.0, D),
    }


def _xlsx(rows: list[list[object]], merges: list[str]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    for m in merges:
        ws.merge_cells(m)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_an_xlsx_with_merged_month_headers_and_districts_as_rows(catalogue, units):
    data = _xlsx([
        ["2021年乌海市分地区规模以上工业增加值"],
        ["指标：规模以上工业增加值（亿元）"],
        ["地区", "2021年9月", None, "2021年1-2月", None],
        [None, "当月", "累计", "当月", "累计"],
        ["海勃湾区", 5.1, 40.2, None, 9.9],
        ["乌达区", "6.3", "51.0", "", "12.4"],
        ["滨河新区", 0, 0, 0, 0],
        ["注：滨河新区数据暂未公布"],
    ], ["B3:C3", "D3:E3", "A3:A4"])
    mapping = parse_mapping({"auto_regions": True, "indicators": {"规模以上工业增加值": "econ.value_added"}})
    grid, fmt = read_table(data, "by_district.xlsx")
    assert fmt == "xlsx"
    plan = plan_import(read_layout(grid, mapping.layout), mapping, catalogue, units, REGISTRY)
    got = values(plan)
    assert got == {
        ("econ.value_added", "district", 1, "2021-09"): (51000.0, P),
        ("econ.value_added.ytd", "district", 1, "2021-09"): (402000.0, P),
        ("econ.value_added.ytd", "district", 1, "2021-02"): (99000.0, P),
        ("econ.value_added", "district", 3, "2021-09"): (63000.0, P),
        ("econ.value_added.ytd", "district", 3, "2021-09"): (510000.0, P),
        ("econ.value_added.ytd", "district", 3, "2021-02"): (124000.0, P),
    }
    assert plan.not_published == 6  # blanks and zeros
    assert plan.rejections == []


def test_a_legacy_xls_workbook_is_read(catalogue, units):
    wb = xlwt.Workbook()
    ws = wb.add_sheet("月报")
    rows: list[list[str | float]] = [["指标", "单位", "时间", "值"], ["原煤产量", "万吨", "2021年5月", 321.5]]
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            ws.write(i, j, v)
    buf = io.BytesIO()
    wb.save(buf)
    mapping = parse_mapping({"region": "乌海市", "regions": {"乌海市": "city"}, "measure": "当月",
                             "indicators": {"原煤产量": "stats.raw_coal"}})
    grid, fmt = read_table(buf.getvalue(), "monthly.xls")
    assert fmt == "xls"
    plan = plan_import(read_layout(grid, mapping.layout), mapping, catalogue, units, REGISTRY)
    assert values(plan) == {("stats.raw_coal", "city", 0, "2021-05"): (3215000.0, P)}


def test_a_month_value_without_a_unit_anywhere_is_rejected_not_guessed(catalogue, units):
    mapping = parse_mapping({"region": "乌海市", "regions": {"乌海市": "city"},
                             "indicators": {"原煤产量": {"month": "stats.raw_coal", "measure": "month"}}})
    grid = [["指标", "时间", "值"], ["原煤产量", "2021-05", "321.5"]]
    plan = plan_import(read_layout(grid, mapping.layout), mapping, catalogue, units, REGISTRY)
    assert plan.facts == []
    assert "no unit" in plan.rejections[0].reason


def test_a_unit_of_another_dimension_is_rejected(catalogue, units):
    mapping = parse_mapping({"region": "乌海市", "regions": {"乌海市": "city"}, "measure": "month",
                             "indicators": {"原煤产量": "stats.raw_coal"}})
    grid = [["指标", "单位", "时间", "值"], ["原煤产量", "亿千瓦时", "2021-05", "3"]]
    plan = plan_import(read_layout(grid, mapping.layout), mapping, catalogue, units, REGISTRY)
    assert "cannot convert" in plan.rejections[0].reason


def test_the_same_month_twice_with_different_values_rejects_the_second(catalogue, units):
    mapping = parse_mapping({"region": "乌海市", "regions": {"乌海市": "city"}, "measure": "month", "unit": "万吨",
                             "indicators": {"原煤产量": "stats.raw_coal"}})
    grid = [["指标", "时间", "值"], ["原煤产量", "2021-05", "3"], ["原煤产量", "202105", "3"],
            ["原煤产量", "2021年5月", "4"]]
    plan = plan_import(read_layout(grid, mapping.layout), mapping, catalogue, units, REGISTRY)
    assert len(plan.facts) == 1 and plan.facts[0].value == 30000.0
    assert [r.location for r in plan.rejections] == ["C4"]
    assert "conflicts with C2" in plan.rejections[0].reason


def test_a_month_value_for_several_months_other_than_jan_feb_is_rejected(catalogue, units):
    mapping = parse_mapping({"region": "乌海市", "regions": {"乌海市": "city"}, "unit": "万吨",
                             "indicators": {"原煤产量": "stats.raw_coal"}})
    grid = [["指标", "时间", "口径", "值"], ["原煤产量", "2021年1-3月", "当月", "3"],
            ["原煤产量", "2021年3-5月", "累计", "3"]]
    plan = plan_import(read_layout(grid, mapping.layout), mapping, catalogue, units, REGISTRY)
    assert plan.facts == []
    assert "a month value for 2021年1-3月" in plan.rejections[0].reason
    assert "must start in January" in plan.rejections[1].reason


def test_derivation_chains_through_the_year_and_restarts_in_january(catalogue):
    from backend.statistics.parsing import Measure
    from backend.statistics.rules import Fact

    mapping = parse_mapping({"indicators": {"x": "stats.raw_coal"}})
    facts = [Fact("stats.raw_coal", "city", 0, 2021, 1, 10.0, Measure.MONTH, "A1"),
             Fact("stats.raw_coal", "city", 0, 2021, 2, 12.0, Measure.MONTH, "A2"),
             Fact("stats.raw_coal.ytd", "city", 0, 2021, 4, 50.0, Measure.YTD, "A3"),
             Fact("stats.raw_coal", "city", 0, 2021, 3, 13.0, Measure.MONTH, "A4"),
             Fact("stats.raw_coal.ytd", "city", 0, 2022, 1, 9.0, Measure.YTD, "A5")]
    derived, warnings = derive(facts, mapping, catalogue)
    got = {(f.indicator_code, f.year, f.month): f.value for f in derived}
    assert got == {("stats.raw_coal.ytd", 2021, 1): 10.0, ("stats.raw_coal.ytd", 2021, 2): 22.0,
                   ("stats.raw_coal.ytd", 2021, 3): 35.0, ("stats.raw_coal", 2021, 4): 15.0,
                   ("stats.raw_coal", 2022, 1): 9.0}
    assert warnings == []


def test_a_falling_ytd_derives_no_negative_month_value(catalogue):
    from backend.statistics.parsing import Measure
    from backend.statistics.rules import Fact

    mapping = parse_mapping({"indicators": {"x": "stats.raw_coal"}})
    facts = [Fact("stats.raw_coal.ytd", "city", 0, 2021, 3, 50.0, Measure.YTD, "A1"),
             Fact("stats.raw_coal.ytd", "city", 0, 2021, 4, 45.0, Measure.YTD, "A2")]
    derived, warnings = derive(facts, mapping, catalogue)
    assert derived == [] and "YTD falls" in warnings[0]


def test_growth_rates_are_never_derived_or_summed(catalogue):
    from backend.statistics.parsing import Measure
    from backend.statistics.rules import Fact

    mapping = parse_mapping({"indicators": {"x": {"month": "econ.value_added_growth",
                                                  "ytd": "econ.value_added_growth.ytd"}}})
    facts = [Fact("econ.value_added_growth", "city", 0, 2021, 1, 5.0, Measure.MONTH, "A1")]
    assert derive(facts, mapping, catalogue) == ([], [])


def test_a_table_without_a_header_says_so():
    with pytest.raises(LayoutError, match="no header row"):
        read_layout([["a", "b"], ["1", "2"]])


@pytest.mark.parametrize("doc, message", [
    ({"indicators": {"x": 5}}, "give an indicator code"),
    ({"regions": {"x": {"kind": "province"}}}, "kind must be one of"),
    ({"columns": {"colour": "颜色"}}, "unknown roles"),
    ({"period": "someday"}, "cannot read"),
    ({"flavour": 1}, "unknown keys"),
])
def test_bad_mappings_are_refused_with_the_reason(doc, message):
    with pytest.raises(MappingError, match=message):
        parse_mapping(doc)


def test_the_national_total_never_becomes_our_city(catalogue, units):
    mapping = parse_mapping({"auto_regions": True, "unit": "万吨", "measure": "month",
                             "indicators": {"原煤产量": "stats.raw_coal"}})
    grid = [["指标", "地区", "时间", "值"], ["原煤产量", "全国", "2021-05", "30000"],
            ["原煤产量", "内蒙古", "2021-05", "9000"]]
    plan = plan_import(read_layout(grid, mapping.layout), mapping, catalogue, units, REGISTRY)
    assert values(plan) == {("stats.raw_coal", "city", 150000, "2021-05"): (90000000.0, P)}
    assert "region not in mapping: 全国" in plan.rejections[0].reason


def test_a_csv_with_lone_carriage_returns_reads_and_an_unreadable_one_is_a_table_error() -> None:
    from backend.statistics.tables import TableError

    grid, _ = read_table("指标,时间,值\r原煤,202109,1\r".encode(), "old-mac.csv")
    assert grid == [["指标", "时间", "值"], ["原煤", "202109", "1"]]
    with pytest.raises(TableError, match="CSV"):
        read_table(("a," + "x" * 200_000 + "\n").encode(), "huge-cell.csv")
