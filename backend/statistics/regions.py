"""Province-level administrative division codes (GB/T 2260), for statistics files that
name provinces without their codes. Used only when a mapping sets `auto_regions: true`."""

from __future__ import annotations

from backend.statistics.parsing import normalise

PROVINCES: dict[str, str] = {
    "110000": "北京市", "120000": "天津市", "130000": "河北省", "140000": "山西省", "150000": "内蒙古自治区",
    "210000": "辽宁省", "220000": "吉林省", "230000": "黑龙江省", "310000": "上海市", "320000": "江苏省",
    "330000": "浙江省", "340000": "安徽省", "350000": "福建省", "360000": "江西省", "370000": "山东省",
    "410000": "河南省", "420000": "湖北省", "430000": "湖南省", "440000": "广东省", "450000": "广西壮族自治区",
    "460000": "海南省", "500000": "重庆市", "510000": "四川省", "520000": "贵州省", "530000": "云南省",
    "540000": "西藏自治区", "610000": "陕西省", "620000": "甘肃省", "630000": "青海省", "640000": "宁夏回族自治区",
    "650000": "新疆维吾尔自治区", "000000": "全国",
}

_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市")


def province_code(name: str) -> str | None:
    """The code of a province written in full (内蒙古自治区) or short (内蒙古)."""
    n = normalise(name)
    for code, full in PROVINCES.items():
        short = full
        for s in _SUFFIXES:
            if short.endswith(s):
                short = short[: -len(s)]
                break
        if n in (full, short):
            return code
    return None
