"""HTTP only: fetch one request from an upstream, retrying transient failures.

Transient (retried with exponential backoff and jitter): connect and read timeouts, dropped
connections and truncated bodies, 5xx, and 429 (waiting as long as Retry-After asks, capped).
Anything else (401, 404, 400 ...) is permanent and raised at once.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from ingest.sources.parsers import Payload

log = logging.getLogger("yunjian.ingest.client")


@dataclass(frozen=True)
class RequestSpec:
    path: str
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    basic_auth: tuple[str, str] | None = None
    paged: bool = False  # follow `page` = 2..pages as the parser reports them


class UpstreamError(RuntimeError):
    def __init__(self, message: str, *, transient: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.status = status


@dataclass
class RetryPolicy:
    attempts: int = 4
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    max_retry_after_s: float = 120.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after_s)
        base = min(self.backoff_s * 2 ** (attempt - 1), self.max_backoff_s)
        return base * (0.5 + random.random() / 2)


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Retry-After as delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


TRANSIENT_EXCEPTIONS = (httpx.TimeoutException, httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError,
                        httpx.WriteError)


class UpstreamClient:
    """One upstream's base URL with an httpx client, explicit timeouts and retries."""

    def __init__(self, base_url: str, *, timeout_s: float = 10.0, policy: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.requests = 0
        self.retries = 0
        self.http = httpx.Client(timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
                                 headers={"User-Agent": "yunjian-ingest/0.1"})

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> UpstreamClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def get(self, spec: RequestSpec, extra_params: dict[str, str] | None = None) -> Payload:
        url = self.base_url + spec.path
        params = {**spec.params, **(extra_params or {})}
        attempt = 0
        while True:
            attempt += 1
            self.requests += 1
            retry_after: float | None = None
            try:
                resp = self.http.get(url, params=params, headers=spec.headers,
                                     auth=httpx.BasicAuth(*spec.basic_auth) if spec.basic_auth else None)
                if resp.status_code == 200:
                    return Payload(resp.content, resp.headers.get("content-type", ""), str(resp.url))
                transient = resp.status_code >= 500 or resp.status_code == 429
                if resp.status_code == 429:
                    retry_after = retry_after_seconds(resp.headers.get("retry-after"), time.time())
                err = UpstreamError(f"HTTP {resp.status_code} from {spec.path}: {resp.text[:200]}",
                                    transient=transient, status=resp.status_code)
            except TRANSIENT_EXCEPTIONS as exc:
                err = UpstreamError(f"{exc.__class__.__name__} from {spec.path}: {exc}", transient=True)
            if not err.transient or attempt >= self.policy.attempts:
                raise err
            delay = self.policy.delay(attempt, retry_after)
            log.info("upstream %s: %s; retry %d in %.1f s", self.base_url, err, attempt, delay)
            self.retries += 1
            self.sleep(delay)
