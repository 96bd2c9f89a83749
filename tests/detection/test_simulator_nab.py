"""The simulator's incidents as a NAB corpus (benchmarks/simulator_nab.py)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd

from benchmarks.simulator_nab import _incidents, _local, build_corpus, nab_windows, probation
from ingest.simulator.generator import World, day_start


def test_windows_follow_nab_convention_centred_and_merged_when_they_overlap() -> None:
    stamps = [f"r{i}" for i in range(100)]
    # 10 % of 100 rows shared by 2 incidents: 5 rows each, centred on the incident row.
    wins, owner = nab_windows(stamps, [20, 60])
    assert wins == [["r18", "r22"], ["r58", "r62"]] and owner == [0, 1]
    # Overlapping windows become one; windows are clipped to the file.
    wins, owner = nab_windows(stamps, [1, 3])
    assert wins == [["r0", "r5"]] and owner == [0, 0]
    assert nab_windows(stamps, []) == ([], [])


def test_corpus_has_a_window_around_every_value_incident_and_no_rows_for_missing_reports(
    tmp_path: Path,
) -> None:
    end = date(2026, 11, 1)
    days = {"15min": 40, "hour": 40, "day": 300}
    files = build_corpus(tmp_path, seed=1, enterprises=3, end_day=end, days=days)
    windows = json.loads((tmp_path / "labels" / "combined_windows.json").read_text())
    assert sorted(windows) == sorted(f.key for f in files)
    assert not any(k.startswith("power.grid_load/") for k in windows)
    world = World(seed=1, enterprises=3)
    stop = day_start((end - date(1970, 1, 1)).days)
    labelled = missing = 0
    for s in world.series:
        if s.profile == "grid":
            continue
        key = f"{s.indicator}/{s.entity.kind}_{s.entity.code}.csv"
        df = pd.read_csv(tmp_path / "data" / key)
        rows = {ts: i for i, ts in enumerate(df["timestamp"].astype(str))}
        start = stop - days[s.frequency] * 86400
        for inc in _incidents(world, s, start, stop):
            slots = [t for t in world.slots(s, start, stop) if inc.covers(t)]
            if inc.kind == "missing_reports":
                missing += 1
                assert not any(_local(t) in rows for t in slots)
                continue
            if not inc.label()["anomaly"] or not slots or rows[_local(slots[0])] < probation(len(df)):
                continue
            labelled += 1
            row = rows[_local(slots[0])]
            assert any(rows[a] <= row <= rows[b] for a, b in windows[key]), (key, inc)
    assert labelled == sum(len(f.incidents) for f in files) and labelled > 0
    assert missing > 0
