"""Pure: a long file read column-wise, for the bulk import's fast path.

A clean long file (`indicator,entity_kind,entity_code,time,value,unit`, no quotes) is split
into its six columns with one C-level split of the whole body instead of a CSV reader per
line; times are read once per distinct text, values with `float`. Every decision is the one
`ingest.sources.parsers.parse_long_record` takes for the same cells: a cell this module does
not accept (a time that is not ISO 8601 with an offset, a value `float` does not read or
that is negative or not finite) is left to that parser, which rejects it with its reason or
reads it (for example "1,234.5").
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

import numpy as np
import pandas as pd

from backend.observations.rollups import PG_EPOCH

PG_EPOCH_DAY = PG_EPOCH.date().toordinal()
_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class LongColumns:
    """The cells of a long file's lines, by column (line i is index i of each list)."""

    indicator: list[str]
    entity_kind: list[str]
    entity_code: list[str]
    time: list[str]
    value: list[str]
    unit: list[str]

    def __len__(self) -> int:
        return len(self.time)

    def cells(self, i: int) -> list[str]:
        return [self.indicator[i], self.entity_kind[i], self.entity_code[i], self.time[i], self.value[i], self.unit[i]]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector while a million short strings are made: none of them
    can form a cycle, and its passes over them cost as much as the split itself."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def six_cells_each(lines: str) -> bool:
    """Whether every line of `lines` (no final newline) has exactly six cells; a blank line
    has one. The caller has made sure there are no quote characters or carriage returns."""
    raw = np.frombuffer(lines.encode(), np.uint8)  # ',' and '\n' never occur inside a UTF-8 sequence
    ends = np.append(np.flatnonzero(raw == 10), raw.size)
    commas = np.flatnonzero(raw == 44)
    return bool((np.diff(np.searchsorted(commas, ends), prepend=0) == 5).all())


def pieces(body: str, first: int, size: int) -> Iterator[str]:
    """`body` in consecutive pieces, each a whole number of lines: the first of about `first`
    characters (so that its rows are on their way soon), the others of about `size`."""
    start, want = 0, first
    while True:
        cut = body.find("\n", start + want)
        if cut < 0:
            yield body[start:]  # a blank last line too: it is a line the row parser rejects
            return
        yield body[start:cut]
        start, want = cut + 1, size


def split_columns(piece: str) -> LongColumns:
    """The six columns of lines that have six cells each (`six_cells_each`), each cell as
    written, as a CSV reader without quotes reads it."""
    flat = piece.replace("\n", ",").split(",")
    return LongColumns(*(flat[i::6] for i in range(6)))


def read_times(texts: Iterable[str], tz: tzinfo) -> dict[str, tuple[int, int] | None]:
    """Each distinct time text -> (µs since 2000-01-01 UTC, its local day in `tz` as days
    since 2000-01-01), or None when the row parser rejects it (not ISO 8601, no UTC offset)."""
    out: dict[str, tuple[int, int] | None] = {}
    for s in set(texts):
        try:
            t = datetime.fromisoformat(s)
        except ValueError:
            out[s] = None
            continue
        if t.tzinfo is None:
            out[s] = None
            continue
        out[s] = ((t - PG_EPOCH) // _US, t.astimezone(tz).date().toordinal() - PG_EPOCH_DAY)
    return out


def instant(t: datetime, tz: tzinfo) -> tuple[int, int]:
    """`read_times` for one aware datetime."""
    return (t - PG_EPOCH) // _US, t.astimezone(tz).date().toordinal() - PG_EPOCH_DAY


def read_values(texts: list[str]) -> np.ndarray:
    """`float(text)` per cell, NaN where `float` cannot read it. Where `float` reads a cell,
    the row parser's `number` reads the same value (it only also drops thousands
    separators and inner spaces, which `float` refuses)."""
    try:
        return np.fromiter(map(float, texts), np.float64, len(texts))
    except ValueError:
        return np.array([_float_or_nan(s) for s in texts], np.float64)


def _float_or_nan(s: str) -> float:
    try:
        return float(s)
    except ValueError:
        return float("nan")


def factorize(values: list[str]) -> tuple[np.ndarray, list[str]]:
    """(each value's position in the list of distinct values, that list)."""
    if values and len(set(values)) == 1:  # the usual indicator, kind and unit column: no hashing twice
        return np.zeros(len(values), np.int64), [values[0]]
    codes, uniques = pd.factorize(np.array(values, dtype=object), sort=False)
    return codes.astype(np.int64, copy=False), list(uniques)


def factorize_rows(*column: list[str]) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """`factorize` for rows of several columns: (each row's position in the list of distinct
    rows, that list of tuples)."""
    parts = [factorize(c) for c in column]
    combined = np.zeros(len(column[0]), np.int64)
    size = 1
    for codes, uniques in parts:
        size *= len(uniques)
        if size >= 2 ** 62:  # too many combinations for one integer: hash the tuples instead
            codes, uniques_rows = pd.factorize(pd.Series(list(zip(*column, strict=True)), dtype=object), sort=False)
            return codes.astype(np.int64, copy=False), list(uniques_rows)
        combined = combined * len(uniques) + codes
    distinct, inverse = np.unique(combined, return_inverse=True)
    rows: list[tuple[str, ...]] = []
    for v in distinct.tolist():
        cells = []
        for _, uniques in reversed(parts):
            v, at = divmod(v, len(uniques))
            cells.append(uniques[at])
        rows.append(tuple(reversed(cells)))
    return inverse.reshape(-1).astype(np.int64, copy=False), rows
