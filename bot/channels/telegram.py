"""Telegram (Bot API, python-telegram-bot v22): check the secret header, keep updates, translate, send.

Thin by design: no wording decisions (see bot/conversation). PTB's
``Application`` lives inside our ASGI app with no updater of its own: the
webhook route stores each update (keyed by ``update_id``) and answers 200; the
receiver later runs it through ``Application.process_update``, whose handlers
only translate (PTB's check/handle split decides which one applies). PTB's
errors become ``DeliveryError`` here, once: ``RetryAfter`` keeps its wait,
``Forbidden`` (blocked by the user) and ``BadRequest`` are permanent, network
trouble is worth another try. Never logs message text.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import re
from collections.abc import Mapping
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.channels.base import Arrival, ClaimPress, Outgoing, Stored, Translation
from bot.channels.errors import BadSignature, DeliveryError
from bot.channels.media import MediaKind, media_name
from bot.channels.split import split_text, strict_json
from bot.conversation.model import Inbound, Kind

log = logging.getLogger(__name__)

NAME = "telegram"
DEFAULT_API = "https://api.telegram.org"
TEXT_LIMIT = 4096
SECRET_HEADER = "x-telegram-bot-api-secret-token"
_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: A message's fields that are not text, in the order they are looked for, with the transcript's kind.
MEDIA_KINDS: tuple[tuple[str, MediaKind], ...] = (
    ("photo", "photo"),
    ("sticker", "sticker"),
    ("voice", "audio"),
    ("audio", "audio"),
    ("video", "video"),
    ("video_note", "video"),
    ("animation", "video"),
    ("document", "file"),
    ("location", "location"),
    ("contact", "contact"),
)

Context = ContextTypes.DEFAULT_TYPE


def _raw_address(update: Mapping[str, Any]) -> str:
    for field in ("message", "edited_message", "channel_post", "edited_channel_post"):
        chat = (update.get(field) or {}).get("chat") if isinstance(update.get(field), dict) else None
        if isinstance(chat, dict) and "id" in chat:
            return str(chat["id"])
    query = update.get("callback_query")
    if isinstance(query, dict):
        sender = query.get("from")
        if isinstance(sender, dict) and "id" in sender:
            return str(sender["id"])
    return "unknown"


class TelegramChannel:
    name = NAME

    def __init__(self, token: str, webhook_secret: str, api_base_url: str = DEFAULT_API) -> None:
        self.secret = webhook_secret
        base = api_base_url.rstrip("/")
        self.app = (
            Application.builder()
            .token(token)
            .base_url(f"{base}/bot")
            .updater(None)
            # several sends at once (the default pool is one connection), each well under the outbox lease
            .connection_pool_size(16)
            .connect_timeout(5)
            .read_timeout(15)
            .write_timeout(15)
            .pool_timeout(5)
            .build()
        )
        self._results: dict[int, Translation] = {}  # what the handlers made of each update, by update_id
        self._received: dict[int, dt.datetime] = {}
        self._ready = False
        self._add_handlers()

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Initialise PTB (it calls getMe); a platform that is down now is tried again on first use."""
        try:
            await self._initialise()
        except DeliveryError as error:
            log.error("telegram: not ready yet (%s); will try again when needed", error)

    async def _initialise(self) -> None:
        if self._ready:
            return
        try:
            await self.app.initialize()
        except InvalidToken as error:
            raise DeliveryError("telegram: the bot token was refused", permanent=True) from error
        except TelegramError as error:
            raise DeliveryError(f"telegram: getMe failed ({type(error).__name__})") from error
        self._ready = True

    async def close(self) -> None:
        if self._ready:
            await self.app.shutdown()
            self._ready = False

    # --- inbound ------------------------------------------------------------------------------

    def verify(self, body: bytes, headers: Mapping[str, str]) -> None:
        given = headers.get(SECRET_HEADER, "")
        if not given or not hmac.compare_digest(given.encode(), self.secret.encode()):
            raise BadSignature("X-Telegram-Bot-Api-Secret-Token missing or wrong")

    def events(self, body: bytes) -> list[Stored]:
        """The update to store, or [] for one the SDK cannot read (logged without its text, answered 200)."""
        try:
            data = strict_json(body)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise TypeError("no update_id")
            Update.de_json(data, None)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError, OSError) as error:  # odd dates too
            log.warning("telegram: an update we cannot read was dropped (%s)", type(error).__name__)
            return []
        return [Stored(f"{NAME}:{data['update_id']}", _raw_address(data), data)]

    async def translate(self, stored: Stored, received_at: dt.datetime) -> Translation:
        await self._initialise()
        update = Update.de_json(stored.body, self.app.bot)
        self._received[update.update_id] = received_at
        try:
            await self.app.process_update(update)
        finally:
            self._received.pop(update.update_id, None)
        return self._results.pop(update.update_id, Translation(notes=("no handler for this update",)))

    def _add_handlers(self) -> None:
        groups = filters.ChatType.GROUPS | filters.ChatType.CHANNEL
        self.app.add_handler(MessageHandler(groups, self._on_group))
        self.app.add_handler(CommandHandler("start", self._on_start))
        self.app.add_handler(CommandHandler("delete", self._on_delete))
        self.app.add_handler(CallbackQueryHandler(self._on_button))
        self.app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, self._on_text))
        self.app.add_handler(MessageHandler(filters.ALL, self._on_other))

    def _arrive(self, update: Update, text: str, kind: Kind = Kind.TEXT, **extra: Any) -> None:
        chat = update.effective_chat
        address = str(chat.id) if chat else "unknown"
        choice = extra.pop("choice", None)
        inbound = Inbound(text, self._received[update.update_id], choice, kind)
        key = f"{NAME}:{update.update_id}"
        arrival = Arrival(NAME, address, inbound, key, extra.get("household"), region=extra.get("region"))
        self._results[update.update_id] = Translation(arrivals=(arrival,))

    async def _on_group(self, update: Update, context: Context) -> None:
        self._arrive(update, "", Kind.GROUP)

    async def _on_start(self, update: Update, context: Context) -> None:
        """/start, maybe with a deep-link payload: a region id (t.me/bot?start=nemuro) or a household's code."""
        payload = context.args[0] if context.args and _PAYLOAD.match(context.args[0]) else None
        self._arrive(update, "", Kind.FOLLOW, household=payload, region=payload)

    async def _on_delete(self, update: Update, context: Context) -> None:
        self._arrive(update, "データを消して", choice="forget")

    async def _on_text(self, update: Update, context: Context) -> None:
        message = update.effective_message
        self._arrive(update, message.text if message and message.text else "")

    async def _on_other(self, update: Update, context: Context) -> None:
        message = update.effective_message
        kind = next((kind for field, kind in MEDIA_KINDS if message and getattr(message, field, None)), None)
        self._arrive(update, media_name(kind), Kind.MEDIA)

    async def _on_button(self, update: Update, context: Context) -> None:
        query = update.callback_query
        if query is None:
            return
        try:
            await query.answer()  # stops the spinner on the person's button
        except TelegramError as error:
            log.info("telegram: callback not answered (%s)", type(error).__name__)
        data = query.data or ""
        if data.startswith("claim:") and data[6:].isdigit():
            press = ClaimPress(int(data[6:]), str(query.from_user.id))
            self._results[update.update_id] = Translation(claims=(press,))
            return
        self._arrive(update, _label_of(query.message, data) or data, choice=data)

    # --- outbound -----------------------------------------------------------------------------

    async def send(self, item: Outgoing) -> None:
        await self._initialise()
        for text, choices in item.messages:
            parts = split_text(text or " ", TEXT_LIMIT)
            for number, part in enumerate(parts):
                markup = _keyboard(choices) if number == len(parts) - 1 else None
                await self._send_one(item.address, part, markup)

    async def _send_one(self, chat_id: str, text: str, markup: InlineKeyboardMarkup | None) -> None:
        try:
            await self.app.bot.send_message(chat_id=chat_id, text=text, reply_markup=markup)
        except RetryAfter as error:
            wait = error.retry_after
            seconds = wait.total_seconds() if isinstance(wait, dt.timedelta) else float(wait)
            raise DeliveryError("telegram: 429 Too Many Requests", retry_after=seconds) from error
        except (Forbidden, ChatMigrated, BadRequest, InvalidToken) as error:
            raise DeliveryError(f"telegram: {type(error).__name__}", permanent=True) from error
        except NetworkError as error:  # TimedOut included
            raise DeliveryError(f"telegram: {type(error).__name__}") from error
        except TelegramError as error:
            raise DeliveryError(f"telegram: {type(error).__name__}") from error

    async def set_webhook(self, url: str) -> bool:
        await self._initialise()
        return bool(await self.app.bot.set_webhook(url=url, secret_token=self.secret, allowed_updates=Update.ALL_TYPES))


def _keyboard(choices: list[dict[str, str]]) -> InlineKeyboardMarkup | None:
    buttons = [InlineKeyboardButton(c["label"], callback_data=c["value"][:64]) for c in choices]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return InlineKeyboardMarkup(rows) if rows else None


def _label_of(message: object, data: str) -> str | None:
    """The label of the pressed button, read from the message it was on."""
    markup = getattr(message, "reply_markup", None)
    for row in getattr(markup, "inline_keyboard", ()) or ():
        for button in row:
            if getattr(button, "callback_data", None) == data:
                return str(button.text)
    return None
