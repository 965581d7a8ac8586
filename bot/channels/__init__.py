"""Channels: LINE and Telegram, each one module with the same small interface (``base.Channel``).

``build_channels`` makes the ones whose secrets are set. Adding or removing a
channel touches its module, its tests and one line here. The web chat and the
terminal need no channel object: they answer within the request.
"""

from __future__ import annotations

from bot.channels.base import Channel, ClaimPress, Stored, Translation
from bot.channels.errors import BadSignature, ChannelError, NotConfigured
from bot.settings import Settings


def build_channels(settings: Settings) -> dict[str, Channel]:
    channels: dict[str, Channel] = {}
    if settings.line_channel_secret and settings.line_channel_access_token:
        from bot.channels.line import LineChannel

        channels["line"] = LineChannel(
            settings.line_channel_secret.get_secret_value(),
            settings.line_channel_access_token.get_secret_value(),
            settings.line_api_base_url,
        )
    if settings.telegram_bot_token and settings.telegram_webhook_secret:
        from bot.channels.telegram import TelegramChannel

        channels["telegram"] = TelegramChannel(
            settings.telegram_bot_token.get_secret_value(),
            settings.telegram_webhook_secret.get_secret_value(),
            settings.telegram_api_base_url,
        )
    return channels


__all__ = [
    "BadSignature",
    "Channel",
    "ChannelError",
    "ClaimPress",
    "NotConfigured",
    "Stored",
    "Translation",
    "build_channels",
]
