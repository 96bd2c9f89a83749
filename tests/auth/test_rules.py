"""Pure authorisation rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend.auth import rules
from backend.auth.rules import Permission, Principal, Role


def test_a_read_only_api_key_cannot_write_even_for_an_admin():
    p = Principal(1, "admin", Role.admin, scopes=frozenset({"read"}))
    assert rules.has_permission(p, Permission.read)
    assert not rules.has_permission(p, Permission.write_targets)
    assert rules.has_permission(Principal(1, "admin", Role.admin), Permission.write_targets)


def test_a_district_officer_sees_only_its_district_and_enterprises_that_were_ever_there():
    p = Principal(2, "wuda", Role.duty_officer, district_id=3)
    assert rules.can_see_district(p, 3) and not rules.can_see_district(p, 2) and not rules.can_see_district(p, None)
    assert rules.can_see_enterprise(p, {2, 3}, 10)
    assert not rules.can_see_enterprise(p, {2}, 10)
    assert not p.city_wide


def test_an_enterprise_reporter_sees_only_its_enterprise():
    p = Principal(3, "rep", Role.enterprise_reporter, enterprise_id=7)
    assert rules.can_see_enterprise(p, {1}, 7) and not rules.can_see_enterprise(p, {1}, 8)
    assert not rules.can_see_district(p, 1)


def test_throttling_starts_at_five_failures_per_username_or_twenty_per_address():
    assert not rules.throttled(4, 19)
    assert rules.throttled(5, 0) and rules.throttled(0, 20)
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert rules.retry_after_seconds(now - timedelta(minutes=10), now) == 301


def test_api_keys_carry_a_recognisable_prefix_and_are_stored_as_a_digest():
    key, prefix = rules.new_api_key()
    assert rules.key_prefix(key) == prefix and len(prefix) == 8
    assert rules.key_prefix("some-session-token") is None
    assert rules.digest(key) != key and len(rules.digest(key)) == 64
