"""The web chat, the terminal and the coordinator's queue page: a sender with nothing to call.

Delivered means shown: once ``send`` returns, the dispatcher marks the row's
messages delivered, and the person's page (or the queue page) picks them up.
These channels answer within the request, so they need no webhook.
"""

from __future__ import annotations

from bot.channels.base import Outgoing


class WebSender:
    """``Sender`` for the channels that show messages themselves (``web``, ``terminal``)."""

    async def send(self, item: Outgoing) -> None:
        return None
