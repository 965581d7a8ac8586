"""What both fake platforms share: a record of calls and a script of failures to play."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Failure:
    status: int  # 500, 429, ... or 0 for "hang until the client gives up"
    retry_after: int | None = None


@dataclass
class Call:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Script:
    """Calls received, and failures to answer with before succeeding again (thread-safe)."""

    calls: list[Call] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    hang_seconds: float = 30.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, status: int, times: int = 1, retry_after: int | None = None) -> None:
        with self.lock:
            self.failures += [Failure(status, retry_after) for _ in range(times)]

    def next_failure(self) -> Failure | None:
        with self.lock:
            return self.failures.pop(0) if self.failures else None

    def record(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)

    def to(self, suffix: str) -> list[Call]:
        with self.lock:
            return [call for call in self.calls if call.path.endswith(suffix)]
