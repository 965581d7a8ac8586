"""Sliding-window counters: how many times a key was counted in the last ``window`` seconds.

One small class serves every limit of the service (login guesses, new web-chat
conversations, pages from the web chat). It lives in memory: the limits guard
one process from a flood, and a login flood must not write to the database
(SQLite has one write lock, and the flood would hold it). Several instances
behind one address each count on their own, so the limits there are per
instance. Keys are hashes or short codes chosen by the caller, never message
text. Thread-safe: sync routes run in a thread pool.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

Clock = Callable[[], float]


class Window:
    """At most ``limit`` counts per key in any ``seconds``; old counts fall out as time passes."""

    def __init__(self, limit: int, seconds: float, *, clock: Clock = time.monotonic, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.seconds = seconds
        self._clock = clock
        self._max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self._max_keys:
                self._sweep(now)
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now - self.seconds:
            hits.popleft()
        return hits

    def _sweep(self, now: float) -> None:
        """Forget keys with nothing recent, so a flood of new keys cannot grow memory without end."""
        for key in [key for key, hits in self._hits.items() if not hits or hits[-1] <= now - self.seconds]:
            del self._hits[key]
        while len(self._hits) >= self._max_keys:  # still full: the oldest keys go first
            del self._hits[next(iter(self._hits))]

    def full(self, key: str) -> bool:
        """Whether ``key`` has used up its counts (counts nothing)."""
        with self._lock:
            return len(self._recent(key, self._clock())) >= self.limit

    def take(self, key: str) -> bool:
        """Count one for ``key`` if it has room; False (and nothing counted) when it is full."""
        with self._lock:
            now = self._clock()
            hits = self._recent(key, now)
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True

    def add(self, key: str) -> None:
        """Count one for ``key`` even when full (a failure that already happened)."""
        with self._lock:
            now = self._clock()
            self._recent(key, now).append(now)

    def clear(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)

    def wait(self, key: str) -> float:
        """Seconds until ``key`` has room again (0 when it has room now)."""
        with self._lock:
            now = self._clock()
            hits = self._recent(key, now)
            if len(hits) < self.limit:
                return 0.0
            return max(0.0, hits[len(hits) - self.limit] + self.seconds - now)
