"""Senders: one small interface per channel, as healthchecks' transports.

``send`` delivers one outbox item or raises ``DeliveryError``, which says
whether a retry is worth it (``permanent``) and how long the platform asked us
to wait (``retry_after``). The dispatcher holds the only retry loop. The LINE and
Telegram senders plug in here (the channels issue); this module has the web
one, which delivers by marking the message visible to the person's web chat
(and, for pages, to the coordinator's live queue page).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


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

    @property
    def messages(self) -> list[tuple[str, list[dict[str, str]]]]:
        """(text, buttons) for each message this item carries."""
        return [(str(m.get("text", "")), list(m.get("choices", []))) for m in self.payload.get("messages", [])]


class Sender(Protocol):
    async def send(self, item: Outgoing) -> None: ...


class WebSender:
    """The web chat, the terminal and the coordinator's queue page: nothing to call.

    Delivered means shown: once ``send`` returns, the dispatcher marks the row's
    messages delivered, and the person's page (or the queue page) picks them up.
    """

    async def send(self, item: Outgoing) -> None:
        return None
