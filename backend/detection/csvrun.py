"""Run the production detector over a tree of CSV files (``yunjian detect-csv``).

Every ``*.csv`` under the input directory with columns ``timestamp,value`` is
scored point by point in time order, and ``timestamp,anomaly_score`` is written
to the same relative path under the output directory.
"""

from __future__ import annotations

import argparse
import io
import math
import re
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from backend.detection.detectors import LOCAL_TZ
from backend.detection.engine import DetectorConfig, SeriesBank
from backend.statistics.parsing import NumberError, parse_number, parse_period, remove_periods

# NAB's protocol tells each detector its probationary period: 15% of the file,
# at most 750 rows.  We use the same rule as the warm-up of a file.
PROBATION_FRACTION = 0.15
PROBATION_MAX = 750


def probation(n: int) -> int:
    """Warm-up length (points) used for a file of n rows."""
    return int(min(math.floor(PROBATION_FRACTION * n), PROBATION_MAX))


# Beyond what pandas reads: a bureau's periods as the statistics import reads them
# (2020年2月, 2020年02月份, 2020年1-2月 — January and February as one figure, dated
# February —, 202002, 2020M02), a day written 2020年2月29日, and a quarter written
# 2020年一季度 / 2020年第1季度 / 2020Q1, dated at the quarter's last month as a period is
# (一季度 is 1-3月, as 1-2月 is dated February).
_CN_DAY = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日$")
_QUARTER = re.compile(r"^(\d{4})\s*(?:年\s*第?\s*([1-4一二三四])\s*季度?|[-\s]?[Qq]([1-4]))$")
_CN_DIGIT = {"一": 1, "二": 2, "三": 3, "四": 4}
# A year's cumulative quarters as GDP is published: 上半年 (1-6月), 前三季度 (1-9月), 全年.
_CN_SPAN = re.compile(r"^(\d{4})\s*年\s*(上半年|前三季度|一至三季度|1-3季度|下半年|全年)$")
_SPAN_MONTH = {"上半年": 6, "前三季度": 9, "一至三季度": 9, "1-3季度": 9, "下半年": 12, "全年": 12}


def _one_time(text: str) -> pd.Timestamp | None:
    """One timestamp the fast path could not read; None if unreadable.  Aware times are
    read in Beijing time, as everywhere in the detector."""
    text = unicodedata.normalize("NFKC", text).strip()
    try:
        if m := _CN_DAY.match(text):
            return pd.Timestamp(int(m[1]), int(m[2]), int(m[3]))
        if m := _CN_SPAN.match(text):
            return pd.Timestamp(int(m[1]), _SPAN_MONTH[m[2]], 1)
        if m := _QUARTER.match(text):
            q = m[2] or m[3]
            return pd.Timestamp(int(m[1]), 3 * (_CN_DIGIT.get(q) or int(q)), 1)
    except ValueError:  # 2020年2月30日
        return None
    period = parse_period(text)
    # The whole text must be the period (份 allowed): "2020-09-31" is not September.
    if period is not None and period.year is not None and not remove_periods(text).replace("份", "").strip():
        return pd.Timestamp(period.year, period.last, 1)
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError):
        return None
    if stamp is pd.NaT:
        return None
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(LOCAL_TZ).tz_localize(None)
    return stamp


def parse_times(raw: pd.Series) -> pd.Series:
    """Timestamps of a file as naive Beijing wall-clock times, NaT where unreadable.

    Anything pandas reads (ISO dates and times, 2020-02, 2020/2/29; times with an offset
    or Z are converted to Beijing time), else a bureau's Chinese months and quarters
    (2020年2月; 2020年1-2月 is February; 2020年一季度), 202002."""
    text = raw.astype(str).str.strip()
    try:
        fast = pd.to_datetime(text, format="ISO8601")
        if isinstance(fast.dtype, pd.DatetimeTZDtype):
            fast = fast.dt.tz_convert(LOCAL_TZ).dt.tz_localize(None)
        return fast
    except (ValueError, TypeError, OverflowError):
        pass
    stamps = [_one_time(t) for t in text]
    return pd.Series([pd.NaT if s is None else s for s in stamps], index=raw.index, dtype="datetime64[ns]")


# A file whose path says it holds 累计同比 (a year-to-date growth rate: 1-N月累计增速,
# 累计同比增长, ytd_growth) is read so from its first figure, as the catalogue declares it
# in the service; otherwise the detector recognises it from its values, years later.
_YTD_WORDS = re.compile(r"累计|ytd|year.?to.?date|cumulative", re.IGNORECASE)
_GROWTH_WORDS = re.compile(r"同比|增速|增长|增幅|growth|yoy", re.IGNORECASE)


def declares_ytd_growth(relative: Path) -> bool:
    """Whether a file's path (relative to the input folder) names a 累计同比 growth rate."""
    text = relative.with_suffix("").as_posix()
    return bool(_YTD_WORDS.search(text) and _GROWTH_WORDS.search(text))


# Column names read as timestamp / value (after trimming, case-insensitive; a byte-order
# mark is dropped with the encoding).
_TIME_COLUMNS = ("timestamp", "time", "date", "datetime", "时间", "日期", "月份", "时期", "报告期", "统计时间")
_VALUE_COLUMNS = ("value", "值", "数值", "数据")
_ENCODINGS = ("utf-8-sig", "gb18030")


@dataclass
class Rejected:
    """A row (or a whole file, ``line`` None) detect-csv could not score, and why."""

    path: str
    line: int | None
    text: str
    reason: str


@dataclass
class Loaded:
    stamps: pd.Series
    secs: np.ndarray
    values: np.ndarray
    rejected: list[Rejected] = field(default_factory=list)


def _decode(path: Path) -> str:
    data = path.read_bytes()
    for enc in _ENCODINGS:
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise ValueError("not UTF-8 or GB18030 text")


def _column(columns: list[str], names: tuple[str, ...]) -> str | None:
    for c in columns:
        if c.strip().lower() in names:
            return c
    return None


def read_values(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Numbers of a value column (NaN where none) and a mask of the unreadable ones.

    What pandas reads is taken as it is (0 is a value here); anything else is read as
    the statistics import reads a published cell (`statistics.parsing.parse_number`):
    full-width characters folded, thousands separators, a trailing % and footnote marks
    dropped, (12.5) as an accounting negative; a bureau's marks for "not published"
    (empty, -, —, …, x, /, NA) are blanks, not errors."""
    text = raw.astype(str)
    values = np.array(pd.to_numeric(text.str.strip(), errors="coerce"), dtype=float)
    bad = np.zeros(len(values), dtype=bool)
    for i in np.flatnonzero(~np.isfinite(values)).tolist():
        try:
            v = parse_number(text.iloc[i], zero_is_missing=False)
        except NumberError:
            v, bad[i] = None, True
        values[i] = np.nan if v is None or not math.isfinite(v) else v
    return values, bad


def load(path: Path, name: str | None = None) -> Loaded:
    """One input file: its rows, read as far as they can be.  Raises ValueError (with the
    reason) only when the file as a whole cannot be scored."""
    name = name or str(path)
    try:
        text = _decode(path)
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except (ValueError, pd.errors.ParserError) as exc:
        raise ValueError(f"cannot read it as CSV: {exc}") from None
    columns = [str(c) for c in df.columns]
    tcol, vcol = _column(columns, _TIME_COLUMNS), _column(columns, _VALUE_COLUMNS)
    if tcol is None or vcol is None:
        raise ValueError(f"needs columns timestamp,value (found {','.join(columns) or 'none'})")
    ts = parse_times(df[tcol])
    values, bad_value = read_values(df[vcol])
    bad_time = ts.isna().to_numpy()
    if len(df) and bad_time.all():
        raise ValueError(f"no readable timestamp (first: {df[tcol].iloc[0]!r})")
    rejected = []
    # Line numbers as an editor shows them: the header is line 1.
    for i in np.flatnonzero(bad_time | bad_value).tolist():
        if bad_time[i]:
            rejected.append(Rejected(name, i + 2, str(df[tcol].iloc[i]), "unreadable timestamp"))
        else:
            rejected.append(Rejected(name, i + 2, str(df[vcol].iloc[i]), "unreadable value"))
    secs = np.array((ts - pd.Timestamp("1970-01-01")).dt.total_seconds(), dtype=float)
    # A row without a time cannot be placed in the series (NaN sorts last, and a point
    # without a finite time or value leaves the detector untouched): it scores 0, as a
    # blank does.
    values[bad_time] = np.nan
    return Loaded(df[tcol], secs, values, rejected)


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


@dataclass
class RunReport:
    """What ``run_directory`` scored, and what it could not."""

    files: int
    points: int
    blanks: int
    rejected_rows: list[Rejected]
    rejected_files: list[Rejected]

    @property
    def failed(self) -> bool:
        """Whether the run should exit non-zero: a file could not be read, or none was found."""
        return bool(self.rejected_files) or not self.files

    def lines(self, limit: int = 20) -> list[str]:
        """The report as a person reads it (at most ``limit`` rejected rows listed)."""
        out = [f"scored {self.files} files, {self.points} points ({self.blanks} blank values scored 0)"]
        for r in self.rejected_files:
            out.append(f"NOT SCORED {r.path}: {r.reason}")
        if self.rejected_rows:
            out.append(f"{len(self.rejected_rows)} rows rejected (scored 0, kept in the output with their text):")
            out += [f"  {r.path}:{r.line}: {r.reason} {r.text!r}" for r in self.rejected_rows[:limit]]
            if len(self.rejected_rows) > limit:
                out.append(f"  ... and {len(self.rejected_rows) - limit} more")
        return out


REPORT_NAME = "detect-csv-rejected.tsv"


def run_directory(input_dir: Path, output_dir: Path, config: DetectorConfig | None = None) -> RunReport:
    """Score every CSV under input_dir into output_dir (same relative paths).

    Bad input loses nothing: a row whose timestamp or value cannot be read is written
    with score 0 and listed; a file that cannot be read at all is listed and skipped,
    and every other file is still scored.  The lists go to ``REPORT_NAME`` in
    output_dir (tab-separated: path, line, reason, text) when there is anything in them.
    """
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    paths = sorted(p for p in input_dir.rglob("*.csv") if p.is_file())
    good: list[tuple[Path, Loaded]] = []
    rejected_files: list[Rejected] = []
    for p in paths:
        rel = p.relative_to(input_dir).as_posix()
        try:
            good.append((p, load(p, rel)))
        except (ValueError, OSError) as exc:
            rejected_files.append(Rejected(rel, None, "", str(exc)))
    declared = [declares_ytd_growth(p.relative_to(input_dir)) for p, _ in good]
    scores = score_arrays([(f.secs, f.values) for _, f in good], config, declared) if good else []
    for (path, f), sc in zip(good, scores, strict=True):
        target = output_dir / path.relative_to(input_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"timestamp": f.stamps, "anomaly_score": np.round(sc, 8)}).to_csv(target, index=False)
    rows = [r for _, f in good for r in f.rejected]
    report = RunReport(
        files=len(good),
        points=sum(len(f.values) for _, f in good),
        blanks=sum(int(np.isnan(f.values).sum()) for _, f in good) - len(rows),
        rejected_rows=rows,
        rejected_files=rejected_files,
    )
    if rows or rejected_files:
        output_dir.mkdir(parents=True, exist_ok=True)
        with open(output_dir / REPORT_NAME, "w", encoding="utf-8") as fh:
            fh.write("path\tline\treason\ttext\n")
            for r in rejected_files + rows:
                text = r.text.replace("\t", " ").replace("\n", " ")
                fh.write(f"{r.path}\t{'' if r.line is None else r.line}\t{r.reason}\t{text}\n")
    return report


def main(argv: list[str] | None = None) -> int:
    """CLI: python -m backend.detection.csvrun --input DIR --output DIR."""
    ap = argparse.ArgumentParser(description="Score every timestamp,value CSV under a folder.")
    ap.add_argument("--input", required=True, type=Path)
    ap.add_argument("--output", required=True, type=Path)
    a = ap.parse_args(argv)
    started = time.perf_counter()
    report = run_directory(a.input, a.output)
    for line in report.lines():
        print(line, file=sys.stderr)
    print(f"in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 1 if report.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
