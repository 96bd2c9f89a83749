"""An answer cache for the aggregate endpoints, kept true by data versions.

A dashboard asks the same questions over and over (every duty officer's browser refreshes the
same Overview), while the data behind an answer changes only when something is stored. So a
computed answer (its JSON body) is kept in the API process, keyed by the question after the
caller's scope was applied, and is served again only while the data it was computed from is
unchanged: each request reads the current versions of the indicators the answer depends on
and of the registry (`data_version`, kept by triggers, see migration 0006) with one
primary-key read, and the versions are part of the key.

Why this is safe:

* the versions are read *before* the answer is computed, and every later statement of the
  request sees at least what that read saw (READ COMMITTED), so an answer is never kept under
  a version newer than its data; at worst a fresher answer sits under an older version and
  is recomputed once;
* versions come from a sequence, so a rolled-back change never hands out a number that an
  earlier state already used;
* the key holds the caller's resolved scope (district ids, enterprise ids), so one scope
  never gets another's answer; authorisation runs before the cache is asked;
* the key holds the local date, since the unfinished bucket (`partial`) depends on today.

Bounded by total bytes (least recently used out first); one cache per application
instance (per worker process). `YUNJIAN_ANSWER_CACHE_MB=0` turns it off.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from backend.aggregates import repository as repo


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    entries: int = 0
    bytes: int = 0


class AnswerCache:
    """A byte-bounded LRU of answer bodies. Thread-safe (FastAPI runs sync endpoints in a pool)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.stats = CacheStats()

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            body = self._items.get(key)
            if body is None:
                self.stats.misses += 1
                return None
            self._items.move_to_end(key)
            self.stats.hits += 1
            return body

    def put(self, key: Hashable, body: bytes) -> None:
        if len(body) > self.max_bytes // 4:  # one huge answer must not flush everything else
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._items[key] = body
            self._bytes += len(body)
            while self._bytes > self.max_bytes and self._items:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped)
            self.stats.entries, self.stats.bytes = len(self._items), self._bytes


def answer(cache: AnswerCache | None, session: Session, indicator: str, question: Hashable,
           compute: Callable[[], bytes]) -> bytes:
    """The body for `question` (everything the answer depends on besides the data of
    `indicator`, of its weighting indicator and of the registry), from the cache while that
    data is unchanged, else computed by `compute` and kept."""
    if cache is None or cache.max_bytes <= 0:
        return compute()
    key = (question, repo.answer_versions(session, indicator))
    body = cache.get(key)
    if body is None:
        body = compute()
        cache.put(key, body)
    return body
