"""Pure parts of the bulk import's column-wise path: reading cells exactly as the row parser
does, pieces of whole lines, distinct keys, and daily buckets summed in delivery order."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.ingestion import columns
from backend.observations.rollups import PG_EPOCH, daily_partials
from ingest.sources.parsers import RowError, number

TRICKY = ["1.5", " 12 ", "1_000", "1e3", "1e999", "-0", "-5", "nan", "inf", "abc", "", "1,234.5", " 1 234.5 ",
          "１２", "0x10", "1.2.3", "\u3000 7", "+3", ".5", "5."]


def test_a_value_float_reads_is_the_value_the_row_parser_reads() -> None:
    got = columns.read_values(TRICKY)
    for text, v in zip(TRICKY, got.tolist(), strict=True):
        try:
            want = number(text)
        except RowError:  # the parser rejects it: the column path must leave the row to the parser
            assert not (v >= 0 and v < math.inf), text
            continue
        if v >= 0 and v < math.inf:  # taken by the column path: the same number
            assert v == want and math.copysign(1, v) == math.copysign(1, want), text
        else:  # left to the parser, which reads it (e.g. thousands separators)
            assert text.replace(",", "").replace(" ", "") != text.strip() or "，" in text, text


def test_six_cells_each_counts_cells_line_by_line() -> None:
    good = "a,b,c,d,e,f\ng,h,i,j,k,l"
    assert columns.six_cells_each(good)
    assert not columns.six_cells_each(good + "\n")  # a blank last line has one cell
    assert not columns.six_cells_each("a,b,c,d,e\ng,h,i,j,k,l,m")  # 5 and 7: the total alone would pass
    assert columns.six_cells_each("乌海,b,c,d,e,f")


@given(st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=60), st.integers(1, 30),
       st.integers(1, 30))
def test_pieces_are_whole_lines_in_order(widths: list[int], first: int, size: int) -> None:
    lines = ["x" * w for w in widths]
    body = "\n".join(lines)
    got = list(columns.pieces(body, first, size))
    assert "\n".join(got) == body
    assert sum(p.count("\n") + 1 for p in got) == len(lines)


def test_split_columns_takes_cells_as_written() -> None:
    cols = columns.split_columns("p,enterprise, 911 ,2026-11-01T00:00:00+08:00, 1.5 ,kWh\nq,city,,t,2,万千瓦时")
    assert cols.entity_code == [" 911 ", ""] and cols.value == [" 1.5 ", "2"] and cols.unit == ["kWh", "万千瓦时"]
    assert cols.cells(1) == ["q", "city", "", "t", "2", "万千瓦时"]


@given(st.lists(st.tuples(st.sampled_from("ab"), st.sampled_from("xyz"), st.sampled_from(["1", "2", "3", "4"])),
                min_size=1, max_size=50))
def test_factorize_rows_numbers_each_distinct_row(rows: list[tuple[str, str, str]]) -> None:
    codes, distinct = columns.factorize_rows(*(list(c) for c in zip(*rows, strict=True)))
    assert len(set(distinct)) == len(distinct) == len(set(rows))
    assert [distinct[c] for c in codes.tolist()] == rows


def test_read_times_gives_postgresql_microseconds_and_the_local_day() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    got = columns.read_times(["2026-10-31T16:00:00+00:00", "2026-10-31T15:59:59.5+00:00", "2026-11-01", "x"], tz)
    us, day = got["2026-10-31T16:00:00+00:00"]  # type: ignore[misc]
    assert PG_EPOCH + timedelta(microseconds=us) == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert PG_EPOCH.date() + timedelta(days=day) == datetime(2026, 11, 1).date()  # local midnight
    assert got["2026-10-31T15:59:59.5+00:00"][1] == day - 1  # type: ignore[index]
    assert got["2026-11-01"] is None and got["x"] is None  # no offset; not a time


@settings(max_examples=200)
@given(st.lists(st.tuples(st.integers(1, 3), st.integers(0, 2), st.floats(0, 1e6, allow_nan=False)),
                min_size=1, max_size=80, unique_by=lambda p: (p[0], p[1] * 1000)))
def test_daily_partials_equal_a_sequential_pass(points: list[tuple[int, int, float]]) -> None:
    # distinct (series, time): time = day * 86400 s + position, so each bucket has its own times
    sid = np.array([p[0] for p in points], np.int64)
    day = np.array([p[1] for p in points], np.int64)
    t = np.array([p[1] * 86_400_000_000 + i for i, p in enumerate(points)], np.int64)
    v = np.array([p[2] for p in points], np.float64)
    buckets: dict[tuple[int, int], list[tuple[int, float]]] = defaultdict(list)
    for s_, d_, t_, v_ in zip(sid.tolist(), day.tolist(), t.tolist(), v.tolist(), strict=True):
        buckets[(s_, d_)].append((t_, v_))
    got = daily_partials(sid, day, t, v)
    assert len(got) == len(buckets)
    for i, key in enumerate(sorted(buckets)):
        pts = buckets[key]
        total = 0.0
        for _, x in pts:
            total += x  # one after another, in delivery order
        assert (int(got.series_id[i]), int(got.day[i])) == key
        assert float(got.sum[i]) == total and int(got.count[i]) == len(pts)
        assert float(got.min[i]) == min(x for _, x in pts) and float(got.max[i]) == max(x for _, x in pts)
        assert (int(got.last_at[i]), float(got.last[i])) == max(pts)
