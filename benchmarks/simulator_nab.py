"""The simulator's labelled incidents as a NAB corpus, scored with the production detector.

    python benchmarks/simulator_nab.py [--seed 1] [--enterprises 150] [--end 2026-11-01]
                                       [--out DIR] [--keep]

1. Generates every series of the demo registry from the simulator
   (``ingest.simulator.generator.World``: a pure function of seed, series and
   time, so the corpus is the same for a seed and an end date) into NAB layout:
   ``data/<indicator>/<entity_kind>_<entity_code>.csv`` with columns
   ``timestamp,value`` (local Beijing wall-clock time, as the detector reads it),
   and ``labels/combined_windows.json``.  Lengths per frequency:
   15-minute series 90 days (8,640 rows), hourly 180 days (4,320), daily
   3 years (about 1,096 rows), so every file is in NAB's 1,000-22,000-row range
   and daily series see the Spring Festival three times.
2. Runs the production detector (``python -m backend.detection.csvrun``, i.e.
   ``yunjian detect-csv``) over ``data/`` and scores the result with the shared
   scorer (``/work/shared/tools/nab_score.py``), printing all three profiles;
   then the share of windows per incident kind whose maximum score reaches the
   standard-profile threshold.

What is labelled (decisions, also in docs/detection.md):

* An anomaly is an incident the simulator labels ``anomaly: true`` (shutdown,
  level shift, slow decline, spike, stuck meter, unit mix-up).  Planned
  maintenance is not an anomaly (it is announced; production silences it with
  a maintenance window), nor are late data and duplicate deliveries (the values
  are right).  Alarms on those count as false positives, as in NAB.
* A missing report is what it is in production: the rows are absent from the
  CSV.  It gets no window: a score is given per row that exists, and the
  production check for it is ``rules.missing_data`` (no report by the
  deadline), tested separately.  The gaps stay in the files, so the detector
  must cope with them.
* Windows follow NAB's convention: each file's window length is 10 % of its
  rows divided by its number of incidents, centred on the first row at or after
  the incident start and clipped to the file; overlapping windows are merged.
  Incidents starting inside the probationary period (first 15 % of the file,
  at most 750 rows, which the scorer does not score) are dropped.
* ``power.grid_load`` (district totals of the enterprises' power) is left out:
  its incidents are those of its member enterprises and carry no labels of
  their own, and computing it costs ~40 enterprise values per row.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.simulator.generator import (
    LOCAL_OFFSET_S,
    Incident,
    SeriesDef,
    World,
    day_start,
    entity_incidents,
    epoch_of,
    series_incidents,
)

SCORER = Path("/work/shared/tools/nab_score.py")
DAYS = {"15min": 90, "hour": 180, "day": 3 * 365}
WINDOW_FRACTION = 0.10  # NAB: windows cover 10 % of a file, shared among its anomalies
PROBATION_FRACTION, PROBATION_MAX = 0.15, 750
EXCLUDED_PROFILES = frozenset({"grid"})
FMT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class LabelledFile:
    """One corpus file: its key (category/name.csv), rows and windows, and the labelled incidents."""

    key: str
    frequency: str  # 15min | hour | day
    rows: int
    windows: list[list[str]]
    incidents: list[dict[str, object]]  # kind, start, row, window index


def probation(n: int) -> int:
    """Rows the scorer leaves unscored at the start of a file (NAB: 15 %, at most 750)."""
    return int(min(math.floor(PROBATION_FRACTION * n), PROBATION_MAX))


def _local(t: int) -> str:
    return datetime.fromtimestamp(t + LOCAL_OFFSET_S, UTC).strftime(FMT)


def _incidents(world: World, s: SeriesDef, start: int, end: int) -> list[Incident]:
    """Production (per entity) and data (per series) incidents of one series overlapping [start, end)."""
    out: list[Incident] = []
    for ep in range(epoch_of(start), epoch_of(end - 1) + 1):
        out += entity_incidents(world.seed, s.entity, ep)
        out += series_incidents(world.seed, s, ep)
    return sorted((i for i in out if i.end > start and i.start < end), key=lambda i: (i.start, i.kind))


def nab_windows(stamps: list[str], rows: list[int]) -> tuple[list[list[str]], list[int]]:
    """NAB windows around anomaly rows: 10 % of the file / count, centred, clipped, overlaps merged.

    Returns the windows (start and end timestamps, inclusive) and, per anomaly
    row, the index of the window that holds it.
    """
    n = len(stamps)
    if not rows:
        return [], []
    length = int(WINDOW_FRACTION * n / len(rows))
    spans: list[list[int]] = []
    owner: list[int] = []
    for r in sorted(rows):
        lo, hi = max(r - length // 2, 0), min(r + length // 2, n - 1)
        if spans and lo <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], hi)
        else:
            spans.append([lo, hi])
        owner.append(len(spans) - 1)
    return [[stamps[a], stamps[b]] for a, b in spans], owner


def build_corpus(
    root: Path, seed: int, enterprises: int, end_day: date, days: dict[str, int] | None = None
) -> list[LabelledFile]:
    """Write data/ and labels/ under root; returns the files with their labelled incidents.

    ``days`` overrides the length per frequency (default ``DAYS``).
    """
    days = days or DAYS
    world = World(seed=seed, enterprises=enterprises)
    end = day_start((end_day - date(1970, 1, 1)).days)
    files: list[LabelledFile] = []
    windows: dict[str, list[list[str]]] = {}
    for s in world.series:
        if s.profile in EXCLUDED_PROFILES:
            continue
        start = end - days[s.frequency] * 86400
        slots, values = [], []
        for t in world.slots(s, start, end):
            v = world.observed(s, t)
            if v is not None:  # a missing report is an absent row
                slots.append(t)
                values.append(v)
        stamps = [_local(t) for t in slots]
        key = f"{s.indicator}/{s.entity.kind}_{s.entity.code}.csv"
        path = root / "data" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"timestamp": stamps, "value": np.round(values, 4)}).to_csv(path, index=False)
        first_scored = probation(len(slots))
        times = np.asarray(slots)
        labelled: list[tuple[Incident, int]] = []
        for inc in _incidents(world, s, start, end):
            if not inc.label()["anomaly"] or inc.kind == "missing_reports":
                continue
            row = int(np.searchsorted(times, inc.start))
            if row >= len(slots) or row < first_scored:
                continue
            labelled.append((inc, row))
        wins, owner = nab_windows(stamps, [r for _, r in labelled])
        windows[key] = wins
        incs = [
            {"kind": inc.kind, "start": _local(inc.start), "row": r, "window": w}
            for (inc, r), w in zip(sorted(labelled, key=lambda p: p[1]), owner, strict=True)
        ]
        files.append(LabelledFile(key, s.frequency, len(slots), wins, incs))
    (root / "labels").mkdir(parents=True, exist_ok=True)
    (root / "labels" / "combined_windows.json").write_text(json.dumps(windows, indent=1))
    (root / "labels" / "incidents.json").write_text(
        json.dumps({f.key: f.incidents for f in files}, indent=1, ensure_ascii=False)
    )
    return files


def score(root: Path, results: Path) -> dict[str, dict[str, object]]:
    """Run the shared NAB scorer; prints its summary and returns its JSON (per profile)."""
    out_json = results.parent / "score.json"
    cmd = [
        sys.executable,
        str(SCORER),
        "--data",
        str(root),
        "--results",
        str(results),
        "--json",
        str(out_json),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    print("\n".join(ln for ln in res.stdout.splitlines() if ln.startswith(("NAB", "  "))))
    detail: dict[str, dict[str, object]] = json.loads(out_json.read_text())["detector"]
    return detail


def hits_by_kind(
    files: list[LabelledFile], results: Path, threshold: float
) -> dict[tuple[str, str], tuple[int, int]]:
    """Per (frequency, incident kind): (incidents whose window's maximum score reaches threshold, incidents)."""
    out: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for f in files:
        if not f.incidents:
            continue
        df = pd.read_csv(results / f.key)
        sc = df["anomaly_score"].to_numpy()
        stamps = df["timestamp"].astype(str).tolist()
        pos = {ts: i for i, ts in enumerate(stamps)}
        for inc in f.incidents:
            a, b = f.windows[int(str(inc["window"]))]
            hit = bool((sc[pos[a] : pos[b] + 1] >= threshold).any())
            out[(f.frequency, str(inc["kind"]))][0] += hit
            out[(f.frequency, str(inc["kind"]))][1] += 1
    return {k: (v[0], v[1]) for k, v in sorted(out.items())}


def false_alarms(f: LabelledFile, results: Path, threshold: float) -> int:
    """Scored rows (after probation) at or above threshold outside every window."""
    df = pd.read_csv(results / f.key)
    sc = df["anomaly_score"].to_numpy()
    pos = {ts: i for i, ts in enumerate(df["timestamp"].astype(str))}
    outside = np.ones(len(sc), dtype=bool)
    outside[: probation(len(sc))] = False
    for a, b in f.windows:
        outside[pos[a] : pos[b] + 1] = False
    return int((outside & (sc >= threshold)).sum())


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--enterprises", type=int, default=150)
    ap.add_argument(
        "--end", type=date.fromisoformat, default=date(2026, 11, 1), help="first day not included"
    )
    ap.add_argument("--out", type=Path, help="corpus directory (default: a temporary one)")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = a.out or Path(tmp) / "corpus"
        started = time.perf_counter()
        files = build_corpus(root, a.seed, a.enterprises, a.end)
        rows = sum(f.rows for f in files)
        n_inc = sum(len(f.incidents) for f in files)
        n_win = sum(len(f.windows) for f in files)
        print(
            f"corpus: {len(files)} files, {rows:,} rows, {n_inc} labelled incidents in {n_win} windows "
            f"(seed {a.seed}, {a.enterprises} enterprises, up to {a.end}); "
            f"built in {time.perf_counter() - started:.1f} s"
        )
        results = Path(tmp) / "results"
        started = time.perf_counter()
        cmd = [
            sys.executable,
            "-m",
            "backend.detection.csvrun",
            "--input",
            str(root / "data"),
            "--output",
            str(results),
        ]
        subprocess.run(cmd, check=True, cwd=Path(__file__).resolve().parents[1])
        print(f"detect-csv: {time.perf_counter() - started:.1f} s")
        detail = score(root, results)
        std = detail["standard"]
        thr = float(str(std["threshold"]))
        print(f"incidents whose window reaches the standard threshold {thr:.3f}:")
        for (freq, kind), (hit, total) in hits_by_kind(files, results, thr).items():
            print(f"  {freq:5s} {kind:15s} {hit}/{total}")
        for freq in sorted({f.frequency for f in files}):
            part = [f for f in files if f.frequency == freq]
            fp = sum(false_alarms(f, results, thr) for f in part)
            print(
                f"  {freq:5s} files {len(part)}, rows {sum(f.rows for f in part):,}, alarms outside windows {fp}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
