"""Run the production detector over a tree of CSV files (``yunjian detect-csv``).

Every ``*.csv`` under the input directory with columns ``timestamp,value`` is
scored point by point in time order, and ``timestamp,anomaly_score`` is written
to the same relative path under the output directory.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from backend.detection.engine import DetectorConfig, SeriesBank

# NAB's protocol tells each detector its probationary period: 15% of the file,
# at most 750 rows.  We use the same rule as the warm-up of a file.
PROBATION_FRACTION = 0.15
PROBATION_MAX = 750


def probation(n: int) -> int:
    """Warm-up length (points) used for a file of n rows."""
    return int(min(math.floor(PROBATION_FRACTION * n), PROBATION_MAX))


# A statistics bureau's month: 2020年2月, 2020年1-2月 (January and February as one
# figure: dated February), 2020年1—2月.
_CN_MONTH = re.compile(r"^\s*(\d{4})\s*年\s*(?:\d{1,2}\s*[-–—~至]\s*)?(\d{1,2})\s*月(?:份)?\s*$")


def parse_times(raw: pd.Series) -> pd.Series:
    """Timestamps of a file: anything pandas reads (ISO dates and times, 2020-02), else
    Chinese months as a bureau writes them (2020年2月; 2020年1-2月 is February)."""
    text = raw.astype(str)
    try:
        return pd.to_datetime(text, format="ISO8601")
    except (ValueError, TypeError):
        pass
    parts = text.str.extract(_CN_MONTH)
    cn = pd.to_datetime(parts[0] + "-" + parts[1].str.zfill(2) + "-01", errors="coerce")
    other = pd.to_datetime(text.where(cn.isna()), errors="coerce", format="mixed")
    out = cn.fillna(other)
    bad = out.isna()
    if bad.any():
        raise ValueError(f"unreadable timestamp {text[bad].iloc[0]!r}")
    return out


# A file whose path says it holds 累计同比 (a year-to-date growth rate: 1-N月累计增速,
# 累计同比增长, ytd_growth) is read so from its first figure, as the catalogue declares it
# in the service; otherwise the detector recognises it from its values, years later.
_YTD_WORDS = re.compile(r"累计|ytd|year.?to.?date|cumulative", re.IGNORECASE)
_GROWTH_WORDS = re.compile(r"同比|增速|增长|增幅|growth|yoy", re.IGNORECASE)


def declares_ytd_growth(relative: Path) -> bool:
    """Whether a file's path (relative to the input folder) names a 累计同比 growth rate."""
    text = relative.with_suffix("").as_posix()
    return bool(_YTD_WORDS.search(text) and _GROWTH_WORDS.search(text))


def _load(path: Path) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    df = pd.read_csv(path, dtype={"value": str}, keep_default_na=False)
    if "timestamp" not in df.columns or "value" not in df.columns:
        raise ValueError(f"{path}: needs columns timestamp,value")
    try:
        ts = parse_times(df["timestamp"])
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    secs = (ts - pd.Timestamp("1970-01-01")).dt.total_seconds().to_numpy(dtype=float)
    # Thousands separators (1,234.5) are read; an empty or unreadable value scores 0.
    text = df["value"].astype(str).str.replace(",", "", regex=False).str.strip()
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    return df["timestamp"], secs, values


def score_arrays(
    series: list[tuple[np.ndarray, np.ndarray]],
    config: DetectorConfig | None = None,
    ytd_growth: list[bool] | None = None,
) -> list[np.ndarray]:
    """Anomaly scores for several (epoch seconds, values) series, each in time order.

    The series run side by side in one SeriesBank (one step per row index), which
    gives exactly the scores of feeding each series alone to the streaming detector.
    ``ytd_growth[i]`` declares series i a 累计同比 growth rate.
    """
    orders = [np.argsort(t, kind="stable") for t, _ in series]
    lengths = np.array([len(t) for t, _ in series], dtype=np.int64)
    declared = np.array(ytd_growth, dtype=bool) if ytd_growth is not None else None
    bank = SeriesBank(len(series), config, warmup=np.array([probation(int(n)) for n in lengths]), ytd_growth=declared)
    out = [np.zeros(int(n)) for n in lengths]
    width = int(lengths.max()) if len(lengths) else 0
    t_mat = np.full((len(series), width), np.nan)
    x_mat = np.full((len(series), width), np.nan)
    for i, ((t, x), o) in enumerate(zip(series, orders, strict=True)):
        t_mat[i, : len(t)] = t[o]
        x_mat[i, : len(t)] = x[o]
    for k in range(width):
        res = bank.step(t_mat[:, k], x_mat[:, k])
        for i in np.flatnonzero(k < lengths).tolist():
            out[i][orders[i][k]] = res.score[i]
    return out


def run_directory(input_dir: Path, output_dir: Path, config: DetectorConfig | None = None) -> int:
    """Score every CSV under input_dir into output_dir (same relative paths); returns the file count."""
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    paths = sorted(p for p in input_dir.rglob("*.csv") if p.is_file())
    loaded = [_load(p) for p in paths]
    declared = [declares_ytd_growth(p.relative_to(input_dir)) for p in paths]
    scores = score_arrays([(secs, vals) for _, secs, vals in loaded], config, declared)
    for path, (stamps, _, _), sc in zip(paths, loaded, scores, strict=True):
        target = output_dir / path.relative_to(input_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"timestamp": stamps, "anomaly_score": np.round(sc, 8)}).to_csv(target, index=False)
    return len(paths)


def main(argv: list[str] | None = None) -> int:
    """CLI: python -m backend.detection.csvrun --input DIR --output DIR."""
    ap = argparse.ArgumentParser(description="Score every timestamp,value CSV under a folder.")
    ap.add_argument("--input", required=True, type=Path)
    ap.add_argument("--output", required=True, type=Path)
    a = ap.parse_args(argv)
    started = time.perf_counter()
    n = run_directory(a.input, a.output)
    print(f"scored {n} files in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
