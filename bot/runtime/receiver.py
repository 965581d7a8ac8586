"""The receiver: turns stored platform events into conversation turns, after the webhook said 200.

Each event is translated by its channel (async: PTB's handlers, LINE's loading
dots), then applied in one transaction with its ``done`` mark: the person's
message through ``bot.desk.inbox``, or a coordinator's 受ける press through
``bot.desk.casework``, or a coordinator's linking code through
``bot.desk.linking`` (never reaching the conversation). One person's events are claimed one at a time, in order
(``storage.inbound.claim``); a crash before the commit leaves the event pending,
and its idempotency key keeps a second pass from doing anything twice.

On SQLite the webhooks store into the inbound journal (``storage.db.open_journal``):
before each claim the receiver adopts what the journal holds into the database
and drops it from the journal, three short transactions, so the webhook's
INSERT never waits for the write lock a turn holds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.channels import Channel, ClaimPress, Stored, Translation
from bot.desk import Desk, casework, inbox, linking
from bot.runtime.pump import Pump, renewing
from storage import db, inbound
from storage.db import reader, session_scope
from storage.models import InboundEvent, row_id
from storage.types import utcnow

log = logging.getLogger(__name__)
RENEW_EVERY = inbound.LEASE.total_seconds() / 3
ADOPT_AT_ONCE = 500  # journal events moved per claim: a few milliseconds of the database's write lock


@dataclass(frozen=True, slots=True)
class _Event:
    id: int
    channel: str
    stored: Stored
    received_at: dt.datetime
    attempts: int


class Receiver:
    def __init__(
        self,
        engine: Engine,
        channels: Mapping[str, Channel],
        desk: Desk,
        clock: Callable[[], dt.datetime] = utcnow,
        *,
        journal: Engine | None = None,
    ) -> None:
        self.engine = engine
        self.journal = db.open_journal(engine) if journal is None else journal  # where the webhooks store events
        self.channels = dict(channels)
        self.desk = desk
        self.clock = clock
        self.pump: Pump[_Event] = Pump("receive", self._claim_async, self._handle)

    @property
    def wake(self) -> asyncio.Event:
        """Set by the webhook route: there is something to do now."""
        return self.pump.wake

    async def run_once(self, limit: int = 20) -> int:
        """One round, waiting for every event (tests)."""
        events = await asyncio.to_thread(self._claim, limit)
        await asyncio.gather(*(self._handle(event) for event in events))
        return len(events)

    async def run(self, stop: asyncio.Event, interval: float = 0.5) -> None:
        """Each event is its own task: a slow platform call delays only that person's event."""
        await self.pump.run(stop, interval)

    async def _claim_async(self, limit: int) -> list[_Event]:
        return await asyncio.to_thread(self._claim, limit)

    def _claim(self, limit: int) -> list[_Event]:
        if self.journal is not self.engine:
            self.adopt()
        with session_scope(self.engine) as session:
            return [_event(row) for row in inbound.claim(session=session, at=self.clock(), limit=limit)]

    def adopt(self) -> int:
        """Move the journal's events into the database (in order), then out of the journal; how many were new.

        Each step is its own short transaction: reading the journal takes no
        lock, the adoption takes the database's, the drop the journal's. A
        crash between the last two leaves rows that the next adoption finds
        already there (the key is unique) and drops.
        """
        with session_scope(reader(self.journal)) as session:
            events = inbound.waiting(session=session, limit=ADOPT_AT_ONCE)
        if not events:
            return 0
        with session_scope(self.engine) as session:
            new = inbound.adopt(session=session, events=events)
        with session_scope(self.journal) as session:
            inbound.drop(session=session, ids=[int(event["id"]) for event in events])
        return new

    async def _handle(self, event: _Event) -> None:
        channel = self.channels.get(event.channel)
        try:
            if channel is None:
                raise LookupError(f"channel {event.channel} is not configured")
            await renewing(self._translate_and_apply(channel, event), lambda: self._renew(event), RENEW_EVERY)
        except Exception as error:  # one bad event must not stop the others; it is retried, then kept as failed
            await asyncio.to_thread(self._failed, event, error)

    async def _translate_and_apply(self, channel: Channel, event: _Event) -> None:
        translation = await channel.translate(event.stored, event.received_at)
        await asyncio.to_thread(self._apply, event, translation)

    async def _renew(self, event: _Event) -> None:
        def renew() -> None:
            with session_scope(self.engine) as session:
                inbound.renew(session=session, event_id=event.id, at=self.clock())

        await asyncio.to_thread(renew)

    def _apply(self, event: _Event, translation: Translation) -> None:
        for attempt in (1, 2):
            try:
                with session_scope(self.engine) as session:
                    handled = [
                        inbox.receive(session=session, desk=self.desk, arrival=arrival, at=arrival.inbound.at)
                        for arrival in translation.arrivals
                        if not linking.redeem(session=session, desk=self.desk, arrival=arrival, at=self.clock())
                    ]
                    for press in translation.claims:
                        self._claim_press(session, event.channel, press)
                    inbound.mark_done(session=session, event_id=event.id, at=self.clock())
                if any(one.forgotten for one in handled):
                    db.scrub(self.engine)  # nothing of the deleted rows left in the database file
                for note in translation.notes:
                    log.info("%s event %s: %s", event.channel, event.id, note)
                return
            except IntegrityError:
                if attempt == 2:
                    raise

    def _claim_press(self, session: Session, channel: str, press: ClaimPress) -> None:
        """A coordinator pressed 受ける on their phone: the same atomic claim as on the web."""
        if not casework.claim_by_phone(session, self.desk, channel, press.address, press.case_id, self.clock()):
            log.warning("%s: a claim press from an address that is no coordinator's", channel)

    def _failed(self, event: _Event, error: Exception) -> None:
        with session_scope(self.engine) as session:
            row = session.get(InboundEvent, event.id)
            if row is None:
                return
            again = inbound.mark_error(session=session, event=row, error=type(error).__name__, at=self.clock())
        how = "will retry" if again else "gave up"
        log.error("%s event %s failed (%s), %s", event.channel, event.id, type(error).__name__, how)


def _event(row: InboundEvent) -> _Event:
    body: dict[str, Any] = dict(row.body)
    return _Event(row_id(row), row.channel, Stored(row.key, row.address, body), row.received_at, row.attempts)
