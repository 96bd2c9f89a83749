"""The indicator catalogue: loading it and converting units."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from backend.catalogue import repository as repo

CATALOGUE_FILE = Path(__file__).resolve().parent / "data" / "catalogue.yaml"


class UnitError(ValueError):
    pass


def read_catalogue(path: Path = CATALOGUE_FILE) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return doc


def sync_catalogue(session: Session, path: Path = CATALOGUE_FILE) -> int:
    """Upsert every unit and indicator of the catalogue file; returns the indicator count."""
    doc = read_catalogue(path)
    repo.upsert_units(session, doc["units"])
    rows = []
    for i, ind in enumerate(doc["indicators"]):
        row = dict(ind)
        row["unit_code"] = row.pop("unit")
        row.setdefault("weight_indicator", None)
        row.setdefault("description_zh", None)
        row.setdefault("description_en", None)
        row["sort_order"] = i
        rows.append(row)
    repo.upsert_indicators(session, rows)
    session.flush()
    return len(rows)


def conversion_factor(units: dict[str, tuple[str, float]], from_unit: str, to_unit: str) -> float:
    """Factor f so that value_in_to_unit = value_in_from_unit * f. `units` maps a unit code
    (or its Chinese name) to (dimension, factor-to-base). Raises UnitError across dimensions."""
    try:
        dim_a, fa = units[from_unit]
        dim_b, fb = units[to_unit]
    except KeyError as exc:
        raise UnitError(f"未知单位 / unknown unit {exc.args[0]!r}") from exc
    if dim_a != dim_b:
        raise UnitError(f"单位量纲不一致 / cannot convert {from_unit} ({dim_a}) to {to_unit} ({dim_b})")
    return fa / fb
