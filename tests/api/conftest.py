"""Fixtures: see tests/api/support.py."""

from tests.api.support import app, client  # noqa: F401
