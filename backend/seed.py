"""`yunjian seed`: the catalogue, the city's reference registry and the demo enterprises."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from backend.catalogue import service as catalogue_service
from backend.registry import demo
from backend.registry import service as registry_service


@dataclass(frozen=True)
class SeedResult:
    indicators: int
    enterprises: int


def seed(session: Session, *, city_file: Path | None = None, enterprises_file: Path | None = None,
         demo_enterprises: bool = True, demo_contacts: bool = False) -> SeedResult:
    """Idempotent: running it twice leaves the same rows. `demo_contacts` gives the demo
    users e-mail addresses @wuhai.example (the demo's mail sink receives them)."""
    indicators = catalogue_service.sync_catalogue(session)
    registry_service.load_reference(session, city_file or registry_service.WUHAI_FILE)
    specs: list[demo.EnterpriseSpec] = []
    if enterprises_file is not None:
        if enterprises_file.suffix.lower() == ".csv":
            specs = registry_service.read_enterprises_csv(enterprises_file)
        else:
            specs = registry_service.read_enterprises_yaml(enterprises_file)
    elif demo_enterprises:
        specs = demo.demo_enterprises()
    registry_service.upsert_enterprises(session, specs)
    # The demo admin (Settings.demo_user / demo_password) and one demo user per role.
    from backend.alerts.defaults import seed_default_rules
    from backend.auth.demo import seed_users
    from backend.config import get_settings
    from backend.notifications.demo import seed_contacts

    settings = get_settings()
    seed_users(session, settings.demo_user, settings.demo_password)
    seed_default_rules(session)
    if demo_contacts:
        seed_contacts(session)
    return SeedResult(indicators, len(specs))
