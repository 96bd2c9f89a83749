"""Real provincial statistics as a corpus (benchmarks/provincial_power.py): reading the Wind
export and building the five bureau forms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.provincial_power import build, forms, read_source


def _export(path: Path) -> Path:
    """A Wind export as the public file has it: header rows, quoted thousands, trailing blanks."""
    rows = [
        "Wind,,",
        "Country,China,China",
        "Name,China: Inner Mongolia: Power Consumption,China: Shanghai: Power Consumption",
        "Frequency,Month,Month",
        "2014-12,1.00 ,2.00 ",
    ]
    for y in (2015, 2016):
        for m in range(1, 13):
            big = '"1,000.00 "' if (y, m) == (2016, 12) else f"{100 + m}.00 "
            rows.append(f"{y}-{m:02d},{big},{50 + y - 2015}.00 ")
    rows.append("2017-03,110.00 ,60.00 ")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_the_export_is_read_from_2015_by_province(tmp_path: Path) -> None:
    data = read_source(_export(tmp_path / "e.csv"))
    assert sorted(data) == ["InnerMongolia", "Shanghai"]
    assert (2014, 12) not in data["Shanghai"]
    assert data["InnerMongolia"][(2016, 12)] == 1000.0 and data["InnerMongolia"][(2015, 3)] == 103.0
    assert data["Shanghai"][(2017, 3)] == 60.0


def test_the_five_forms_follow_the_bureau() -> None:
    monthly = {(y, m): float(10 * (y - 2014) + m) for y in (2015, 2016) for m in range(1, 13)}
    monthly[(2017, 3)] = 50.0  # a year without January and February: no Jan-Feb figure
    f = forms(monthly)
    assert f["f1"] is monthly
    # January and February as one February figure; no January; 2017 left out.
    assert f["f2"][(2015, 2)] == 11.0 + 12.0 and (2015, 1) not in f["f2"] and (2017, 3) not in f["f2"]
    assert f["f4"][(2015, 3)] == 23.0 + 13.0 and f["f4"][(2016, 2)] == 21.0 + 22.0
    assert f["f3"][(2016, 3)] == pytest.approx(round(100.0 * (23.0 / 13.0 - 1.0), 1))
    assert (2015, 3) not in f["f3"]
    assert f["f5"][(2016, 3)] == pytest.approx(round(100.0 * ((43.0 + 23.0) / (23.0 + 13.0) - 1.0), 1))


def test_the_corpus_has_a_window_per_known_event_present_in_the_file(tmp_path: Path) -> None:
    source = tmp_path / "e.csv"
    lines = ["Name,China: Shanghai: Power Consumption,China: Xinjiang: Power Consumption"]
    lines += [f"{y}-{m:02d},{100 + m}.00 ,{200 + m}.00 " for y in range(2015, 2023) for m in range(1, 13)]
    source.write_text("\n".join(lines) + "\n")
    plain = build(source, tmp_path / "corpus")
    assert plain["f1/Shanghai.csv"] == [("2020-02", "2020-03"), ("2022-04", "2022-05")]
    assert ("2019-12", "2019-12") in plain["f2/Xinjiang.csv"]
    # 同比 forms start a year later; every window's months are in its file.
    labels = json.loads((tmp_path / "corpus" / "labels" / "combined_windows.json").read_text())
    assert labels["f3/Shanghai.csv"][0] == ["2020-02-01 00:00:00.000000", "2020-03-01 00:00:00.000000"]
    text = (tmp_path / "corpus" / "data" / "f3" / "Shanghai.csv").read_text()
    assert text.startswith("timestamp,value\n2016-02-01 00:00:00,")
    assert len(labels) == 10
