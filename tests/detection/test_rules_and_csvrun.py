"""Rule checks, the missing-data check and detect-csv's file handling."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from backend.detection import (
    DetectorConfig,
    StreamingDetector,
    TargetRule,
    ThresholdRule,
    YoYRule,
    missing_data,
)
from backend.detection.csvrun import REPORT_NAME, parse_times, read_values, run_directory

T = dt.datetime(2024, 3, 5, 8, 0)


def test_a_threshold_rule_fires_outside_its_limits_only() -> None:
    rule = ThresholdRule(lower=100, upper=200)
    assert rule.check(T, 150) is None
    low = rule.check(T, 90)
    assert low is not None and low.check == "threshold" and "低于下限 100" in low.message_zh
    assert rule.check(T, 201) is not None


def test_a_yoy_rule_fires_when_growth_falls_below_its_floor() -> None:
    rule = YoYRule(min_pct=-10)
    assert rule.check(T, 95, last_year=100) is None
    hit = rule.check(T, 80, last_year=100)
    assert hit is not None and "同比 -20.0%" in hit.message_zh
    assert rule.check(T, 80, last_year=None) is None


def test_a_target_rule_fires_when_short_of_target_beyond_tolerance() -> None:
    rule = TargetRule(target=1000, tolerance_pct=5)
    assert rule.check(T, 960) is None
    assert rule.check(T, 940) is not None
    assert rule.check(T, 1200) is None
    assert TargetRule(target=1000, tolerance_pct=5, two_sided=True).check(T, 1200) is not None


def test_a_rule_makes_the_detector_alarm_and_explain() -> None:
    det = StreamingDetector(DetectorConfig(warmup=5), rules=[ThresholdRule(lower=50)])
    s = None
    for i in range(20):
        s = det.update(T + dt.timedelta(hours=i), 100.0 + (i % 3) if i < 19 else 40.0)
    assert s is not None
    assert "threshold" in s.checks and s.score >= 0.9
    assert "低于下限 50" in s.explanation_zh and s.since == s.timestamp


def test_missing_data_fires_only_after_the_deadline_and_grace() -> None:
    last = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
    day, grace = dt.timedelta(days=1), dt.timedelta(hours=6)
    assert missing_data(last, day, last + day + grace, grace) is None
    late = missing_data(last, day, last + day + grace + dt.timedelta(hours=3), grace)
    assert late is not None and late.check == "missing" and "已逾期 3.0 小时" in late.message_zh
    assert missing_data(None, day, last, grace) is None
    # Times read in Beijing time: last seen 2024-03-01 00:00 UTC = 08:00, deadline +30 h = 03-02 14:00.
    assert "应于 2024-03-02 14:00 前报送" in late.message_zh and "最近一次 2024-03-01 08:00" in late.message_zh


def test_detect_csv_mirrors_the_tree_and_writes_timestamp_and_anomaly_score(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    stamps = pd.date_range("2024-01-01", periods=300, freq="h").strftime("%Y-%m-%d %H:%M:%S")
    rng = np.random.default_rng(0)
    for rel in ("a/b/one.csv", "two.csv"):
        p = src / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        values = rng.normal(10, 1, len(stamps))
        values[250] = 40
        pd.DataFrame({"timestamp": stamps, "value": values}).to_csv(p, index=False)
    (src / "notes.txt").write_text("not a csv")
    assert run_directory(src, out).files == 2
    for rel in ("a/b/one.csv", "two.csv"):
        got = pd.read_csv(out / rel)
        assert list(got.columns) == ["timestamp", "anomaly_score"]
        assert list(got["timestamp"]) == list(stamps)
        assert got["anomaly_score"].between(0, 1).all()
        assert got["anomaly_score"].idxmax() == 250
    assert not (out / "notes.txt").exists()


def test_detect_csv_reads_a_bureau_table_chinese_months_and_thousands_separators(tmp_path: Path) -> None:
    # 2015-2022 as a bureau writes it: 2016年1-2月 (January and February as one figure,
    # dated February), 2016年3月, ...; values with thousands separators; one value missing.
    rng = np.random.default_rng(5)
    labels, values = [], []
    for year in range(2015, 2023):
        for month in range(2, 13):
            base = 1000.0 * 1.05 ** (year - 2015 + month / 12) * (1 + rng.normal(0, 0.015))
            v = base * (2.0 if month == 2 else 1.0) * (0.75 if (year, month) == (2020, 2) else 1.0)
            labels.append(f"{year}年1-2月" if month == 2 else f"{year}年{month}月")
            values.append(f"{v:,.1f}")
    values[40] = ""
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    pd.DataFrame({"timestamp": labels, "value": values}).to_csv(src / "output.csv", index=False)
    assert run_directory(src, out).files == 1
    got = pd.read_csv(out / "output.csv")
    assert list(got["timestamp"]) == labels
    assert got["anomaly_score"].between(0, 1).all() and got["anomaly_score"][40] == 0.0
    top = got["timestamp"][got["anomaly_score"].idxmax()]
    assert top == "2020年1-2月", got.sort_values("anomaly_score").tail(5)
    assert got["anomaly_score"].max() >= 0.5


def test_detect_csv_keeps_bad_rows_and_files_out_and_scores_the_rest(tmp_path: Path) -> None:
    # Bad input loses nothing: an unreadable timestamp or value is rejected with its line
    # and reason (scored 0, its text kept in the output), a file without the columns is
    # reported and skipped, and everything else is scored as if they were not there.
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    stamps = pd.date_range("2024-01-01", periods=300, freq="h").strftime("%Y-%m-%d %H:%M")
    rng = np.random.default_rng(3)
    values = rng.normal(10, 1, len(stamps))
    values[250] = 40
    clean = pd.DataFrame({"timestamp": stamps, "value": [f"{v:.3f}" for v in values]})
    clean.to_csv(src / "clean.csv", index=False)
    dirty = pd.concat([clean.iloc[:100], pd.DataFrame({"timestamp": ["sometime", "2024-01-05 04:30"],
                                                       "value": ["10", "abc"]}), clean.iloc[100:]])
    dirty.to_csv(src / "dirty.csv", index=False)
    (src / "sub").mkdir()
    pd.DataFrame({"a": [1], "b": [2]}).to_csv(src / "sub" / "other.csv", index=False)

    report = run_directory(src, out)

    assert report.files == 2 and report.points == 602
    assert [(r.path, r.reason) for r in report.rejected_files] == [("sub/other.csv", "needs columns timestamp,value (found a,b)")]
    assert [(r.path, r.line, r.reason, r.text) for r in report.rejected_rows] == [
        ("dirty.csv", 102, "unreadable timestamp", "sometime"),
        ("dirty.csv", 103, "unreadable value", "abc"),
    ]
    got_clean, got_dirty = pd.read_csv(out / "clean.csv"), pd.read_csv(out / "dirty.csv")
    assert list(got_dirty["timestamp"]) == list(dirty["timestamp"])
    assert (got_dirty["anomaly_score"].iloc[100:102] == 0).all()
    kept = pd.concat([got_dirty.iloc[:100], got_dirty.iloc[102:]])["anomaly_score"].to_numpy()
    np.testing.assert_array_equal(kept, got_clean["anomaly_score"].to_numpy())
    assert got_clean["anomaly_score"].idxmax() == 250
    assert not (out / "sub" / "other.csv").exists()
    listed = (out / REPORT_NAME).read_text(encoding="utf-8").splitlines()
    assert listed[1:] == ["sub/other.csv\t\tneeds columns timestamp,value (found a,b)\t",
                          "dirty.csv\t102\tunreadable timestamp\tsometime", "dirty.csv\t103\tunreadable value\tabc"]


def test_detect_csv_reads_excel_and_bureau_exports(tmp_path: Path) -> None:
    # The same monthly growth rates as a bureau's spreadsheet exports them: GB18030 with
    # Chinese headers and per cent signs, UTF-8 with a byte-order mark, full-width digits;
    # and the same instants written with offsets (read in Beijing time) or as months.
    rng = np.random.default_rng(8)
    months = pd.date_range("2015-01-01", "2023-12-01", freq="MS")
    rates = 5 + rng.normal(0, 0.5, len(months))
    rates[months.get_loc(pd.Timestamp("2020-02-01"))] = -20
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    cn = [f"{m.year}年{m.month}月" for m in months]
    body = "".join(f"{t},{v:.1f}%\n" for t, v in zip(cn, rates, strict=True))
    (src / "gbk.csv").write_bytes(("时间,数值\n" + body).encode("gb18030"))
    (src / "bom.csv").write_bytes((" Timestamp , Value \n" + body).encode("utf-8-sig"))
    full_width = str.maketrans("0123456789.-", "０１２３４５６７８９．－")
    full = "".join(f"{m:%Y%m},{f'{v:.1f}'.translate(full_width)}\n" for m, v in zip(months, rates, strict=True))
    (src / "fullwidth.csv").write_text("timestamp,value\n" + full, encoding="utf-8")
    utc = "".join(f"{(m - pd.Timedelta(hours=8)):%Y-%m-%dT%H:%M:%S}Z,{v:.1f}\n" for m, v in zip(months, rates, strict=True))
    (src / "utc.csv").write_text("timestamp,value\n" + utc, encoding="utf-8")
    (src / "plain.csv").write_text("timestamp,value\n" + "".join(
        f"{m:%Y-%m-%d},{v:.1f}\n" for m, v in zip(months, rates, strict=True)), encoding="utf-8")

    report = run_directory(src, out)

    assert report.files == 5 and not report.rejected_rows and not report.rejected_files and report.blanks == 0
    reference = pd.read_csv(out / "plain.csv")["anomaly_score"].to_numpy()
    assert reference.max() >= 0.5 and int(reference.argmax()) == months.get_loc(pd.Timestamp("2020-02-01"))
    for name in ("gbk.csv", "bom.csv", "fullwidth.csv", "utc.csv"):
        got = pd.read_csv(out / name, dtype={"timestamp": str})
        np.testing.assert_array_equal(got["anomaly_score"].to_numpy(), reference, err_msg=name)
    assert list(pd.read_csv(out / "gbk.csv")["timestamp"])[:2] == ["2015年1月", "2015年2月"]


def test_detect_csv_reads_quarters_and_bureau_months() -> None:
    raw = pd.Series(["2020年一季度", "2020年第2季度", "2020Q3", "202010", "2021年1-2月", "2021年02月份",
                     "2021年3月1日", "2021-04-01T00:00:00+08:00", "2021/5/1", "2021M06", "２０２１年７月",
                     "2022年一季度", "2022年上半年", "2022年前三季度", "2022年全年",
                     "13月", "2020-09-31", "2020年2月30日", "2021年3月 估计"])
    got = parse_times(raw)
    # A quarter is dated at its last month, as a period is (一季度 is 1-3月).
    expected = ["2020-03-01", "2020-06-01", "2020-09-01", "2020-10-01", "2021-02-01", "2021-02-01",
                "2021-03-01", "2021-04-01", "2021-05-01", "2021-06-01", "2021-07-01",
                "2022-03-01", "2022-06-01", "2022-09-01", "2022-12-01"]
    assert [f"{t:%Y-%m-%d}" for t in got[: len(expected)]] == expected
    # Not a date, not the whole text a period: unreadable, never guessed.
    assert got[len(expected):].isna().all()


def test_detect_csv_reads_values_as_the_statistics_import_reads_cells() -> None:
    values, bad = read_values(pd.Series(["12.5", "0", "1,234.5", "５.２%", "−3.1", "(2.5)", "7.0*", "", "—",
                                         "…", "x", "abc", "1,23"]))
    np.testing.assert_array_equal(values[:7], [12.5, 0.0, 1234.5, 5.2, -3.1, -2.5, 7.0])
    assert np.isnan(values[7:]).all()
    assert bad.tolist() == [False] * 11 + [True, True]


def test_detect_csv_reads_a_file_named_as_ytd_growth_as_such(tmp_path: Path) -> None:
    # China's 累计同比 figures from 2018: too few years to recognise them from their values,
    # but the file's name says what they are, as a bureau names its tables.
    from tests.detection.test_ytd_growth import IVA_YTD_YOY, KNOWN

    rows = [(f"{y}年{k + 2}月" if k else f"{y}年1-2月", v)
            for y, vals in IVA_YTD_YOY.items() if y >= 2018 for k, v in enumerate(vals)]
    frame = pd.DataFrame(rows, columns=["timestamp", "value"])
    (tmp_path / "in" / "内蒙古").mkdir(parents=True)
    frame.to_csv(tmp_path / "in" / "内蒙古" / "规上工业增加值_累计增速.csv", index=False)
    frame.to_csv(tmp_path / "in" / "内蒙古" / "规上工业增加值.csv", index=False)
    run_directory(tmp_path / "in", tmp_path / "out")

    def alarms(name: str) -> set[str]:
        out = pd.read_csv(tmp_path / "out" / "内蒙古" / name)
        months = [f"{m[:4]}-{int(m[5:].split('-')[-1].rstrip('月')):02d}" for m in out["timestamp"]]
        return {m for m, sc in zip(months, out["anomaly_score"], strict=True) if sc >= 0.5}

    named, plain = alarms("规上工业增加值_累计增速.csv"), alarms("规上工业增加值.csv")
    # Named: the 2020 collapse, April 2022, base effects, and March 2019 (当月 8.5 %) only.
    assert {"2020-02", "2022-04"} <= named and named <= KNOWN | {"2019-03"}, sorted(named)
    # Read as it stands (the name says nothing): five alarms on ordinary months.
    assert len(plain - KNOWN - {"2019-03"}) >= 3, sorted(plain)
