"""Pure parsing of official statistics cells: periods, numbers, measures, labels and units.

Every function takes text and returns a value (or None for "not there"); none does I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Measure(StrEnum):
    MONTH = "month"  # 当月值 / 本月 / 当期值
    YTD = "ytd"  # 累计值 / 1-本月 / 本年累计
    GROWTH_MONTH = "growth_month"  # 当月同比增长 (%)
    GROWTH_YTD = "growth_ytd"  # 累计同比增长 (%)
    OTHER = "other"  # 比重, 占比, 上年同期 ...: never stored


@dataclass(frozen=True, order=True)
class Period:
    """A statistics period: the months first..last of one year. A single month has
    first == last; 1-2月 is (year, 1, 2); a year-to-date header 1-9月 is (year, 1, 9)."""

    year: int | None
    first: int
    last: int

    @property
    def is_range(self) -> bool:
        return self.first != self.last

    def with_year(self, year: int | None) -> Period:
        return self if self.year is not None or year is None else Period(year, self.first, self.last)

    def __str__(self) -> str:
        y = f"{self.year}年" if self.year else ""
        return f"{y}{self.first}月" if not self.is_range else f"{y}{self.first}-{self.last}月"


def normalise(text: str) -> str:
    """NFKC (full-width to half-width), no spaces of any kind, for matching labels."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))


_DASHES = "-–—~～至到"
_RANGE = rf"(\d{{1,2}})\s*月?\s*[{_DASHES}]\s*(\d{{1,2}})\s*月"
_PERIOD_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"(\d{{4}})\s*年\s*{_RANGE}"), "year_range"),  # 2021年1-2月, 2021年1月-9月
    (re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月"), "year_month"),  # 2021年9月, 2021年09月份
    (re.compile(r"(?<!\d)(\d{4})\s*[-/.]\s*(\d{1,2})(?![\d])"), "year_month"),  # 2021-09, 2021/9, 2021.09
    (re.compile(r"(?<!\d)(\d{4})M(\d{1,2})(?!\d)", re.IGNORECASE), "year_month"),  # 2021M09
    (re.compile(r"(?<!\d)(\d{4})(0[1-9]|1[0-2])(?!\d)"), "year_month"),  # 202109
    (re.compile(rf"(?<!\d){_RANGE}"), "range"),  # 1-9月 (year from context)
    (re.compile(r"(?<![\d年])(\d{1,2})\s*月"), "month"),  # 9月 (year from context)
)


def parse_period(text: str, year: int | None = None) -> Period | None:
    """The period written in `text`, if any, in any of the shapes official tables use;
    `year` fills in a period written without one (a header "1-9月" under a title "2021年")."""
    t = unicodedata.normalize("NFKC", text or "").strip()
    if not t:
        return None
    for pattern, kind in _PERIOD_PATTERNS:
        m = pattern.search(t)
        if not m:
            continue
        g = [int(x) for x in m.groups()]
        if kind == "year_range":
            p = Period(g[0], g[1], g[2])
        elif kind == "year_month":
            p = Period(g[0], g[1], g[1])
        elif kind == "range":
            p = Period(year, g[0], g[1])
        else:
            p = Period(year, g[0], g[0])
        if not (1 <= p.first <= p.last <= 12) or (p.year is not None and not 1949 <= p.year <= 2100):
            return None
        return p
    return None


def remove_periods(text: str) -> str:
    """`text` with every period in it removed (so "2021年1-2月累计" leaves "累计")."""
    t = unicodedata.normalize("NFKC", text or "")
    for pattern, _ in _PERIOD_PATTERNS:
        t = pattern.sub(" ", t)
    return t


def find_year(text: str) -> int | None:
    """A year mentioned in a title ("2021年全区工业…"), for headers without one."""
    m = re.search(r"(?<!\d)((?:19|20)\d{2})\s*年", unicodedata.normalize("NFKC", text or ""))
    return int(m.group(1)) if m else None


# Measure words. Order matters: growth before plain cumulative (累计增长 is a growth).
_OTHER_WORDS = ("比重", "占比", "占全", "上年同期", "去年同期", "上年同月", "去年同月", "排名", "位次")
_GROWTH_WORDS = ("增长", "增速", "同比", "增减", "%", "±")
_YTD_WORDS = ("累计", "1-本月", "1至本月", "1—本月", "本年", "年初", "自年初")
_MONTH_WORDS = ("当月", "本月", "当期", "本期", "月度")


def parse_measure(text: str) -> Measure | None:
    """Which series a header, label suffix or measure cell names, or None if it names none."""
    t = normalise(text)
    if not t:
        return None
    if any(w in t for w in _GROWTH_WORDS) and not any(w in t for w in ("增长值",)):
        if any(w in t for w in _OTHER_WORDS) and not ("同比" in t or "增长" in t):
            return Measure.OTHER
        return Measure.GROWTH_YTD if any(w in t for w in _YTD_WORDS) else Measure.GROWTH_MONTH
    if any(w in t for w in _OTHER_WORDS):
        return Measure.OTHER
    if any(w in t for w in _YTD_WORDS) or re.search(r"(?<!\d)1\s*[-—–~～至]\s*\d{1,2}\s*月", t):
        return Measure.YTD
    if any(w in t for w in _MONTH_WORDS):
        return Measure.MONTH
    return None


_MISSING = {"", "-", "--", "—", "——", "…", "...", "……", "x", "X", "/", "NA", "N/A", "n/a", "null", "NULL", "#N/A"}


class NumberError(ValueError):
    pass


def parse_number(text: str, *, zero_is_missing: bool = True) -> float | None:
    """A published number, or None when the cell means "not published" (blank, dashes,
    ellipsis, x, and 0 unless `zero_is_missing` is false). Thousands separators, stray
    (full-width) spaces, footnote marks (*, ①), a trailing % and a minus sign (−) are tolerated. Raises
    NumberError for anything else."""
    t = unicodedata.normalize("NFKC", text or "").replace("\u2212", "-")  # − (minus sign)
    t = re.sub(r"[\s\u3000\xa0]+", "", t)
    if t in _MISSING:
        return None
    t = re.sub(r"[*#①②③④⑤⑥⑦⑧⑨⑩注]+$", "", t).rstrip("%")
    if re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?", t):
        t = t.replace(",", "")
    if re.fullmatch(r"\(\d+(\.\d+)?\)", t):  # accounting negative
        t = "-" + t[1:-1]
    if not re.fullmatch(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?", t):
        raise NumberError(f"不是数字 / not a number: {text.strip()!r}")
    v = float(t)
    if v == 0 and zero_is_missing:
        return None
    return v


_UNIT_ALIASES = {
    "千瓦小时": "千瓦时", "万千瓦小时": "万千瓦时", "亿千瓦小时": "亿千瓦时", "度": "千瓦时", "万度": "万千瓦时",
    "亿度": "亿千瓦时", "吨标煤": "吨标准煤", "万吨标煤": "万吨标准煤", "tce": "吨标准煤", "％": "%", "百分比": "%",
    "万m3": "万立方米", "亿m3": "亿立方米", "万立方": "万立方米", "亿立方": "亿立方米", "kWh": "千瓦时",
}


def normalise_unit(text: str) -> str | None:
    """A unit as written ("万 吨", "（亿千瓦小时）", "单位：万吨") in the catalogue's spelling."""
    t = normalise(text)
    t = re.sub(r"^(计量)?单位[:：]?", "", t).strip("()（）[]【】")
    if not t:
        return None
    return _UNIT_ALIASES.get(t, t)


_LABEL_UNIT = re.compile(r"[(（\[【]([^()（）\[\]【】]*)[)）\]】]\s*$")
_LABEL_MEASURES = ("当期值", "当月值", "累计值", "累计增长", "同比增长", "当期", "当月", "本月", "累计", "增速")


@dataclass(frozen=True)
class Label:
    full: str  # normalised, unit removed: 发电量当期值
    base: str  # measure word removed too: 发电量
    unit: str | None
    measure: Measure | None


def split_label(text: str) -> Label:
    """An indicator label as exported ("发电量当期值(亿千瓦时)", "原煤产量_累计增长(%)") split
    into its name, the measure it names and the unit in brackets."""
    t = normalise(text)
    unit = None
    m = _LABEL_UNIT.search(t)
    if m:
        unit = normalise_unit(m.group(1))
        t = t[:m.start()]
    measure = parse_measure(t)
    base = t
    for w in _LABEL_MEASURES:
        i = base.find(w)
        if i > 0:
            base = base[:i]
            break
    base = base.rstrip("_-:：·")
    return Label(full=t, base=base, unit=unit, measure=measure)
