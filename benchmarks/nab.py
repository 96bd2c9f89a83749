"""NAB benchmark and throughput check for the production detector.

    python benchmarks/nab.py [--data /work/shared/data/nab-dev] [--windows FILE] [--report]

Runs ``detect-csv`` (backend.detection.csvrun) over the NAB data into a temp
dir, scores it with the shared NAB scorer, prints the three profile scores and
the wall time, for the whole sample and for its tuning and held-out halves
(alternating sorted file names within each category: even positions tune,
odd positions held out); then measures points per second through the streaming and the
batch detector on synthetic 15-minute series against the target of 96,000
points (one day for 1,000 series) in 2 s; then counts how often two shocks on
synthetic monthly statistics are flagged (12 noise draws per scenario).
``--report`` also lists, per file at the whole sample's standard threshold, each
window's highest score and first detection and every false alarm.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.detection.csvrun import run_directory, score_arrays
from backend.detection.detectors import BatchDetector, StreamingDetector, epoch_seconds

SCORER = Path("/work/shared/tools/nab_score.py")
TARGET_POINTS, TARGET_SECONDS = 96_000, 2.0


def split_halves(windows: dict[str, list[list[str]]]) -> tuple[dict, dict]:
    """Tuning and held-out halves: alternating sorted file names within each category."""
    by_cat: dict[str, list[str]] = {}
    for key in sorted(windows):
        by_cat.setdefault(key.split("/")[0], []).append(key)
    tune: dict[str, list[list[str]]] = {}
    held: dict[str, list[list[str]]] = {}
    for keys in by_cat.values():
        for i, key in enumerate(keys):
            (tune if i % 2 == 0 else held)[key] = windows[key]
    return tune, held


def _score(data: Path, results: str, windows: Path) -> list[str]:
    cmd = [sys.executable, str(SCORER), "--data", str(data), "--results", results, "--windows", str(windows)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return [ln for ln in res.stdout.splitlines() if ln.startswith(("NAB", "  "))]


def window_report(data: Path, results: Path, windows: dict[str, list[list[str]]], threshold: float) -> None:
    """Per file: each window's highest score and first detection (row numbers), and the false
    alarms (rows after the probationary period, outside every window, score >= threshold)."""
    import pandas as pd

    from backend.detection.csvrun import probation

    for rel, wins in sorted(windows.items()):
        stamps = pd.to_datetime(pd.read_csv(data / "data" / rel)["timestamp"]).to_numpy()
        scores = pd.read_csv(results / rel)["anomaly_score"].to_numpy()
        inside = np.zeros(len(scores), dtype=bool)
        parts = []
        for a, b in wins:
            i, j = (int(np.searchsorted(stamps, np.datetime64(pd.Timestamp(v)))) for v in (a, b))
            inside[i : j + 1] = True
            seg = scores[i : j + 1]
            hit = np.flatnonzero(seg >= threshold)
            parts.append(f"[{i}-{j}] max {seg.max():.2f} first {i + int(hit[0]) if len(hit) else '-'}")
        scored = np.arange(len(scores)) >= probation(len(scores))
        fa = np.flatnonzero((scores >= threshold) & ~inside & scored)
        print(f"{rel}: " + "; ".join(parts) + f"; {len(fa)} false alarms " + " ".join(f"{k}:{scores[k]:.2f}" for k in fa))


def nab(data: Path, windows: Path | None, report: bool = False) -> None:
    """Score the detector on NAB (whole sample and both halves); print the profile scores and wall time."""
    windows = windows or data / "labels" / "combined_windows.json"
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        n = run_directory(data / "data", Path(tmp) / "out").files
        wall = time.perf_counter() - started
        points = sum(len(p.read_text().splitlines()) - 1 for p in (Path(tmp) / "out").rglob("*.csv"))
        print(f"detect-csv: {n} files, {points:,} points in {wall:.1f} s ({points / wall:,.0f} points/s)")
        tune, held = split_halves(json.loads(windows.read_text()))
        for name, path in (("whole sample", windows), ("tuning half", None), ("held-out half", None)):
            if path is None:
                path = Path(tmp) / f"{name.split()[0]}.json"
                path.write_text(json.dumps(tune if name.startswith("tuning") else held))
            print(f"== {name}")
            lines = _score(data, str(Path(tmp) / "out"), path)
            print("\n".join(lines))
            if report and name == "whole sample":
                threshold = float(next(ln for ln in lines if "standard" in ln).split("threshold=")[1].split()[0])
                window_report(data, Path(tmp) / "out", json.loads(windows.read_text()), threshold)


def _synthetic(n_series: int, n_points: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    tod = np.arange(n_points) % 96
    base = 100 + 20 * np.sin(2 * np.pi * tod / 96)
    return base[None, :] * rng.uniform(0.5, 2.0, (n_series, 1)) + rng.normal(0, 2, (n_series, n_points))


def throughput() -> None:
    """Points per second, streaming (one series, Score objects) and batch (1,000 series)."""
    start = dt.datetime(2024, 1, 1)
    step = dt.timedelta(minutes=15)
    # Streaming: one series, a week of history then timed points.
    x = _synthetic(1, 3000)[0]
    det = StreamingDetector()
    t0 = time.perf_counter()
    for i, v in enumerate(x):
        det.update(start + i * step, float(v))
    s_rate = len(x) / (time.perf_counter() - t0)
    # Batch: 1,000 series; a week of history, then one day (96 steps) timed.
    n_series, history = 1000, 7 * 96
    xb = _synthetic(n_series, history + 96, seed=1)
    batch = BatchDetector(n_series)
    for i in range(history):
        batch.update(start + i * step, xb[:, i])
    t0 = time.perf_counter()
    for i in range(history, history + 96):
        batch.update(start + i * step, xb[:, i])
    b_sec = time.perf_counter() - t0
    b_rate = n_series * 96 / b_sec
    need = TARGET_POINTS / TARGET_SECONDS
    print(f"streaming (1 series, with explanations): {s_rate:,.0f} points/s = {s_rate / need:.2f} x target")
    print(
        f"batch (1,000 series x 96 points): {b_sec:.2f} s, {b_rate:,.0f} points/s = {b_rate / need:.2f} x target"
    )
    print(f"target: {TARGET_POINTS:,} points in {TARGET_SECONDS:.0f} s = {need:,.0f} points/s")


MONTHLY_SEASON = np.array([0.85, 0.80, 1.0, 1.0, 1.02, 1.05, 1.0, 1.0, 1.02, 1.03, 1.05, 1.15])
# A coal-and-heating city's power use: a winter peak and a summer trough (+-25 %).
STRONG_SEASON = np.array([1.25, 1.15, 1.0, 0.9, 0.82, 0.8, 0.85, 0.85, 0.9, 1.0, 1.12, 1.28])
COVID, RATIONING = {"2020-01", "2020-02"}, {"2021-09", "2021-10"}


def _monthly_levels(
    seed: int, noise: float, season: np.ndarray | None, growth: float = 0.05, years: int = 8
) -> tuple[list[dt.datetime], np.ndarray]:
    """Monthly output from January 2015: growth a year, noise, an optional season by month,
    a -25 % Jan-Feb 2020 drop and a -10 % Sep-Oct 2021 dip."""
    rng = np.random.default_rng(seed)
    n = 12 * years
    months = [dt.datetime(2015 + k // 12, k % 12 + 1, 1) for k in range(n)]
    x = 1000.0 * (1.0 + growth) ** (np.arange(n) / 12) * (1.0 + rng.normal(0.0, noise, n))
    if season is not None:
        x = x * season[np.arange(n) % 12]
    for i, m in enumerate(months):
        x[i] *= 0.75 if (m.year, m.month) in ((2020, 1), (2020, 2)) else 1.0
        x[i] *= 0.90 if (m.year, m.month) in ((2021, 9), (2021, 10)) else 1.0
    return months, x


def _report(months: list[dt.datetime], x: np.ndarray, form: str) -> tuple[list[dt.datetime], np.ndarray]:
    """The monthly levels as a statistics bureau publishes them.

    ``monthly``: every month; ``no_january``: January left out; ``jan_feb``: January and
    February as one February figure (NBS style); ``yoy``: 同比 growth in per cent of that
    (January-February combined); ``ytd``: the year-to-date total (累计), January absent;
    ``ytd_yoy``: 累计同比, the 同比 growth of that total.
    """
    if form == "monthly":
        return months, x
    keep = [i for i, m in enumerate(months) if m.month != 1]
    out = x.copy()
    if form in ("jan_feb", "yoy", "ytd", "ytd_yoy"):
        for i, m in enumerate(months):
            if m.month == 2:
                out[i] = x[i - 1] + x[i]
    if form in ("ytd", "ytd_yoy"):
        for i, m in enumerate(months):
            if m.month > 2:
                out[i] = out[i - 1] + x[i]
    if form in ("yoy", "ytd_yoy"):
        keep = [i for i in keep if i >= 12]
        out = 100.0 * (out / np.roll(out, 12) - 1.0)
    return [months[i] for i in keep], out[keep]


# name, noise, season, growth a year, published form, months whose alarms are neither a
# shock nor a false alarm (the month after each shock; base effects of 同比; a 累计 figure
# stays low for the rest of the year of a shock)
MONTHLY_SCENARIOS: tuple[tuple[str, float, np.ndarray | None, float, str, set[str]], ...] = (
    ("trend, 1.5 % noise", 0.015, None, 0.05, "monthly", set()),
    ("trend, 2 % noise", 0.02, None, 0.05, "monthly", set()),
    ("trend + season, 1.5 % noise", 0.015, MONTHLY_SEASON, 0.05, "monthly", set()),
    ("trend + season, January unreported", 0.015, MONTHLY_SEASON, 0.05, "no_january", set()),
    ("trend + season, Jan-Feb as one figure", 0.015, MONTHLY_SEASON, 0.05, "jan_feb", set()),
    ("heating season +-25 %, 8 %/year, Jan-Feb as one figure", 0.015, STRONG_SEASON, 0.08, "jan_feb", set()),
    ("同比 % (Jan-Feb combined)", 0.015, MONTHLY_SEASON, 0.05, "yoy",
     {"2021-02", "2021-03", "2022-09", "2022-10", "2022-11"}),
    ("累计 year to date (Jan-Feb combined)", 0.015, MONTHLY_SEASON, 0.05, "ytd",
     {f"2020-{m:02d}" for m in range(3, 13)} | {"2021-11", "2021-12"}),
    ("累计同比 % (Jan-Feb combined)", 0.015, MONTHLY_SEASON, 0.05, "ytd_yoy",
     {f"2020-{m:02d}" for m in range(3, 13)} | {f"2021-{m:02d}" for m in range(2, 13)}
     | {f"2022-{m:02d}" for m in range(9, 13)}),
)


def monthly_shocks(draws: int = 12) -> None:
    """Share of draws on which each shock is flagged, and alarms elsewhere (shock months + the next one excluded)."""
    for name, noise, season, growth, form, excused in MONTHLY_SCENARIOS:
        hits_c = hits_r = others = after = 0
        episodes = COVID | RATIONING | {"2020-03", "2021-11"} | excused
        for seed in range(draws):
            months, x = _report(*_monthly_levels(seed, noise, season, growth), form)
            det = StreamingDetector()
            alarms = {
                m.strftime("%Y-%m")
                for m, v in zip(months, x, strict=True)
                if det.update(m, float(v)).score >= 0.5
            }
            hits_c += bool(alarms & COVID)
            hits_r += bool(alarms & RATIONING)
            others += len(alarms - episodes)
            after += len(alarms & excused)
        aftermath = f", aftermath months (not counted) {after}" if excused else ""
        print(
            f"monthly {name}: 2020 drop {hits_c}/{draws}, 2021 dip {hits_r}/{draws}, "
            f"other alarms {others} in {draws} series{aftermath}"
        )


def monthly_short_files(draws: int = 12, starts: tuple[int, ...] = (2015, 2017, 2018, 2019)) -> None:
    """The same scenarios as files `detect-csv` scores (warm-up 15 % of the points),
    starting in the years given: 2020 drop found / 2021 dip found / other alarms."""
    for name, noise, season, growth, form, excused in MONTHLY_SCENARIOS:
        episodes = COVID | RATIONING | {"2020-03", "2021-11"} | excused
        cells = []
        for start in starts:
            hits_c = hits_r = others = 0
            for seed in range(draws):
                months, x = _report(*_monthly_levels(seed, noise, season, growth), form)
                keep = [i for i, m in enumerate(months) if m.year >= start]
                secs = np.array([epoch_seconds(months[i]) for i in keep])
                scores = score_arrays([(secs, x[keep])])[0]
                alarms = {months[i].strftime("%Y-%m") for i, s in zip(keep, scores, strict=True) if s >= 0.5}
                hits_c += bool(alarms & COVID)
                hits_r += bool(alarms & RATIONING)
                others += len(alarms - episodes)
            cells.append(f"from {start}: {hits_c}/{hits_r}/{others}")
        print(f"monthly file {name}: " + ", ".join(cells))


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data/nab-dev"))
    ap.add_argument("--windows", type=Path, help="labels JSON (default: DATA/labels/combined_windows.json)")
    ap.add_argument("--skip-nab", action="store_true")
    ap.add_argument("--report", action="store_true", help="per file: windows' highest scores, false alarms")
    ap.add_argument("--nab-only", action="store_true", help="stop after the NAB scores")
    a = ap.parse_args(argv)
    if not a.skip_nab:
        nab(a.data, a.windows, a.report)
    if a.nab_only:
        return 0
    throughput()
    monthly_shocks()
    monthly_short_files()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
