"""Web Push (RFC 8030, with VAPID, RFC 8292, and aes128gcm, RFC 8291) to a coordinator's browser, via pywebpush.

A page reaches the phone with the browser closed: the browser's push service
(Google's FCM, Mozilla's autopush, Apple's) wakes the coordinator pages' service
worker (``bot/web/static/sw.js``), which shows the page text and opens the case
page on a tap. Only a sender: nothing comes back this way (a claim is made on the
case page). The outbox row's ``address`` is the subscription's endpoint and its
payload carries the subscription's public keys (``push_keys``), so the sender
needs no database. pywebpush encrypts and signs; its errors become
``DeliveryError`` here, once: 404 and 410 mean the subscription is gone for good
(``GONE``: the dispatcher unlinks it), 429 and 5xx are worth another try.

The VAPID key is a P-256 private key, kept as the base64url of its 32 raw bytes
(the form web-push libraries and ``MADOGUCHI_VAPID_PRIVATE_KEY`` use); the public
key the browser subscribes with is derived from it.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bot.channels.base import Outgoing
from bot.channels.errors import GONE, DeliveryError

if TYPE_CHECKING:  # pywebpush brings aiohttp and requests: loaded at the first push, not at every start
    import aiohttp
    from pywebpush import WebPushException

NAME = "webpush"
CALL_TIMEOUT = 15.0  # well under the outbox lease, like every other channel's calls
#: How long a push service keeps a page for a phone that is off: a page older than this is of no use.
TTL_SECONDS = 3600
BODY_CHARS = 600  # the notification's text: the page's first lines are what a lock screen shows


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_private_key() -> str:
    """A fresh VAPID private key (base64url, 32 raw bytes)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return _b64(key.private_numbers().private_value.to_bytes(32, "big"))


def public_key_of(private_key: str) -> str:
    """The browser's ``applicationServerKey``: the uncompressed P-256 point, base64url."""
    raw = base64.urlsafe_b64decode(private_key + "=" * (-len(private_key) % 4))
    key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return _b64(point)


def notification(item: Outgoing) -> dict[str, Any]:
    """What the service worker shows: the page's first line as the title, the rest as the body, where a tap goes."""
    text = item.messages[0][0] if item.messages else ""
    title, _, body = text.partition("\n")
    case_id = item.payload.get("case_id")
    url = f"/coordinator/cases/{case_id}" if case_id else "/coordinator/"
    return {"title": title, "body": body[:BODY_CHARS], "url": url, "tag": f"case-{case_id}" if case_id else "page"}


class WebPushSender:
    """``Sender`` for ``webpush`` rows: one encrypted push per row."""

    name = NAME

    def __init__(self, private_key: str, subject: str) -> None:
        self.private_key = private_key
        self.subject = subject
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CALL_TIMEOUT))
        return self._session

    async def send(self, item: Outgoing) -> None:
        keys = item.payload.get("push_keys")
        if not isinstance(keys, dict) or not keys.get("p256dh") or not keys.get("auth"):
            raise DeliveryError("Web Push: no subscription keys", permanent=True, reason=GONE)
        import aiohttp
        from py_vapid import Vapid02
        from pywebpush import WebPushException, webpush_async

        data = json.dumps(notification(item), ensure_ascii=False)
        try:
            async with asyncio.timeout(CALL_TIMEOUT):
                await webpush_async(
                    subscription_info={"endpoint": item.address, "keys": dict(keys)},
                    data=data,
                    vapid_private_key=Vapid02.from_raw(self.private_key.encode()),
                    vapid_claims={"sub": self.subject},  # a fresh dict: pywebpush adds aud and exp to it
                    ttl=TTL_SECONDS,
                    headers={"Urgency": "high", "Topic": notification(item)["tag"][:32]},
                    aiohttp_session=self._http(),
                )
        except WebPushException as error:
            raise _delivery_error(error) from error
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise DeliveryError(f"Web Push: {type(error).__name__}") from error


def _delivery_error(error: WebPushException) -> DeliveryError:
    """The push service's answer as a retry decision (never its body: it may echo the endpoint)."""
    response = error.response
    status = int(getattr(response, "status", 0) or getattr(response, "status_code", 0) or 0)
    message = f"Web Push HTTP {status}"
    if status in (404, 410):
        return DeliveryError(message, permanent=True, reason=GONE)
    if status == 429 or status >= 500 or status == 0:
        retry = getattr(response, "headers", {}).get("Retry-After") if response is not None else None
        return DeliveryError(message, retry_after=float(retry) if retry and retry.isdigit() else None)
    return DeliveryError(message, permanent=True)
