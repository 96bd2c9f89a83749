"""Per-process dashboard context (built in `create_app`, kept in Flask's app config) and the
per-request API client authenticated with the logged-in user's token (an HttpOnly cookie)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import flask
import httpx

from backend.config import Settings
from dashboard.client import ApiClient, Me

CONFIG_KEY = "YUNJIAN_DASHBOARD"
TOKEN_COOKIE = "yunjian_dash_token"
T = TypeVar("T")


@dataclass
class TtlCache:
    """A small thread-safe cache for reference data (districts, parks, indicators...), which
    changes rarely; the key includes the token where the answer depends on the user."""

    ttl_s: float = 300.0
    _data: dict[str, tuple[float, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: str, compute: Callable[[], T]) -> T:
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(key)
            if hit is not None and now - hit[0] < self.ttl_s:
                return hit[1]
        value = compute()
        with self._lock:
            self._data[key] = (now, value)
            if len(self._data) > 2000:  # tokens come and go: drop the oldest half
                for k, _ in sorted(self._data.items(), key=lambda kv: kv[1][0])[:1000]:
                    self._data.pop(k, None)
        return value


@dataclass
class DashboardContext:
    settings: Settings
    http: httpx.Client
    refs: TtlCache = field(default_factory=TtlCache)
    users: TtlCache = field(default_factory=lambda: TtlCache(ttl_s=60.0))
    # Figures that change at most monthly (the leading index), keyed by the user's scope.
    monthly: TtlCache = field(default_factory=lambda: TtlCache(ttl_s=300.0))


def current() -> DashboardContext:
    ctx = flask.current_app.config[CONFIG_KEY]
    assert isinstance(ctx, DashboardContext)
    return ctx


def token() -> str | None:
    return flask.request.cookies.get(TOKEN_COOKIE) or None


def api() -> ApiClient:
    """The API client for the user making this request."""
    return ApiClient(current().http, token())


def me() -> Me:
    """Who is logged in (cached a minute per token)."""
    tok = token() or ""
    return current().users.get("me:" + tok, lambda: api().me())


def scope_key() -> str:
    """What an answer of the API depends on besides the request: the user's role and district
    (so a cached answer is only ever reused for a user the API would give the same answer)."""
    user = me().user
    return f"{user.role}:{user.district_id}:{user.enterprise_id}"


def refs(name: str, compute: Callable[[ApiClient], T]) -> T:
    """Reference data shared by all users (the registry and catalogue are not scope-filtered)."""
    client = api()
    return current().refs.get(name, lambda: compute(client))
