"""LINE (Messaging API, line-bot-sdk v3): verify the signature, keep the events, translate them, send.

Thin by design: no wording decisions (see bot/conversation). Inbound: the SDK's
``SignatureValidator`` over the raw body, then one stored row per event, keyed
by ``webhookEventId`` (a redelivery finds its row). Events are parsed with the
SDK's ``Event.from_dict`` when processed, not before the 200. Outbound: the
reply token on the first try while it is fresh, else a push whose
``X-Line-Retry-Key`` is the same on every attempt of one outbox row, so LINE
delivers it once (a 409 means it already did); a 429's ``Retry-After`` is kept.
LINE has no retry key for replies: a worker that dies between a reply LINE
took and its "sent" mark leaves the one case where a message can go twice.
Quick replies carry the engine's buttons as postbacks. The SDK's errors become
``DeliveryError`` here, once.

Never logs message text: SDK validation errors echo the whole event, so only
their type is logged.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import logging
import uuid
from collections.abc import Coroutine, Mapping
from typing import Any

import aiohttp
from linebot.v3 import SignatureValidator
from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    PostbackAction,
    PushMessageRequest,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    ShowLoadingAnimationRequest,
    TextMessage,
)
from linebot.v3.webhooks import (
    Event,
    FollowEvent,
    GroupSource,
    JoinEvent,
    MemberJoinedEvent,
    MessageEvent,
    PostbackEvent,
    RoomSource,
    TextMessageContent,
    UnfollowEvent,
    UserSource,
)

from bot.channels.base import Arrival, ClaimPress, Outgoing, Stored, Translation
from bot.channels.errors import MONTHLY_LIMIT, BadSignature, DeliveryError
from bot.channels.media import MediaKind, media_name
from bot.channels.split import split_text, strict_json
from bot.conversation.model import Inbound, Kind

log = logging.getLogger(__name__)

NAME = "line"
DEFAULT_API = "https://api.line.me"
#: LINE counts text in UTF-16 code units; five message objects per call; thirteen quick replies.
TEXT_LIMIT, MESSAGES_PER_CALL, QUICK_REPLIES, LABEL_LIMIT = 5000, 5, 13, 20
#: The console's old "Verify" sent dummy events with these reply tokens; replying to them fails.
DUMMY_TOKENS = frozenset({"0" * 32, "f" * 32})
#: LINE's message types that are not text, by the transcript's kind (``bot/channels/media.yaml``).
MEDIA_KINDS: dict[str, MediaKind] = {
    "image": "photo",
    "video": "video",
    "audio": "audio",
    "file": "file",
    "location": "location",
    "sticker": "sticker",
}
#: Seconds a call to LINE may take: well under the outbox lease (60 s), so a slow call is never sent twice
#: by two workers (the SDK's own default is 300 s).
CALL_TIMEOUT = 15.0
LOADING_TIMEOUT = 3.0
_RETRY_KEYS = uuid.UUID("6f0b1a52-5c1e-4d36-9d43-0c8f1b0e7a11")  # namespace for our retry keys


def retry_key(outbox_id: int, call: int = 0) -> str:
    """The X-Line-Retry-Key of one push: the same for every attempt of the same outbox row."""
    return str(uuid.uuid5(_RETRY_KEYS, f"outbox:{outbox_id}:{call}"))


def _address(source: object) -> str | None:
    """Where replies go: the group, else the room, else the user."""
    for kind, field in ((GroupSource, "group_id"), (RoomSource, "room_id"), (UserSource, "user_id")):
        if isinstance(source, kind):
            value = getattr(source, field, None)
            return str(value) if value else None
    return None


def _raw_address(event: Mapping[str, Any]) -> str:
    source = event.get("source")
    if not isinstance(source, dict):
        return "unknown"
    for field in ("groupId", "roomId", "userId"):
        value = source.get(field)
        if isinstance(value, str) and value:
            return value
    return "unknown"


class LineChannel:
    name = NAME

    def __init__(self, secret: str, access_token: str, api_base_url: str = DEFAULT_API) -> None:
        self.validator = SignatureValidator(secret)
        host = None if api_base_url.rstrip("/") == DEFAULT_API else api_base_url.rstrip("/")
        self.configuration = Configuration(host=host, access_token=access_token)
        self._client: AsyncApiClient | None = None
        self._background: set[asyncio.Task[None]] = set()

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- inbound ------------------------------------------------------------------------------

    def verify(self, body: bytes, headers: Mapping[str, str]) -> None:
        signature = headers.get("x-line-signature", "")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise BadSignature("body is not UTF-8") from error
        if not signature or not self.validator.validate(text, signature):
            raise BadSignature("X-Line-Signature missing or wrong")

    def events(self, body: bytes) -> list[Stored]:
        """Events worth keeping; the console's verify requests (no events, or dummy ones) give []."""
        try:
            data = strict_json(body)
        except ValueError:
            return []
        events = data.get("events") if isinstance(data, dict) else None
        if not isinstance(events, list):
            return []
        stored = []
        for event in events:
            if not isinstance(event, dict):
                continue
            key, token = event.get("webhookEventId"), event.get("replyToken")
            if not isinstance(key, str) or not key or (isinstance(token, str) and token in DUMMY_TOKENS):
                continue  # the old verify body: dummy tokens and no event id
            stored.append(Stored(f"{NAME}:{key}"[:200], _raw_address(event), event))
        return stored

    async def translate(self, stored: Stored, received_at: dt.datetime) -> Translation:
        try:
            event = Event.from_dict(stored.body)
        except (ValueError, TypeError, KeyError) as error:  # pydantic's ValidationError is a ValueError
            return self._unreadable(stored, received_at, type(error).__name__)
        if str(getattr(event, "mode", "active")) in {"standby", "EventMode.STANDBY"}:
            return Translation(notes=("standby mode: another channel holds the chat",))
        address = _address(event.source)
        if address is None:
            return Translation(notes=("no source",))
        is_one_to_one = isinstance(event.source, UserSource)
        token = getattr(event, "reply_token", None)
        token = token if token and token not in DUMMY_TOKENS else None

        def arrive(
            text: str, kind: Kind = Kind.TEXT, choice: str | None = None, household: str | None = None
        ) -> Arrival:
            inbound = Inbound(text, received_at, choice, kind)
            return Arrival(NAME, address, inbound, stored.key, household, reply_token=token)

        if isinstance(event, FollowEvent):
            return Translation(arrivals=(arrive("", Kind.FOLLOW),))
        if isinstance(event, UnfollowEvent):
            return Translation(notes=("unfollowed",))
        if isinstance(event, JoinEvent | MemberJoinedEvent):
            return Translation(arrivals=(arrive("", Kind.GROUP),))
        if isinstance(event, PostbackEvent):
            data = event.postback.data if event.postback else ""
            if data.startswith("claim:") and data[6:].isdigit():
                return Translation(claims=(ClaimPress(int(data[6:]), address),))
            return Translation(arrivals=(arrive(data, choice=data),))
        if isinstance(event, MessageEvent):
            message = event.message
            if not is_one_to_one:
                return Translation(arrivals=(arrive("", Kind.GROUP),))
            if isinstance(message, TextMessageContent):
                self._in_background(self.show_loading(address))  # never holds up the message itself
                return Translation(arrivals=(arrive(message.text),))
            kind_name = str(getattr(message, "type", "") or "")
            return Translation(arrivals=(arrive(media_name(MEDIA_KINDS.get(kind_name)), Kind.MEDIA),))
        return Translation(notes=(f"ignored {type(event).__name__}",))

    def _unreadable(self, stored: Stored, received_at: dt.datetime, why: str) -> Translation:
        """An event this SDK version cannot read: a message from a person still gets an answer, read by hand."""
        body = stored.body
        message = body.get("message")
        source = body.get("source")
        if body.get("type") != "message" or not isinstance(message, dict) or not isinstance(source, dict):
            return Translation(notes=(f"unreadable {str(body.get('type'))[:30]} event ({why})",))
        if source.get("type") != "user" or body.get("mode") == "standby":
            return Translation(notes=(f"unreadable message outside a 1:1 chat ({why})",))
        text = message.get("text")
        token = body.get("replyToken") if isinstance(body.get("replyToken"), str) else None
        if message.get("type") == "text" and isinstance(text, str):
            inbound = Inbound(text, received_at)
        else:
            inbound = Inbound(media_name(MEDIA_KINDS.get(str(message.get("type")))), received_at, kind=Kind.MEDIA)
        arrival = Arrival(NAME, stored.address, inbound, stored.key, reply_token=token)
        return Translation(arrivals=(arrival,), notes=(f"read by hand ({why})",))

    # --- outbound -----------------------------------------------------------------------------

    def _api(self) -> AsyncMessagingApi:
        if self._client is None:
            self._client = AsyncApiClient(self.configuration)
        return AsyncMessagingApi(self._client)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def show_loading(self, chat_id: str) -> None:
        """The "typing" dots while the bot thinks (1:1 chats only); best effort, never fails a message."""
        try:
            async with asyncio.timeout(LOADING_TIMEOUT):
                request = ShowLoadingAnimationRequest(chat_id=chat_id, loading_seconds=5)
                await self._api().show_loading_animation(request)
        except (ApiException, aiohttp.ClientError, TimeoutError) as error:
            log.info("loading animation not shown: %s", type(error).__name__)

    async def send(self, item: Outgoing) -> None:
        messages = [
            TextMessage(text=part, quick_reply=_quick_reply(choices) if last else None)
            for text, choices in item.messages
            for part, last in _parts(text)
        ]
        calls = [messages[i : i + MESSAGES_PER_CALL] for i in range(0, len(messages), MESSAGES_PER_CALL)]
        # The reply token only for a row that is one call: had a later call failed, the retry could not know
        # whether the reply went out, and would push it again. Pushes carry retry keys, so LINE sends each once.
        if len(calls) == 1 and await self._reply(item, calls[0]):
            return
        for number, call in enumerate(calls):
            await self._push(item.address, call, retry_key(item.id, number))

    async def _reply(self, item: Outgoing, messages: list[TextMessage]) -> bool:
        """Use the reply token if it is still fresh and this is the first try; False when push must do it."""
        token, until = item.payload.get("reply_token"), item.payload.get("reply_until")
        if not token or not until or item.attempts > 1 or dt.datetime.now(dt.UTC) > dt.datetime.fromisoformat(until):
            return False
        try:
            async with asyncio.timeout(CALL_TIMEOUT):
                await self._api().reply_message(ReplyMessageRequest(reply_token=token, messages=messages))
        except ApiException as error:
            if error.status == 400:
                return False  # the token expired or was used: push instead
            raise _delivery_error(error) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise DeliveryError(f"LINE reply: {type(error).__name__}") from error
        return True

    async def _push(self, to: str, messages: list[TextMessage], key: str) -> None:
        try:
            async with asyncio.timeout(CALL_TIMEOUT):
                await self._api().push_message(PushMessageRequest(to=to, messages=messages), x_line_retry_key=key)
        except ApiException as error:
            if error.status == 409:
                return  # accepted before under this retry key: already delivered
            raise _delivery_error(error) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise DeliveryError(f"LINE push: {type(error).__name__}") from error


def _parts(text: str) -> list[tuple[str, bool]]:
    parts = split_text(text or " ", TEXT_LIMIT, utf16=True)
    return [(part, i == len(parts) - 1) for i, part in enumerate(parts)]


def _quick_reply(choices: list[dict[str, str]]) -> QuickReply | None:
    items = [
        QuickReplyItem(action=PostbackAction(label=c["label"][:LABEL_LIMIT], data=c["value"], display_text=c["label"]))
        for c in choices[:QUICK_REPLIES]
    ]
    return QuickReply(items=items) if items else None


#: The body of LINE's 429 when the account has sent its month's messages (the free plan has 200 pushes):
#: no retry helps before the next month ("Handle HTTP status code 429 errors in the Messaging API").
MONTHLY_LIMIT_MESSAGE = "You have reached your monthly limit."


def _delivery_error(error: ApiException) -> DeliveryError:
    """LINE's status codes as retry decisions: 429 and 5xx are worth another try, other 4xx are not.

    A ``Retry-After`` LINE sends (with a 429, or a 503) is kept: the next try is never sooner. A 429 for
    the monthly message limit is permanent (marked ``MONTHLY_LIMIT``): pages go on by another channel.
    """
    status = int(error.status or 0)
    message = f"LINE HTTP {status}"
    if status == 429 and MONTHLY_LIMIT_MESSAGE in _body(error):
        return DeliveryError(message, permanent=True, reason=MONTHLY_LIMIT)
    if status == 429 or status >= 500 or status == 0:
        return DeliveryError(message, retry_after=retry_after(error.headers))
    return DeliveryError(message, permanent=True)


def _body(error: ApiException) -> str:
    """The error's response body as text (the SDK keeps bytes from aiohttp)."""
    body = error.body
    if isinstance(body, bytes | bytearray):
        return bytes(body).decode("utf-8", "replace")
    return str(body or "")


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None when absent or unreadable."""
    value = next((v for k, v in (headers or {}).items() if k.lower() == "retry-after"), None)
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
