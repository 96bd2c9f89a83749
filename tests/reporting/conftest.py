"""The API fixtures (app in-process on the test database) from tests/api/support.py."""

from tests.api.support import app, client  # noqa: F401
