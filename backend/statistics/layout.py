"""Pure: a grid of strings (long or wide, one or several header rows, a title and notes
around it) -> one `Cell` per published value position, with everything needed to
interpret it. Nothing here knows our indicators or registry; `rules` does that.

The table is read the way a person reads it:
- rows above the header are the preamble: "指标：…", "地区：…", "单位：…" and a title with a
  period ("2021年9月全区规模以上工业主要产品产量") give defaults for the whole table;
- the header row is the first one naming a known column (指标, 地区, 时间, 值 …) or showing
  at least two periods; the rows just below it with no key and no number are more header
  rows (e.g. 当月 / 累计 under a row of months); an empty header cell continues the one on
  its left, as a merged cell does;
- key columns (indicator, unit, region, period, measure) are found by their header;
  every other column with a header is a value column (a long table's 值, or a wide
  table's months or 本月 / 1-本月累计);
- rows that only carry a note (注：…, 数据来源：…) and blank rows are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.statistics.parsing import NumberError, find_year, normalise, parse_number, parse_period

ROLES = ("indicator_code", "indicator", "unit", "region_code", "region", "period", "measure", "value")

# Header spellings seen in official exports, per role (compared after `normalise`).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "indicator_code": ("指标代码", "指标编码", "指标编号", "代码", "产品代码", "产品编码", "indicatorcode", "code"),
    "indicator": ("指标", "指标名称", "指标名", "产品名称", "产品", "项目", "主要产品", "名称", "indicator"),
    "unit": ("单位", "计量单位", "unit"),
    "region_code": ("地区代码", "省市代码", "行政区划代码", "区划代码", "地区编码", "地区编号", "regioncode"),
    "region": ("地区", "地区名称", "省市名称", "省市", "省份", "地区名", "地区/省市", "省市/地区", "地市", "旗县区",
               "区域", "region"),
    "period": ("时间", "日期", "统计时间", "报告期", "月份", "时期", "期别", "统计期", "年月", "period", "time"),
    "measure": ("口径", "统计口径", "类型", "数据类型", "值类型", "measure"),
    "value": ("值", "数值", "数据", "指标值", "value"),
}

_PREAMBLE_KEYS = {"指标": "indicator", "地区": "region", "时间": "period", "单位": "unit", "计量单位": "unit",
                  "省市": "region"}
_NOTE_PREFIXES = ("注", "数据来源", "资料来源", "来源", "说明", "备注", "附注", "制表", "填报")


class LayoutError(ValueError):
    """The table's shape cannot be recognised (the whole import stops, with this reason)."""


@dataclass(frozen=True)
class LayoutOptions:
    """What a mapping file may pin down instead of auto-detection."""

    header_row: int | None = None  # 1-based
    header_rows: int | None = None
    columns: dict[str, str] = field(default_factory=dict)  # role -> header text
    ignore_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cell:
    row: int  # 1-based, as a spreadsheet shows it
    column: str  # A, B, …
    header: str  # the column's combined header text
    value: str
    indicator_code: str = ""
    indicator: str = ""
    unit: str = ""
    region_code: str = ""
    region: str = ""
    period: str = ""
    measure: str = ""
    raw: str = ""  # the whole row, for the quarantine

    @property
    def location(self) -> str:
        return f"{self.column}{self.row}"


@dataclass(frozen=True)
class Context:
    """Defaults for the whole table, read from its preamble."""

    indicator: str = ""
    region: str = ""
    unit: str = ""
    period: str = ""
    year: int | None = None


@dataclass
class Table:
    context: Context
    header_rows: list[int]  # 1-based
    roles: dict[str, int]  # role -> 0-based column
    value_columns: list[int]
    cells: list[Cell]
    skipped_rows: list[int]  # notes and blank rows


def column_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _is_number(text: str) -> bool:
    try:
        return parse_number(text, zero_is_missing=False) is not None
    except NumberError:
        return False


def _role_of(text: str, options: LayoutOptions) -> str | None:
    n = normalise(text).lower()
    if not n:
        return None
    for role, header in options.columns.items():
        if normalise(header).lower() == n:
            return role
    for role, names in SYNONYMS.items():
        if role in options.columns:
            continue  # the mapping names another column for this role
        if n in names:
            return role
    return None


def _find_header(grid: list[list[str]], options: LayoutOptions) -> int:
    if options.header_row is not None:
        if not 1 <= options.header_row <= len(grid):
            raise LayoutError(f"header_row {options.header_row} is outside the table ({len(grid)} rows)")
        return options.header_row - 1
    for i, row in enumerate(grid[:60]):
        cells = [c for c in row if c.strip()]
        if len(cells) < 2:
            continue
        if any(_role_of(c, options) in ("indicator", "indicator_code", "region", "region_code", "period", "value")
               for c in cells):
            return i
        if sum(1 for c in cells if parse_period(c) is not None and not _is_number(c)) >= 2:
            return i
    raise LayoutError("找不到表头（指标/地区/时间/值 或 月份） / no header row found: name the header row in the "
                      "mapping (header_row) or the columns (columns: {indicator: …, value: …})")


def _read_context(rows: list[list[str]]) -> Context:
    values: dict[str, str] = {}
    year: int | None = None
    title_period = ""
    for row in rows:
        for cell in row:
            t = normalise(cell)
            if not t:
                continue
            for sep in (":", "："):
                if sep in t:
                    key, _, val = t.partition(sep)
                    if key in _PREAMBLE_KEYS and val:
                        values.setdefault(_PREAMBLE_KEYS[key], val)
                    break
            else:
                if not title_period and parse_period(t) is not None:
                    title_period = t
            year = year or find_year(t)
    period = values.get("period") or title_period
    p = parse_period(period) if period else None
    # "时间：最近13个月" is a query description, not a period.
    return Context(indicator=values.get("indicator", ""), region=values.get("region", ""),
                   unit=values.get("unit", ""), period=period if p is not None else "",
                   year=(p.year if p is not None and p.year else year))


def _is_note(row: list[str]) -> bool:
    cells = [normalise(c) for c in row if c.strip()]
    if not cells:
        return True
    return len(cells) == 1 and cells[0].startswith(_NOTE_PREFIXES)


def read_layout(grid: list[list[str]], options: LayoutOptions | None = None) -> Table:
    """Find the header, the key and value columns, and list every value position."""
    options = options or LayoutOptions()
    grid = [[c if isinstance(c, str) else str(c) for c in row] for row in grid]
    width = max((len(r) for r in grid), default=0)
    grid = [r + [""] * (width - len(r)) for r in grid]
    h = _find_header(grid, options)
    context = _read_context(grid[:h])

    # More header rows: below the first, no key text and no number in them.
    first_roles = {j: r for j, c in enumerate(grid[h]) if (r := _role_of(c, options))}
    key_cols = [j for j, r in first_roles.items() if r != "value"]
    n_header = 1
    if options.header_rows is not None:
        n_header = options.header_rows
    else:
        for row in grid[h + 1:h + 4]:
            others = [c for j, c in enumerate(row) if j not in key_cols and c.strip()]
            # (a key cell repeating the header above is a vertically merged header cell)
            if any(row[j].strip() and row[j].strip() != grid[h][j].strip() for j in key_cols) or not others \
                    or any(_is_number(c) for c in others):
                break
            n_header += 1
    header_block = grid[h:h + n_header]

    # An empty header cell continues its left neighbour (a merged cell saved as CSV), in
    # every header row but the last.
    filled: list[list[str]] = []
    for k, row in enumerate(header_block):
        out = list(row)
        if k < n_header - 1:
            for j in range(1, width):
                if not out[j].strip() and out[j - 1].strip() and j not in first_roles:
                    out[j] = out[j - 1]
        filled.append(out)
    combined = [" ".join(dict.fromkeys(r[j].strip() for r in filled if r[j].strip())) for j in range(width)]

    roles: dict[str, int] = {}
    for j in range(width):
        for hrow in filled:
            role = _role_of(hrow[j], options)
            if role and role not in roles and role != "value":
                roles[role] = j
                break
    ignored = {normalise(c) for c in options.ignore_columns}
    value_columns = [j for j in range(width)
                     if j not in roles.values() and combined[j] and normalise(combined[j]) not in ignored
                     and not normalise(combined[j]).startswith(("序号", "备注", "排名", "位次"))
                     and not any(_role_of(r[j], options) not in (None, "value") for r in filled)]
    if not value_columns:
        raise LayoutError("找不到数值列 / no value column found under the header")

    cells: list[Cell] = []
    skipped: list[int] = []
    carried: dict[str, str] = {}
    for i in range(h + n_header, len(grid)):
        row = grid[i]
        if _is_note(row):
            skipped.append(i + 1)
            continue
        key = {role: row[j].strip() for role, j in roles.items()}
        # A blank indicator (and its unit) under a filled one continues it, as a vertically
        # merged cell does once saved as CSV.
        if not key.get("indicator") and not key.get("indicator_code"):
            for role in ("indicator", "indicator_code", "unit"):
                if role in key and not key[role]:
                    key[role] = carried.get(role, "")
        else:
            carried = {r: key.get(r, "") for r in ("indicator", "indicator_code", "unit")}
        raw = " | ".join(c.strip() for c in row).rstrip(" |")
        for j in value_columns:
            cells.append(Cell(row=i + 1, column=column_letter(j), header=combined[j], value=row[j], raw=raw, **key))
    return Table(context=context, header_rows=list(range(h + 1, h + n_header + 1)), roles=roles,
                 value_columns=value_columns, cells=cells, skipped_rows=skipped)
