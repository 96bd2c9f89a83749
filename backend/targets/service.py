"""Annual district targets: setting them (audited) and measuring progress through the year."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from backend.aggregates import service as aggregates
from backend.aggregates.periods import Bucket
from backend.api.problems import NotFound
from backend.auth import service as auth_service
from backend.auth.rules import Principal
from backend.catalogue import repository as catalogue_repo
from backend.targets import repository as repo
from backend.targets import rules
from backend.targets.models import DistrictTarget

# The published year-to-date growth (comparable prices) that, where present, judges progress.
PUBLISHED_GROWTH = {"econ.value_added": "econ.value_added_growth.ytd"}


def upsert(session: Session, actor: Principal, district_id: int, year: int, indicator: str, growth_pct: float,
           note: str | None, origin: auth_service.Origin) -> DistrictTarget:
    t = repo.get_target(session, district_id, year, indicator)
    before = None if t is None else t.target_growth_pct
    if t is None:
        t = DistrictTarget(district_id=district_id, year=year, indicator_code=indicator,
                           target_growth_pct=growth_pct, note=note)
        repo.add(session, t)
    else:
        t.target_growth_pct, t.note, t.updated_at = growth_pct, note, datetime.now(UTC)
        session.flush()
    auth_service.audit(session, actor, "target.upsert", "district_target", t.id,
                       {"district_id": district_id, "year": year, "indicator": indicator, "before": before,
                        "after": growth_pct, "note": note}, origin)
    return t


def remove(session: Session, actor: Principal, district_id: int, year: int, indicator: str,
           origin: auth_service.Origin) -> None:
    t = repo.get_target(session, district_id, year, indicator)
    if t is None:
        raise NotFound(f"no {indicator} target for district {district_id} in {year}")
    auth_service.audit(session, actor, "target.delete", "district_target", t.id,
                       {"district_id": district_id, "year": year, "indicator": indicator,
                        "before": t.target_growth_pct}, origin)
    repo.delete(session, t)


@dataclass
class Progress:
    target: DistrictTarget
    as_of_month: date | None
    ytd_value: float | None
    last_year_ytd: float | None
    computed_ytd_growth_pct: float | None
    published_ytd_growth_pct: float | None
    actual_ytd_growth_pct: float | None
    last_year_total: float | None
    required_total: float | None
    completion_pct: float | None
    time_elapsed_pct: float | None
    status: str


def progress(session: Session, targets: list[DistrictTarget], as_of: date, tz: str) -> list[Progress]:
    """Progress of each target through `as_of` (local day): 累计 and 累计同比 of the district
    through the latest month with data, the published 累计增速 where there is one, and the
    whole-year amount the target implies."""
    out = []
    for t in targets:
        end = min(as_of, date(t.year, 12, 31))
        ytd = ly_ytd = growth = None
        month: date | None = None
        if end >= date(t.year, 1, 1):
            res = aggregates.series(session, aggregates.SeriesQuery(
                indicator=t.indicator_code, bucket=Bucket.month, start=date(t.year, 1, 1), end=end,
                district_ids=(t.district_id,), figures=frozenset({"yoy", "ytd"})), tz)
            pts = [p for g in res.groups for p in g.points if p.math.value is not None]
            if pts:
                last = pts[-1]
                month, ytd, ly_ytd, growth = last.key, last.math.ytd, last.math.last_year_ytd, last.math.ytd_yoy_pct
        total = _year_total(session, t.indicator_code, t.district_id, t.year - 1, tz)
        published = _published(session, t.indicator_code, t.district_id, t.year, end, tz)
        actual = published if published is not None else growth
        required = rules.required_total(total, t.target_growth_pct)
        out.append(Progress(
            target=t, as_of_month=month if isinstance(month, date) else None, ytd_value=ytd, last_year_ytd=ly_ytd,
            computed_ytd_growth_pct=growth, published_ytd_growth_pct=published, actual_ytd_growth_pct=actual,
            last_year_total=total, required_total=required,
            completion_pct=(ytd / required * 100.0) if ytd is not None and required else None,
            time_elapsed_pct=(month.month / 12 * 100.0) if isinstance(month, date) else None,
            status=rules.status(actual, t.target_growth_pct)))
    return out


def _year_total(session: Session, indicator: str, district_id: int, year: int, tz: str) -> float | None:
    res = aggregates.series(session, aggregates.SeriesQuery(
        indicator=indicator, bucket=Bucket.year, start=date(year, 1, 1), end=date(year, 12, 31),
        district_ids=(district_id,), figures=frozenset()), tz)
    vals = [p.math.value for g in res.groups for p in g.points if p.math.value is not None]
    return vals[0] if vals else None


def _published(session: Session, indicator: str, district_id: int, year: int, end: date, tz: str) -> float | None:
    code = PUBLISHED_GROWTH.get(indicator)
    if code is None or catalogue_repo.get_indicator(session, code) is None or end < date(year, 1, 1):
        return None
    res = aggregates.series(session, aggregates.SeriesQuery(
        indicator=code, bucket=Bucket.month, start=date(year, 1, 1), end=end, district_ids=(district_id,),
        figures=frozenset()), tz)
    vals = [p.math.value for g in res.groups for p in g.points if p.math.value is not None]
    return vals[-1] if vals else None
