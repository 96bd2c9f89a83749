"""The leading index per district and for the city, weights, and the district evaluation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from backend.aggregates import service as aggregates
from backend.aggregates.periods import Bucket, add_months
from backend.api.problems import InvalidRequest
from backend.auth import service as auth_service
from backend.auth.rules import Principal
from backend.catalogue import repository as catalogue_repo
from backend.catalogue.models import Indicator
from backend.leading_index import method
from backend.leading_index import repository as repo
from backend.registry import repository as registry_repo

HISTORY_MONTHS = 36  # fetched before the window to estimate seasonal factors


def leading_indicators(session: Session) -> list[Indicator]:
    return [i for i in catalogue_repo.list_indicators(session) if i.is_leading]


def effective_weights(session: Session) -> dict[str, float]:
    """Every leading indicator's weight: the configured one, else 1 (equal weights). Indicators
    without a good direction (e.g. coal stocks) get 0: they are not used."""
    configured = repo.weights(session)
    return {i.code: (0.0 if i.good_direction == "none" else configured.get(i.code, 1.0))
            for i in leading_indicators(session)}


def set_weights(session: Session, actor: Principal, values: dict[str, float], origin: auth_service.Origin
                ) -> dict[str, float]:
    known = {i.code for i in leading_indicators(session)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InvalidRequest(f"not leading indicators: {unknown}")
    if any(v < 0 for v in values.values()):
        raise InvalidRequest("weights cannot be negative")
    before = repo.weights(session)
    repo.upsert_weights(session, values, datetime.now(UTC))
    auth_service.audit(session, actor, "leading_index.weights", "leading_index_weight", None,
                       {"before": {k: before.get(k) for k in values}, "after": values}, origin)
    return effective_weights(session)


@dataclass
class PlaceIndex:
    group: str  # district id as text, or '' for the city
    result: method.IndexResult
    evaluation: method.Evaluation


def compute(session: Session, start: date, end: date, district_ids: tuple[int, ...] | None, by_district: bool,
            tz: str) -> tuple[list[date], list[PlaceIndex], dict[str, float]]:
    """The index over the months [start's month, end's month] for the city (district_ids None,
    by_district False), for given districts, or for each district (by_district)."""
    first, last = start.replace(day=1), end.replace(day=1)
    if last < first:
        raise InvalidRequest("end is before start")
    months = []
    m = first
    while m <= last:
        months.append(m)
        m = add_months(m, 1)
    if len(months) > 240:
        raise InvalidRequest("at most 20 years at a time")
    weights = effective_weights(session)
    inds = {i.code: i for i in leading_indicators(session)}
    per_group: dict[str, list[method.Component]] = {}
    for code, w in weights.items():
        if w <= 0:
            continue
        ind = inds[code]
        res = aggregates.series(session, aggregates.SeriesQuery(
            indicator=code, bucket=Bucket.month, start=add_months(first, -HISTORY_MONTHS), end=end,
            district_ids=district_ids, group_by="district" if by_district else "none", figures=frozenset()), tz)
        direction = 1 if ind.good_direction == "up" else -1
        for g in res.groups:
            vals = {p.key: p.math.value for p in g.points
                    if p.math.value is not None and isinstance(p.key, date) and not p.combined_months}
            per_group.setdefault(g.group, []).append(method.Component(code, w, direction, vals))
    if by_district:
        for d in registry_repo.list_districts(session):
            if district_ids is None or d.id in district_ids:
                per_group.setdefault(str(d.id), [])
    elif not per_group:
        per_group[""] = []
    out = []
    for key, comps in sorted(per_group.items()):
        result = method.composite(comps, months)
        out.append(PlaceIndex(key, result, method.evaluate(result.points)))
    return months, out, weights
