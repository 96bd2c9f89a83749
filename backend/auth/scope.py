"""District scope applied to requests: which districts and enterprises a principal may see.

District officers (a user with a district) see their own district only: asking for another
district is 403; asking for an enterprise that was never in their district is 404, exactly as
if it did not exist, so that nothing leaks. Enterprise reporters see their own enterprise only.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.api.problems import Forbidden, NotFound
from backend.auth import repository as repo
from backend.auth.rules import Principal, Role, can_see_district, can_see_enterprise
from backend.registry import repository as registry_repo
from backend.registry.models import District, Enterprise, Park


def district_by_code(session: Session, principal: Principal, code: str) -> District:
    district = registry_repo.get_district_by_code(session, code)
    if district is None:
        raise NotFound(f"district {code!r} does not exist")
    if not can_see_district(principal, district.id):
        raise Forbidden(f"your account is limited to another district; you cannot see {code}")
    return district


def park_by_code(session: Session, principal: Principal, code: str) -> Park:
    park = registry_repo.get_park_by_code(session, code)
    if park is None:
        raise NotFound(f"park {code!r} does not exist")
    if not can_see_district(principal, park.district_id):
        raise Forbidden(f"park {code} is outside your district")
    return park


def require_city(principal: Principal, what: str) -> None:
    """City-wide figures (no district filter): city roles only."""
    if not principal.city_wide:
        raise Forbidden(f"{what} covers the whole city; your account is limited to "
                        f"{'one enterprise' if principal.role == Role.enterprise_reporter else 'one district'}: "
                        "add your district")


def enterprise(session: Session, principal: Principal, enterprise_id: int) -> Enterprise:
    ent = registry_repo.get_enterprise(session, enterprise_id)
    if ent is None or not can_see_enterprise(principal, repo.enterprise_district_ids(session, enterprise_id),
                                             enterprise_id):
        raise NotFound(f"enterprise {enterprise_id} does not exist or is outside your scope")
    return ent
