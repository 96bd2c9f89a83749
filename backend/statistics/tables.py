"""Turning the bytes of a statistics file into a grid of strings (no database, no files).

CSV comes as UTF-8, UTF-8 with BOM, GBK/GB18030 or UTF-16 (Excel's "Unicode text");
the delimiter is sniffed. XLSX is read with openpyxl and .xls (the statistics bureau's
usual export) with xlrd; merged cells are filled with their top-left value so several
header rows read like the printed table.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

Grid = list[list[str]]


class TableError(ValueError):
    """The file cannot be read as a table at all (the whole import stops)."""


def decode_text(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and the encoding used. Tries UTF-8 (with or without BOM),
    UTF-16 with BOM, then GB18030 (a superset of GBK and GB2312)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise TableError(f"无法识别文件编码 / cannot decode the file as UTF-8 or GB18030: {exc}") from exc


def read_csv(data: bytes) -> tuple[Grid, str]:
    """Rows of a CSV/TSV file as strings, and the encoding detected."""
    text, encoding = decode_text(data)
    sample = "\n".join(text.splitlines()[:30])
    counts = {d: sample.count(d) for d in (",", "\t", ";", "，")}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    try:  # newline="": the csv module reads the line ends itself (a lone CR included)
        rows = [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        raise TableError(f"无法读取CSV文件 / cannot read the CSV file: {exc}") from exc
    return rows, encoding


def _cell_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime | date):
        # A month typed as a date in Excel (2021-09-01) is the month 2021-09.
        return f"{v.year:04d}-{v.month:02d}"
    if isinstance(v, float):
        return repr(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    return str(v)


def read_xlsx(data: bytes, sheet: str | None = None) -> Grid:
    """Cells of one sheet (the first, or `sheet`) as strings, merged cells filled in."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise TableError(f"无法读取XLSX文件 / cannot read the XLSX file: {exc}") from exc
    if sheet is not None and sheet not in wb.sheetnames:
        raise TableError(f"工作表不存在 / no sheet {sheet!r} (sheets: {', '.join(wb.sheetnames)})")
    ws = wb[sheet] if sheet else wb.worksheets[0]
    grid = [[_cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
    for rng in ws.merged_cells.ranges:
        top = _cell_text(ws.cell(rng.min_row, rng.min_col).value)
        for r in range(rng.min_row, rng.max_row + 1):
            for c in range(rng.min_col, rng.max_col + 1):
                if r - 1 < len(grid) and c - 1 < len(grid[r - 1]):
                    grid[r - 1][c - 1] = top
    return grid


def read_xls(data: bytes, sheet: str | None = None) -> Grid:
    """Cells of one sheet of a legacy .xls (BIFF) workbook, merged cells filled in."""
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, formatting_info=False)
    except Exception as exc:
        raise TableError(f"无法读取XLS文件 / cannot read the XLS file: {exc}") from exc
    names = book.sheet_names()
    if sheet is not None and sheet not in names:
        raise TableError(f"工作表不存在 / no sheet {sheet!r} (sheets: {', '.join(names)})")
    sh = book.sheet_by_name(sheet) if sheet else book.sheet_by_index(0)
    grid: Grid = []
    for r in range(sh.nrows):
        row = []
        for c in range(sh.ncols):
            cell = sh.cell(r, c)
            if cell.ctype == xlrd.XL_CELL_DATE:
                row.append(_cell_text(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode)))
            else:
                row.append(_cell_text(cell.value))
        grid.append(row)
    for r0, r1, c0, c1 in getattr(sh, "merged_cells", []):
        top = grid[r0][c0]
        for r in range(r0, r1):
            for c in range(c0, c1):
                grid[r][c] = top
    return grid


def read_table(data: bytes, file_name: str, sheet: str | None = None) -> tuple[Grid, str]:
    """The grid of a statistics file and a short description of its format."""
    name = file_name.lower()
    if data.startswith(b"PK\x03\x04") or name.endswith((".xlsx", ".xlsm")):
        return read_xlsx(data, sheet), "xlsx"
    if data.startswith(b"\xd0\xcf\x11\xe0") or name.endswith(".xls"):
        if data.lstrip()[:1] == b"<":
            raise TableError("该.xls文件实为网页（HTML），请在Excel中另存为xlsx或csv / this .xls file is really "
                             "HTML: save it as .xlsx or .csv first")
        return read_xls(data, sheet), "xls"
    grid, encoding = read_csv(data)
    return grid, f"csv ({encoding})"
