"""Registry rules: loading a city's registry (YAML/CSV) and recording changes over time."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from backend.registry import repository as repo
from backend.registry import uscc
from backend.registry.demo import EnterpriseSpec, VersionSpec
from backend.registry.models import EnterpriseVersion

WUHAI_FILE = Path(__file__).resolve().parent / "data" / "wuhai.yaml"


class RegistryError(ValueError):
    pass


def load_reference(session: Session, path: Path = WUHAI_FILE) -> dict[str, Any]:
    """Upsert the districts, parks and industry groups of a city file; returns the parsed file."""
    doc: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    repo.upsert_districts(session, [
        {"code": str(d["code"]), "name_zh": d["name_zh"], "name_en": d["name_en"], "kind": d.get("kind", "district")}
        for d in doc["districts"]])
    districts = repo.district_ids_by_code(session)
    parks = []
    for p in doc.get("parks", []):
        if str(p["district"]) not in districts:
            raise RegistryError(f"park {p['code']}: unknown district {p['district']}")
        parks.append({"code": str(p["code"]), "name_zh": p["name_zh"], "name_en": p["name_en"],
                      "district_id": districts[str(p["district"])], "zone_zh": p.get("zone_zh")})
    repo.upsert_parks(session, parks)
    repo.upsert_industry_groups(session, [
        {"code": g["code"], "name_zh": g["name_zh"], "name_en": g["name_en"], "sort_order": i}
        for i, g in enumerate(doc.get("industry_groups", []))])
    session.flush()
    return doc


def upsert_enterprises(session: Session, specs: list[EnterpriseSpec]) -> int:
    """Create or update enterprises and replace their version history. Idempotent."""
    districts = repo.district_ids_by_code(session)
    parks = repo.park_ids_by_code(session)
    for spec in specs:
        code = uscc.validate(spec.uscc)
        if not spec.versions:
            raise RegistryError(f"{code}: an enterprise needs at least one version")
        ordered = sorted(spec.versions, key=lambda v: v.valid_from)
        rows = []
        for i, v in enumerate(ordered):
            if v.district_code not in districts:
                raise RegistryError(f"{code}: unknown district {v.district_code}")
            if v.park_code is not None and v.park_code not in parks:
                raise RegistryError(f"{code}: unknown park {v.park_code}")
            rows.append({
                "valid_from": v.valid_from,
                "valid_to": ordered[i + 1].valid_from if i + 1 < len(ordered) else None,
                "district_id": districts[v.district_code],
                "park_id": parks[v.park_code] if v.park_code else None,
                "industry_code": v.industry_code, "industry_group": v.industry_group,
                "above_scale": v.above_scale, "key_enterprise": v.key_enterprise,
            })
        ent = repo.get_enterprise_by_uscc(session, code)
        if ent is None:
            ent = repo.add_enterprise(session, code, spec.name_zh, spec.name_en)
        else:
            ent.name_zh, ent.name_en = spec.name_zh, spec.name_en
        repo.replace_versions(session, ent.id, rows)
    return len(specs)


def record_change(session: Session, enterprise_id: int, effective: date, **changes: Any) -> EnterpriseVersion:
    """Close the version valid on `effective` and open a new one with `changes` applied
    (e.g. park_id=..., above_scale=True). History before `effective` is untouched."""
    current = repo.version_on(session, enterprise_id, effective)
    if current is None:
        raise RegistryError(f"enterprise {enterprise_id} has no version on {effective}")
    allowed = {"district_id", "park_id", "industry_code", "industry_group", "above_scale", "key_enterprise"}
    unknown = set(changes) - allowed
    if unknown:
        raise RegistryError(f"cannot change {sorted(unknown)}")
    new = EnterpriseVersion(
        enterprise_id=enterprise_id, valid_from=effective, valid_to=current.valid_to,
        district_id=current.district_id, park_id=current.park_id, industry_code=current.industry_code,
        industry_group=current.industry_group, above_scale=current.above_scale,
        key_enterprise=current.key_enterprise)
    for k, v in changes.items():
        setattr(new, k, v)
    if current.valid_from == effective:
        session.delete(current)
    else:
        current.valid_to = effective
    session.flush()
    session.add(new)
    session.flush()
    return new


CSV_COLUMNS = ("uscc", "name_zh", "name_en", "valid_from", "district_code", "park_code", "industry_code",
               "industry_group", "above_scale", "key_enterprise")


def read_enterprises_csv(path: Path) -> list[EnterpriseSpec]:
    """Enterprises from a CSV with the columns in CSV_COLUMNS; several rows with the same
    uscc are successive versions. Raises RegistryError naming the line for a bad row."""
    by_code: dict[str, EnterpriseSpec] = {}
    truthy = {"1", "true", "yes", "y", "是"}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = set(CSV_COLUMNS) - set(reader.fieldnames or [])
        if missing:
            raise RegistryError(f"{path.name}: missing columns {sorted(missing)}")
        for line, row in enumerate(reader, start=2):
            try:
                code = uscc.validate(row["uscc"])
                version = VersionSpec(
                    valid_from=date.fromisoformat(row["valid_from"].strip()),
                    district_code=row["district_code"].strip(), park_code=(row["park_code"] or "").strip() or None,
                    industry_code=row["industry_code"].strip(), industry_group=row["industry_group"].strip(),
                    above_scale=row["above_scale"].strip().lower() in truthy,
                    key_enterprise=row["key_enterprise"].strip().lower() in truthy)
            except (ValueError, KeyError) as exc:
                raise RegistryError(f"{path.name} line {line}: {exc}") from exc
            spec = by_code.setdefault(code, EnterpriseSpec(code, row["name_zh"].strip(), row["name_en"].strip()))
            spec.versions.append(version)
    return list(by_code.values())


def read_enterprises_yaml(path: Path) -> list[EnterpriseSpec]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out = []
    for e in doc.get("enterprises", []):
        versions = [VersionSpec(valid_from=date.fromisoformat(str(v["valid_from"])), district_code=str(v["district"]),
                                park_code=v.get("park"), industry_code=str(v["industry_code"]),
                                industry_group=v["industry_group"], above_scale=bool(v.get("above_scale", False)),
                                key_enterprise=bool(v.get("key_enterprise", False)))
                    for v in e["versions"]]
        out.append(EnterpriseSpec(uscc.validate(e["uscc"]), e["name_zh"], e.get("name_en", ""), versions))
    return out


def with_versions(spec: EnterpriseSpec, versions: list[VersionSpec]) -> EnterpriseSpec:
    return replace(spec, versions=versions)
