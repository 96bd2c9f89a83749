"""Demo users created by `yunjian seed` (documented in docs/api.md). All share the demo
password from Settings.demo_password; the admin's name is Settings.demo_user."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.auth import service
from backend.auth.rules import Role
from backend.registry import repository as registry_repo
from backend.registry.models import Enterprise

# (username, display name, role, district code or None)
DEMO_USERS: tuple[tuple[str, str, Role, str | None], ...] = (
    ("leader", "市经信委领导（演示）", Role.leader, None),
    ("city_leader", "市政府领导（演示）", Role.leader, None),
    ("duty", "市运行监测值班员（演示）", Role.duty_officer, None),
    ("wuda_duty", "乌达区值班员（演示）", Role.duty_officer, "150304"),
    ("hainan_duty", "海南区值班员（演示）", Role.duty_officer, "150303"),
    ("analyst", "分析员（演示）", Role.analyst, None),
    ("reporter", "企业填报员（演示）", Role.enterprise_reporter, None),
    ("api_client", "接口调用方（演示）", Role.api_client, None),
)


def seed_users(session: Session, admin_username: str, password: str) -> int:
    """Create the admin and the demo users that do not exist yet; returns how many were created."""
    created = int(service.ensure_user(session, username=admin_username, display_name="系统管理员", password=password,
                                      role=Role.admin))
    districts = registry_repo.district_ids_by_code(session)
    first_enterprise = session.scalar(select(Enterprise.id).order_by(Enterprise.id).limit(1))
    for username, name, role, district in DEMO_USERS:
        if role == Role.enterprise_reporter and first_enterprise is None:
            continue
        created += int(service.ensure_user(
            session, username=username, display_name=name, password=password, role=role,
            district_id=districts.get(district) if district else None,
            enterprise_id=first_enterprise if role == Role.enterprise_reporter else None))
    return created
