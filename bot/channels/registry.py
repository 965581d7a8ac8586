"""One row per channel: everything the rest of the bot needs to know about a channel, in one place.

A new channel is one module in ``bot/channels/``, one row here, one settings
block in ``bot/settings.py`` and one test file in ``tests/bot/channels/``.
Nothing else names a channel: the webhook route, the outbox, the inbox and the
coordinator pages read their per-channel facts from this table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from bot.channels.base import Channel
from bot.settings import Settings


def _line(settings: Settings) -> Channel | None:
    if not (settings.line_channel_secret and settings.line_channel_access_token):
        return None
    from bot.channels.line import LineChannel

    return LineChannel(
        settings.line_channel_secret.get_secret_value(),
        settings.line_channel_access_token.get_secret_value(),
        settings.line_api_base_url,
    )


def _telegram(settings: Settings) -> Channel | None:
    if not (settings.telegram_bot_token and settings.telegram_webhook_secret):
        return None
    from bot.channels.telegram import TelegramChannel

    return TelegramChannel(
        settings.telegram_bot_token.get_secret_value(),
        settings.telegram_webhook_secret.get_secret_value(),
        settings.telegram_api_base_url,
    )


@dataclass(frozen=True, slots=True)
class Row:
    """What is known about one channel.

    ``build``: the channel object from the settings, or None when its secrets are not set (no webhook then);
    ``refused``: the status a webhook with a bad signature gets (what the platform's docs expect);
    ``batch``: how many messages one outbox row (one API call) carries;
    ``inline``: replies go back within the same exchange (web chat, terminal), not through the outbox;
    ``reply_window``: how long a reply token the platform gave stays worth trying (then: push);
    ``label``: the channel's name on the coordinator pages.
    """

    name: str
    label: str
    build: Callable[[Settings], Channel | None] | None = None
    refused: int = 401
    batch: int = 1
    inline: bool = False
    reply_window: dt.timedelta | None = None


ROWS = (
    Row("web", "ウェブチャット", inline=True),
    Row("terminal", "端末", inline=True),
    # LINE: up to five messages per call (one reply token covers them all), the token "within 1 minute".
    Row("line", "LINE", _line, refused=401, batch=5, reply_window=dt.timedelta(seconds=50)),
    Row("telegram", "Telegram", _telegram, refused=403),
    # Web Push: a sender only (bot/channels/webpush.py), built by the work with the VAPID key kept in the database.
    Row("webpush", "Web Push"),
)
CHANNELS = {row.name: row for row in ROWS}
_UNKNOWN = Row("?", "?")


def row(name: str) -> Row:
    """The channel's row; an unknown name gets the defaults (one message a row, through the outbox)."""
    return CHANNELS.get(name, _UNKNOWN)


def build_channels(settings: Settings) -> dict[str, Channel]:
    """The channel objects whose secrets are set, by name."""
    built = {row.name: row.build(settings) for row in ROWS if row.build is not None}
    return {name: channel for name, channel in built.items() if channel is not None}
