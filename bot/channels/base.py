"""What every channel gives the rest of the bot, and the values that cross it.

A channel is thin (healthchecks' transports): it verifies and translates, and it
never decides what to say. The webhook route calls ``verify`` and ``events``
and stores what they return before answering 200; the receiver later calls
``translate`` for each stored event and hands the ``Arrival``s to the desk; the
dispatcher calls ``send`` with an ``Outgoing``. Depends only on the
conversation's data types (``bot.conversation.model``): nothing above it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bot.conversation.model import Inbound


@dataclass(frozen=True, slots=True)
class Arrival:
    """One inbound event as a channel hands it in."""

    channel: str
    address: str  # the channel's opaque id for the person
    inbound: Inbound
    event_key: str | None = None  # the channel's idempotency key
    household_code: str | None = None  # a registered household's link, when the person came through one
    reply_token: str | None = None  # LINE: good for one reply call, for about a minute
    region: str | None = None  # a region chosen by the link the person came through (Telegram /start nemuro)
    #: Asked (once) before this message pages a coordinator for a new urgent case; False: the case joins
    #: the queue and a grouped page instead. None: pages freely (the platforms, the terminal).
    may_page: Callable[[], bool] | None = None


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
    """Delivers one outbox item or raises ``DeliveryError`` (``bot.channels.errors``)."""

    async def send(self, item: Outgoing) -> None: ...


@dataclass(frozen=True, slots=True)
class Stored:
    """One platform event as stored: its idempotency key, its sender, and the event's own JSON."""

    key: str
    address: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ClaimPress:
    """A coordinator pressed 受ける on a page sent to their phone."""

    case_id: int
    address: str


@dataclass(frozen=True, slots=True)
class Translation:
    """What a stored event means: arrivals for the inbox, claims from coordinators, or nothing at all."""

    arrivals: tuple[Arrival, ...] = ()
    claims: tuple[ClaimPress, ...] = ()
    notes: tuple[str, ...] = ()  # for the log: what was skipped and why (never text)


class Channel(Protocol):
    name: str

    def verify(self, body: bytes, headers: Mapping[str, str]) -> None:
        """Raise ``BadSignature`` unless the platform sent this body."""

    def events(self, body: bytes) -> list[Stored]:
        """The events to store from a verified body; [] for a verify request or a body with nothing usable."""

    async def translate(self, stored: Stored, received_at: dt.datetime) -> Translation: ...

    async def send(self, item: Outgoing) -> None: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...
