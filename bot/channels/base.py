"""What every channel gives the rest of the bot: stored events in, arrivals out, and a sender.

A channel is thin (healthchecks' transports): it verifies and translates, and it
never decides what to say. The webhook route calls ``verify`` and ``events``
and stores what they return before answering 200; the receiver later calls
``translate`` for each stored event; the dispatcher calls ``send``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bot.inbox import Arrival
from bot.senders import Outgoing


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
