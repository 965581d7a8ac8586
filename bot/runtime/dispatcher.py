"""The dispatcher: sends due outbox rows through their channel's sender; the one place that retries.

``run_once`` is what the tests and the terminal chat call; ``run`` is the loop
``madoguchi serve`` runs. Rows are claimed with a conditional UPDATE, so two
processes on one PostgreSQL share the work without sending anything twice.
The claim counts the attempt before the platform is called; the lease it takes
is short and renewed while the send runs, so a worker that dies mid-send holds
a person's next message for seconds, not a minute. Retries follow the desk's
``Schedule`` (hours, with jitter and a cap, never sooner than ``Retry-After``);
a send given up for good is shown on its case (``bot.desk.undelivered``). A page that fails for good
on one of a coordinator's channels, or keeps failing for ``Desk.page_fallback``, goes out on their
next one instead (``bot.desk.linking.fall_back``); an address the platform says is gone is unlinked.
Database calls run in threads; the sends themselves are async.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Mapping

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from bot.channels.base import Outgoing, Sender
from bot.channels.errors import GONE, DeliveryError
from bot.desk import Desk, linking, undelivered
from bot.runtime.pump import Pump, renewing
from storage import db, messages, outbox
from storage.db import session_scope
from storage.models import Outbox, row_id
from storage.types import utcnow

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]
RECORD_WAITS = (0.5, 1, 2, 4, 8, 15, 30, 60, 120)  # seconds between tries to record a send: about four minutes


class Dispatcher:
    """Sends due outbox rows through their channel's sender; the one place that retries."""

    def __init__(self, engine: Engine, senders: Mapping[str, Sender], desk: Desk, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.senders = dict(senders)
        self.desk = desk
        self.clock = clock
        self.pump: Pump[Outgoing] = Pump("dispatch", self._claim_async, self._deliver)

    @property
    def schedule(self) -> outbox.Schedule:
        return self.desk.delivery

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
            rows = outbox.claim_due(session=session, at=self.clock(), limit=limit, lease=self.schedule.lease)
            return [_outgoing(row) for row in rows]

    async def _deliver(self, item: Outgoing) -> None:
        sender = self.senders.get(item.channel)
        try:
            if sender is None:
                # A page goes on to the coordinator's next channel at once; anything else waits for a sender.
                raise DeliveryError(f"no sender for channel {item.channel!r}", permanent=item.kind == "page")
            await renewing(sender.send(item), lambda: asyncio.to_thread(self._renew, item), self._renew_every)
        except DeliveryError as error:
            await asyncio.to_thread(self._failed, item, error)
            return
        await renewing(self._record_sent(item), lambda: asyncio.to_thread(self._renew, item), self._renew_every)
        self.desk.metrics.messages_out.labels(item.channel, item.kind).inc()
        log.info("sent outbox=%s channel=%s kind=%s attempt=%s", item.id, item.channel, item.kind, item.attempts)

    @property
    def _renew_every(self) -> float:
        return self.schedule.lease.total_seconds() / 3

    def _renew(self, item: Outgoing) -> None:
        with session_scope(self.engine) as session:
            outbox.renew(session=session, row_id=item.id, at=self.clock(), lease=self.schedule.lease)

    async def _record_sent(self, item: Outgoing) -> None:
        """The platform has the message: a busy or restarting database must not lose that, or the row's
        lease would run out and the person would get it twice. Tried until it is recorded (the lease is
        renewed meanwhile), waiting a little longer each time."""
        for wait in RECORD_WAITS:
            try:
                await asyncio.to_thread(self._sent, item)
                return
            except OperationalError as error:
                log.warning(
                    "recording outbox=%s as sent failed (%s); again in %.0f s", item.id, type(error).__name__, wait
                )
                await asyncio.sleep(wait)
        await asyncio.to_thread(self._sent, item)

    def _sent(self, item: Outgoing) -> None:
        at = self.clock()
        forget = bool(item.payload.get(outbox.FORGET_AFTER))
        with session_scope(self.engine) as session:
            outbox.mark_sent(session=session, row_id=item.id, at=at, forget=forget)
            outbox.hurry(session=session, channel=item.channel, at=at)  # it is up: nobody waits out a backoff
            ids = [int(i) for i in item.payload.get("message_ids", [])]
            messages.mark_delivered(session=session, ids=ids, at=at)  # shown to the person from now on
        if forget:
            db.scrub(self.engine)  # the last row that named a forgotten person: no old copy in the file either

    def _failed(self, item: Outgoing, error: DeliveryError) -> None:
        at = self.clock()
        text = f"{error} ({error.reason})" if error.reason else str(error)  # the reason is how pages find it later
        with session_scope(self.engine) as session:
            row = session.get(Outbox, item.id)
            if row is None:  # deleted meanwhile (the person asked to be forgotten)
                return
            if error.reason == GONE:
                linking.gone(session=session, channel=row.channel, address=row.address)
            if linking.should_fall_back(row, error.permanent, at, self.desk.page_fallback):
                linking.fall_back(session=session, row=row, error=text, at=at)
                log.warning("page outbox=%s failed on %s, passed on: %s", item.id, item.channel, error)
                return
            if not error.permanent and outbox.mark_retry(
                session=session,
                row=row,
                error=text,
                at=at,
                retry_after=error.retry_after,
                schedule=self.schedule,
            ):
                self.desk.metrics.outbox_retries.labels(item.channel).inc()
                log.warning("retry outbox=%s channel=%s attempt=%s: %s", item.id, item.channel, item.attempts, error)
                return
            self._give_up(session, row, text, at)

    def _give_up(self, session: Session, row: Outbox, error: str, at: dt.datetime) -> None:
        """A permanent error, or the schedule ran out: failed for good, shown on the case, paged when urgent."""
        outbox.mark_failed(session=session, row_id=row_id(row), error=error)
        self.desk.metrics.outbox_failures.labels(row.channel).inc()
        log.error(
            "gave up outbox=%s channel=%s kind=%s urgent=%s: %s", row.id, row.channel, row.kind, row.urgent, error
        )
        if row.payload.get(outbox.FORGET_AFTER):
            outbox.blank(session=session, row_id=row_id(row))  # to someone forgotten: nobody to show it to
            return  # (the next scrub, after a send or a deletion, takes the old copy out of the file)
        undelivered.report(session, self.desk, row, error, at)


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
