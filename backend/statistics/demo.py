"""Demo data for the statistics importer: the city's monthly statistics bulletin (统计月报)
for the months of the demo's direct reports, written as the long CSV the bureau exports and
imported through `service.import_file` with its mapping, like any official file.

Figures come from the simulator's world, as the direct reports do (backend/reporting/demo.py):
product output is the producing industries' electricity divided by their kWh per t, the
industrial electricity is the enterprises' metered use, total consumption adds households
and services, generation is the power plants' station use over its 6% share.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from backend.reporting import demo as reporting_demo
from backend.reporting.rules import next_month
from backend.statistics import repository as repo
from backend.statistics import service
from backend.statistics.mapping import parse_mapping
from ingest.simulator.generator import RESIDENTIAL_MW, World

FILE_NAME = "乌海市统计月报（演示）.csv"
SOURCE = "stats:wuhai-demo"
# name on the bulletin, unit on the bulletin, indicator, producing industry (None: electricity)
ROWS: tuple[tuple[str, str, str, str | None, float], ...] = (
    ("原煤产量", "万吨", "stats.raw_coal", "coal_mining", 1.0),
    ("焦炭产量", "万吨", "stats.coke", "coking", 1.0),
    ("电石产量", "万吨", "stats.carbide", "carbide", 1.0),
    ("铁合金产量", "万吨", "stats.ferroalloy", "ferro_alloy", 1.0),
    ("水泥产量", "万吨", "stats.cement", "building_materials", 1.0),
    ("烧碱产量", "万吨", "stats.caustic_soda", "chlor_alkali", 1.0),
    ("聚氯乙烯产量", "万吨", "stats.pvc", "chlor_alkali", 0.85),
    ("发电量", "亿千瓦时", "stats.power_generation", "power", 1 / 0.06),
    ("工业用电量", "亿千瓦时", "stats.industrial_power", None, 1.0),
    ("全社会用电量", "亿千瓦时", "stats.power_consumption", None, 1.0),
)
# Households, services and the rest outside the enterprises, as a share of the residential load.
OTHER_USE_FACTOR = 0.8


@dataclass
class StatsDemoResult:
    file_sha256: str
    imported: bool
    inserted: int = 0
    unchanged: int = 0
    rejected: int = 0


def mapping_doc() -> dict[str, object]:
    return {"name": "wuhai-demo-bulletin", "source": SOURCE, "regions": {"150300": "city"},
            "indicators": {name: code for name, _, code, _, _ in ROWS}}


def bulletin_csv(world: World, months: list[date]) -> bytes:
    """The bulletin for `months` (当月 and 累计 rows, city level), UTF-8 CSV. Pure."""
    powers = world.of("power.consumption")
    monthly: dict[date, dict[str, float]] = {}
    for m in months:
        by_group: dict[str, float] = {}
        for s in powers:
            g = s.entity.group or "other"
            by_group[g] = by_group.get(g, 0.0) + reporting_demo.monthly_power_kwh(world, s, m)
        days = (next_month(m) - m).days
        industrial = sum(by_group.values())
        other = sum(RESIDENTIAL_MW.values()) * 1000 * 24 * days * OTHER_USE_FACTOR
        row: dict[str, float] = {}
        for name, _, _, group, factor in ROWS:
            if group == "power":
                row[name] = by_group.get(group, 0.0) * factor / 1e8
            elif group is not None:
                row[name] = by_group.get(group, 0.0) / reporting_demo.RATIOS[group][0] * factor / 1e4
            else:
                row[name] = (industrial if name == "工业用电量" else industrial + other) / 1e8
        monthly[m] = row
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["指标", "单位", "地区代码", "地区", "时间", "口径", "值"])
    for name, unit, _, _, _ in ROWS:
        ytd, year = 0.0, None
        for m in months:
            if m.year != year:
                ytd, year = 0.0, m.year
            ytd += monthly[m][name]
            w.writerow([name, unit, "150300", "乌海市", f"{m.year}年{m.month}月", "当月", f"{monthly[m][name]:.2f}"])
            w.writerow([name, unit, "150300", "乌海市", f"{m.year}年{m.month}月", "累计", f"{ytd:.2f}"])
    return out.getvalue().encode("utf-8")


def import_demo_bulletin(session: Session, world: World, months: list[date], tz: str,
                         now: datetime) -> StatsDemoResult:
    """Import the demo bulletin unless a file with the same content was imported already."""
    data = bulletin_csv(world, months)
    sha = hashlib.sha256(data).hexdigest()
    if any(b.file_sha256 == sha for b in repo.list_batches(session, limit=200)):
        return StatsDemoResult(sha, imported=False)
    report = service.import_file(session, data, FILE_NAME, parse_mapping(mapping_doc()), tz=tz, now=now)
    return StatsDemoResult(sha, True, report.inserted, report.unchanged, len(report.rejections))
