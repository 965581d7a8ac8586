"""The pump: keep claiming work while earlier work is still running, a bounded number at a time.

Why not "claim a batch, wait for all of it": one slow call (a platform that
takes a message and never answers) would hold every other person's message
until it timed out. Here each item runs as its own task; the loop claims again
as soon as there is room, when woken, or after ``interval``. Claims are leases
in the database, so a running item is never claimed twice (every call has a
timeout shorter than the lease).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class Pump(Generic[T]):
    def __init__(
        self,
        name: str,
        claim: Callable[[int], Awaitable[list[T]]],
        handle: Callable[[T], Coroutine[Any, Any, None]],
        width: int = 32,
    ) -> None:
        self.name, self.claim, self.handle, self.width = name, claim, handle, width
        self.running: set[asyncio.Task[None]] = set()
        self.wake = asyncio.Event()  # set when work was stored for this pump, or a running item finished

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        try:
            while not stop.is_set():
                room = self.width - len(self.running)
                got: list[T] = []
                if room > 0:
                    try:
                        got = await self.claim(room)
                    except Exception:  # the database may be restarting: the rows stay for the next round
                        log.exception("%s: claiming failed; trying again in %.1f s", self.name, interval)
                    for item in got:
                        task = asyncio.create_task(self.handle(item))
                        self.running.add(task)
                        task.add_done_callback(self._finished)
                if got and len(got) == room:
                    await asyncio.sleep(0)  # maybe more is due: claim again at once
                    continue
                await self._pause(stop, interval)
        finally:
            if self.running:
                await asyncio.wait(self.running, timeout=10)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.running.discard(task)
        self.wake.set()  # room for one more

    async def _pause(self, stop: asyncio.Event, interval: float) -> None:
        """Until new work is stored, a running item finishes, ``stop``, or ``interval``."""
        self.wake.clear()
        waiters = [asyncio.ensure_future(self.wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()


async def renewing(work: Coroutine[Any, Any, None], renew: Callable[[], Awaitable[None]], period: float) -> None:
    """Run ``work``, calling ``renew`` every ``period`` seconds until it ends.

    Why: leases are short so that a worker that dies frees its rows within
    seconds; a live worker whose call is slow keeps its row by renewing. A
    renewal that fails is logged and the work goes on: stopping a send half-way
    is worse than the small chance that another worker takes the row too.
    """
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=period)
            if done:
                return task.result()
            try:
                await renew()
            except Exception:  # the database may be restarting: the lease may run out, the work goes on
                log.exception("renewing a lease failed; the work goes on")
    finally:
        if not task.done():
            task.cancel()


async def every(step: Callable[[], object], stop: asyncio.Event, interval: float, name: str) -> None:
    """Run ``step`` until ``stop`` is set; an error is logged and the loop goes on (the rows stay for next time)."""
    while not stop.is_set():
        try:
            result = step()
            if asyncio.iscoroutine(result):
                await result
        except Exception:  # a worker must outlive one bad step: the database may be restarting
            log.exception("%s step failed; trying again in %.1f s", name, interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
