"""What both fake platforms share: a record of calls and a script of failures to play."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Failure:
    status: int  # 500, 429, ... or 0 for "hang until the client gives up"
    retry_after: int | None = None
    accepted: bool = False  # the platform took the message, but its answer was lost (the failure comes after)
    message: str = "fake failure"  # the error body's message


@dataclass
class Call:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float = 0.0  # the script's clock when the call came
    answer: int = 200  # the status the fake gave it (set once a failure is played)


@dataclass
class Script:
    """Calls received, and failures to answer with before succeeding again (thread-safe).

    ``outage``, when set, is asked once the list of failures is used up: a
    failure for the time it is now (by ``clock``, which a test may move by hand),
    or None when the platform is up.
    """

    calls: list[Call] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    hang_seconds: float = 30.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    clock: Callable[[], float] = time.time
    outage: Callable[[float], Failure | None] | None = None

    def fail(self, status: int, times: int = 1, retry_after: int | None = None) -> None:
        with self.lock:
            self.failures += [Failure(status, retry_after) for _ in range(times)]

    def next_failure(self, call: Call | None = None) -> Failure | None:
        with self.lock:
            failure = self.failures.pop(0) if self.failures else None
            if failure is None and self.outage is not None:
                failure = self.outage(self.clock())
            if failure is not None and call is not None:
                call.answer = failure.status
            return failure

    def record(self, call: Call) -> Call:
        with self.lock:
            call.at = self.clock()
            self.calls.append(call)
            return call

    def to(self, suffix: str) -> list[Call]:
        with self.lock:
            return [call for call in self.calls if call.path.endswith(suffix)]
