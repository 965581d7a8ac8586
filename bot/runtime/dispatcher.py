"""The dispatcher: sends due outbox rows through their channel's sender; the one place that retries.

``run_once`` is what the tests and the terminal chat call; ``run`` is the loop
``madoguchi serve`` runs. Rows are claimed with a conditional UPDATE, so two
processes on one PostgreSQL share the work without sending anything twice.
Database calls run in threads; the sends themselves are async.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Mapping

from sqlalchemy import Engine

from bot.channels.base import Outgoing, Sender
from bot.channels.errors import DeliveryError
from bot.desk import Desk
from bot.runtime.pump import Pump
from storage import cases, messages, outbox
from storage.db import session_scope
from storage.models import Outbox, row_id
from storage.types import utcnow

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]


class Dispatcher:
    """Sends due outbox rows through their channel's sender; the one place that retries."""

    def __init__(self, engine: Engine, senders: Mapping[str, Sender], desk: Desk, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.senders = dict(senders)
        self.desk = desk
        self.clock = clock
        self.pump: Pump[Outgoing] = Pump("dispatch", self._claim_async, self._deliver)

    async def _claim_async(self, limit: int) -> list[Outgoing]:
        return await asyncio.to_thread(self._claim, limit)

    async def run_once(self, limit: int = 50) -> int:
        """One round, waiting for every send (tests and the terminal chat)."""
        items = await asyncio.to_thread(self._claim, limit)
        await asyncio.gather(*(self._deliver(item) for item in items))
        return len(items)

    async def run(self, stop: asyncio.Event, interval: float = 0.2) -> None:
        """Send as rows come due; each send is its own task, so a hung platform holds up only its own row."""
        await self.pump.run(stop, interval)

    def _claim(self, limit: int) -> list[Outgoing]:
        with session_scope(self.engine) as session:
            rows = outbox.claim_due(session=session, at=self.clock(), limit=limit)
            return [_outgoing(row) for row in rows]

    async def _deliver(self, item: Outgoing) -> None:
        sender = self.senders.get(item.channel)
        metrics = self.desk.metrics
        try:
            if sender is None:
                raise DeliveryError(f"no sender for channel {item.channel!r}")
            await sender.send(item)
        except DeliveryError as error:
            await asyncio.to_thread(self._failed, item, error)
            return
        await asyncio.to_thread(self._sent, item)
        metrics.messages_out.labels(item.channel, item.kind).inc()
        log.info("sent outbox=%s channel=%s kind=%s attempt=%s", item.id, item.channel, item.kind, item.attempts)

    def _sent(self, item: Outgoing) -> None:
        at = self.clock()
        with session_scope(self.engine) as session:
            outbox.mark_sent(session=session, row_id=item.id, at=at)
            ids = [int(i) for i in item.payload.get("message_ids", [])]
            messages.mark_delivered(session=session, ids=ids, at=at)  # shown to the person from now on

    def _failed(self, item: Outgoing, error: DeliveryError) -> None:
        metrics = self.desk.metrics
        at = self.clock()
        with session_scope(self.engine) as session:
            row = session.get(Outbox, item.id)
            if row is None:  # deleted meanwhile (the person asked to be forgotten)
                return
            if error.permanent:
                outbox.mark_failed(session=session, row_id=item.id, error=str(error))
            elif outbox.mark_retry(session=session, row=row, error=str(error), at=at, retry_after=error.retry_after):
                metrics.outbox_retries.labels(item.channel).inc()
                log.warning("retry outbox=%s channel=%s attempt=%s: %s", item.id, item.channel, item.attempts, error)
                return
            # a permanent error, or every attempt spent: shown on the case
            metrics.outbox_failures.labels(item.channel).inc()
            log.error("gave up outbox=%s channel=%s kind=%s: %s", item.id, item.channel, item.kind, error)
            if row.case_id is not None:
                cases.add_event(
                    session=session,
                    case_id=row.case_id,
                    kind="delivery_failed",
                    at=at,
                    outbox=item.id,
                    error=str(error),
                )


def _outgoing(row: Outbox) -> Outgoing:
    return Outgoing(
        id=row_id(row),
        kind=row.kind,
        channel=row.channel,
        address=row.address,
        payload=dict(row.payload),
        attempts=row.attempts,
        message_id=row.message_id,
    )
