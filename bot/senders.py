"""Senders: one small interface per channel, as healthchecks' transports.

``send`` delivers one outbox item or raises ``DeliveryError``, which says
whether a retry is worth it (``permanent``) and how long the platform asked us
to wait (``retry_after``). The dispatcher holds the only retry loop. The LINE and
Telegram senders plug in here (the channels issue); this module has the web
one, which delivers by marking the message visible to the person's web chat
(and, for pages, to the coordinator's live queue page).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Engine, update
from sqlmodel import col

from storage.db import session_scope
from storage.models import Message
from storage.types import utcnow


class DeliveryError(Exception):
    """A send failed. ``permanent``: never retry (blocked, bad request); ``retry_after``: seconds asked to wait."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One outbox item as a sender sees it."""

    id: int
    kind: str  # reply, notice, page
    channel: str
    address: str
    payload: dict[str, Any]
    attempts: int
    message_id: int | None = None


class Sender(Protocol):
    async def send(self, item: Outgoing) -> None: ...


class WebSender:
    """The web chat and the terminal: delivered means the message is now shown to the person."""

    def __init__(self, engine: Engine, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock

    async def send(self, item: Outgoing) -> None:
        if item.message_id is not None:
            await asyncio.to_thread(self._mark, item.message_id)

    def _mark(self, message_id: int) -> None:
        with session_scope(self.engine) as session:
            session.execute(
                update(Message)
                .where(col(Message.id) == message_id, col(Message.delivered_at).is_(None))
                .values(delivered_at=self.clock())
            )
