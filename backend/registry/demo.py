"""The demo registry: about 150 synthetic enterprises for Wuhai, deterministic for a seed.

Names are plainly synthetic ("示例" = sample) so nobody mistakes them for real firms.
Industry proportions follow Wuhai's structure: coal mining and washing, coking,
chlor-alkali/PVC, calcium carbide and ferro-alloy dominate; power, building materials and
fine chemicals follow. Some enterprises carry history (moved park, became above-scale) so
that the registry's versioning is exercised by the demo too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

from backend.registry import uscc

# (group, GB/T 4754-2017 class, share of enterprises, name stem zh, name stem en, above-scale probability)
INDUSTRIES: tuple[tuple[str, str, float, str, str, float], ...] = (
    ("coal_mining", "0610", 0.17, "煤业", "Coal Mining", 0.85),
    ("coal_washing", "0620", 0.10, "洗煤", "Coal Washing", 0.7),
    ("coking", "2521", 0.13, "焦化", "Coking", 0.95),
    ("chlor_alkali", "2613", 0.07, "氯碱化工", "Chlor-Alkali", 1.0),
    ("carbide", "2619", 0.10, "电石", "Carbide", 0.9),
    ("ferro_alloy", "3150", 0.10, "铁合金", "Ferro-Alloy", 0.85),
    ("power", "4411", 0.06, "热电", "Power", 1.0),
    ("building_materials", "3011", 0.10, "建材", "Building Materials", 0.6),
    ("fine_chemicals", "2662", 0.09, "精细化工", "Fine Chemicals", 0.7),
    ("other", "3399", 0.08, "制造", "Manufacturing", 0.4),
)

# Where each industry sits: (district code, park code or None) with weights.
PLACES: dict[str, tuple[tuple[str, str | None, float], ...]] = {
    "coal_mining": (("150304", None, 0.45), ("150303", None, 0.4), ("150302", None, 0.15)),
    "coal_washing": (("150304", "WD", 0.4), ("150303", "HN", 0.4), ("150302", "QLS", 0.2)),
    "coking": (("150304", "WD", 0.4), ("150303", "HN", 0.35), ("150302", "QLS", 0.25)),
    "chlor_alkali": (("150304", "WD", 0.5), ("150303", "DT", 0.3), ("150302", "QLS", 0.2)),
    "carbide": (("150304", "WD", 0.5), ("150303", "HN", 0.3), ("150302", "QLS", 0.2)),
    "ferro_alloy": (("150304", "WD", 0.4), ("150303", "HN", 0.4), ("150302", "QLS", 0.2)),
    "power": (("150304", "WD", 0.35), ("150303", "HN", 0.35), ("150302", "QLS", 0.3)),
    "building_materials": (("150302", "QLS", 0.4), ("150303", "DT", 0.3), ("150391", None, 0.3)),
    "fine_chemicals": (("150303", "DT", 0.5), ("150302", "QLS", 0.3), ("150304", "WD", 0.2)),
    "other": (("150391", None, 0.5), ("150302", None, 0.3), ("150302", "QLS", 0.2)),
}

SHORT_NAMES = "安宝昌诚达德丰富广国海恒宏华汇佳金锦凯坤蓝隆茂明鹏荣瑞盛泰腾通伟鑫兴阳益永裕源远悦正中卓"
HISTORY_START = date(2020, 1, 1)


@dataclass
class VersionSpec:
    valid_from: date
    district_code: str
    park_code: str | None
    industry_code: str
    industry_group: str
    above_scale: bool
    key_enterprise: bool


@dataclass
class EnterpriseSpec:
    uscc: str
    name_zh: str
    name_en: str
    versions: list[VersionSpec] = field(default_factory=list)


def _pick(rng: random.Random, places: tuple[tuple[str, str | None, float], ...]) -> tuple[str, str | None]:
    r = rng.random() * sum(w for *_, w in places)
    for d, p, w in places:
        r -= w
        if r <= 0:
            return d, p
    return places[-1][0], places[-1][1]


def demo_enterprises(count: int = 150, seed: int = 20261127) -> list[EnterpriseSpec]:
    """`count` synthetic enterprises with valid USCCs; identical output for identical arguments."""
    rng = random.Random(seed)
    out: list[EnterpriseSpec] = []
    used_names: set[str] = set()
    for group, isic, share, stem_zh, stem_en, p_above in INDUSTRIES:
        n = max(1, round(count * share))
        for _ in range(n):
            if len(out) >= count:
                break
            while True:
                short = "".join(rng.sample(SHORT_NAMES, 2))
                if short not in used_names:
                    used_names.add(short)
                    break
            idx = len(out) + 1
            district, park = _pick(rng, PLACES[group])
            org_code = f"{rng.randrange(10**8):08d}" + rng.choice("0123456789X")
            code = uscc.make("9", "1", district, org_code.replace("X", "0"))
            above = rng.random() < p_above
            key = above and rng.random() < 0.35
            spec = EnterpriseSpec(
                uscc=code,
                name_zh=f"示例{short}{stem_zh}有限公司",
                name_en=f"Sample {stem_en} Co. No.{idx:03d}",
                versions=[VersionSpec(HISTORY_START, district, park, isic, group, above, key)],
            )
            # A few histories: a move into a park, and entry into the above-scale set.
            roll = rng.random()
            first = spec.versions[0]
            if roll < 0.05 and park is None:
                target = next((p for d, p, _ in PLACES[group] if p is not None), None)
                if target:
                    moved_on = date(2024, rng.randrange(1, 13), 1)
                    spec.versions.append(VersionSpec(moved_on, _district_of_park(target), target, isic, group,
                                                     first.above_scale, first.key_enterprise))
            elif roll < 0.12 and not above:
                spec.versions.append(VersionSpec(date(2025, 1, 1), district, park, isic, group, True, False))
            out.append(spec)
    return out


PARK_DISTRICT = {"QLS": "150302", "WD": "150304", "HN": "150303", "DT": "150303"}


def _district_of_park(park: str) -> str:
    return PARK_DISTRICT[park]
