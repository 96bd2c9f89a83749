"""SQL for the statistics import: lookups the rules need, batches, stored qualities."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backend.catalogue.models import Indicator
from backend.observations.models import Series
from backend.registry.models import District, Enterprise, Park
from backend.statistics.models import ImportBatch
from backend.statistics.parsing import normalise
from backend.statistics.rules import IndicatorInfo, RegistryIndex


def indicator_infos(session: Session) -> dict[str, IndicatorInfo]:
    return {code: IndicatorInfo(unit, freq, agg) for code, unit, freq, agg in session.execute(
        select(Indicator.code, Indicator.unit_code, Indicator.frequency, Indicator.agg_time))}


def registry_index(session: Session) -> RegistryIndex:
    districts = session.execute(select(District.id, District.code, District.name_zh)).all()
    parks = session.execute(select(Park.id, Park.code, Park.name_zh)).all()
    return RegistryIndex(
        districts_by_code={c: i for i, c, _ in districts},
        districts_by_name={normalise(n): i for i, _, n in districts},
        parks_by_code={c: i for i, c, _ in parks},
        parks_by_name={normalise(n): i for i, _, n in parks},
        enterprises_by_uscc={u: i for i, u in session.execute(select(Enterprise.id, Enterprise.uscc))},
    )


def stored_qualities(session: Session, keys: Sequence[tuple[int, datetime]]) -> dict[tuple[int, datetime], int]:
    """quality of the stored period_observation rows at (series_id, time)."""
    if not keys:
        return {}
    res = session.execute(text(
        "SELECT o.series_id, o.time, o.quality FROM period_observation o "
        "JOIN unnest(CAST(:s AS int[]), CAST(:t AS timestamptz[])) AS k(s, t) ON o.series_id = k.s AND o.time = k.t"),
        {"s": [k[0] for k in keys], "t": [k[1] for k in keys]})
    return {(s, t): q for s, t, q in res}


def add_batch(session: Session, **values: Any) -> ImportBatch:
    batch = ImportBatch(**values)
    session.add(batch)
    session.flush()
    return batch


def list_batches(session: Session, limit: int = 50) -> list[ImportBatch]:
    return list(session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit)))


def existing_series(session: Session, keys: set[tuple[str, str, int]]) -> dict[tuple[str, str, int], int]:
    """Ids of the series among `keys` that exist already (a dry run creates none)."""
    if not keys:
        return {}
    rows = session.execute(select(Series.id, Series.indicator_code, Series.entity_kind, Series.entity_id)
                           .where(Series.indicator_code.in_({k[0] for k in keys})))
    return {(c, k, e): sid for sid, c, k, e in rows if (c, k, e) in keys}
