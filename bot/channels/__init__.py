"""Channels: LINE and Telegram, each one module with the same small interface (``base.Channel``).

The values that cross a channel live in ``base``, its errors in ``errors``, and
what the rest of the bot knows about each channel in one ``registry`` row. The
web chat and the terminal need no channel object: they answer within the request
(``web.WebSender`` delivers by showing). Depends on the conversation's data types
and the settings only, never on the desk, the runtime or the web.
"""

from __future__ import annotations

from bot.channels.base import Arrival, Channel, ClaimPress, Outgoing, Sender, Stored, Translation
from bot.channels.errors import BadSignature, ChannelError, DeliveryError, NotConfigured

__all__ = [
    "Arrival",
    "BadSignature",
    "Channel",
    "ChannelError",
    "ClaimPress",
    "DeliveryError",
    "NotConfigured",
    "Outgoing",
    "Sender",
    "Stored",
    "Translation",
]
