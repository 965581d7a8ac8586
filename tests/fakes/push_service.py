"""A fake Web Push service (RFC 8030) on 127.0.0.1, checking what a real one checks and reading what a phone reads.

``subscribe`` does what a browser does in ``PushManager.subscribe``: it makes the
subscriber's P-256 key pair and 16-byte auth secret, keeps the private half, and
hands out the subscription (endpoint and public keys) for the server. A push is
accepted (201) only with a valid VAPID ``Authorization: vapid t=<JWT>, k=<key>``
(RFC 8292: ES256 signature by ``k``; ``aud`` the endpoint's origin; ``exp`` in the
future and at most 24 h away; ``sub`` a mailto: or https: address; ``k`` the key
the subscription was made with, when one was given), a ``TTL`` and
``Content-Encoding: aes128gcm``; its body is then decrypted (RFC 8291) with the
subscriber's private key and auth secret, as the browser would, into ``received``.
Anything else is answered 400/401/403 and listed in ``refused``. ``gone`` holds
subscription ids answered 410 (the browser unsubscribed).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Subscriber:
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    server_key: str | None  # the applicationServerKey it subscribed with


@dataclass
class Received:
    subscription: str
    data: dict[str, Any]
    headers: dict[str, str]
    claims: dict[str, Any]


@dataclass
class FakePushService:
    subscribers: dict[str, Subscriber] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (subscription id, why)
    gone: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[Route("/push/{sid}", self._push, methods=["POST"])])

    def subscribe(self, base_url: str, server_key: str | None = None) -> dict[str, Any]:
        """A browser's ``PushSubscription.toJSON()`` for a new subscriber of this service."""
        sid = secrets.token_urlsafe(12)
        key = ec.generate_private_key(ec.SECP256R1())
        auth = secrets.token_bytes(16)
        with self.lock:
            self.subscribers[sid] = Subscriber(key, auth, server_key)
        public = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": f"{base_url}/push/{sid}", "keys": {"p256dh": b64encode(public), "auth": b64encode(auth)}}

    def to(self, subscription: dict[str, Any]) -> list[dict[str, Any]]:
        """What the subscriber's service worker was handed, in order."""
        sid = str(subscription["endpoint"]).rsplit("/", 1)[-1]
        with self.lock:
            return [one.data for one in self.received if one.subscription == sid]

    def _refuse(self, sid: str, status: int, why: str) -> Response:
        with self.lock:
            self.refused.append((sid, why))
        return Response(why, status_code=status)

    async def _push(self, request: Request) -> Response:
        sid = request.path_params["sid"]
        subscriber = self.subscribers.get(sid)
        if subscriber is None:
            return self._refuse(sid, 404, "no such subscription")
        if sid in self.gone:
            return self._refuse(sid, 410, "unsubscribed")
        headers = {k.lower(): v for k, v in request.headers.items()}
        origin = f"{request.url.scheme}://{request.url.netloc}"
        try:
            claims = _check_vapid(headers.get("authorization", ""), origin, subscriber.server_key)
        except ValueError as error:
            return self._refuse(sid, 403 if "key" in str(error) else 401, str(error))
        if headers.get("content-encoding") != "aes128gcm" or "ttl" not in headers:
            return self._refuse(sid, 400, "Content-Encoding aes128gcm and TTL needed")
        body = await request.body()
        try:
            plain = http_ece.decrypt(
                body, private_key=subscriber.private_key, auth_secret=subscriber.auth, version="aes128gcm"
            )
            data = json.loads(plain)
        except Exception as error:  # any failure to read it is the sender's fault
            return self._refuse(sid, 400, f"cannot decrypt: {type(error).__name__}")
        with self.lock:
            self.received.append(Received(sid, data, headers, claims))
        return Response(status_code=201, headers={"Location": f"{origin}/message/{secrets.token_hex(8)}"})


def _check_vapid(header: str, origin: str, expected_key: str | None) -> dict[str, Any]:
    """RFC 8292's checks; the claims, or ValueError saying what is wrong."""
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "vapid":
        raise ValueError("no vapid Authorization")
    parts = dict(item.strip().split("=", 1) for item in rest.split(",") if "=" in item)
    token, key = parts.get("t", ""), parts.get("k", "")
    if expected_key is not None and key != expected_key:
        raise ValueError("wrong key: not the applicationServerKey of the subscription")
    try:
        head64, claims64, signature64 = token.split(".")
        head, claims = json.loads(b64decode(head64)), json.loads(b64decode(claims64))
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64decode(key))
        raw = b64decode(signature64)
        signature = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public.verify(signature, f"{head64}.{claims64}".encode(), ec.ECDSA(hashes.SHA256()))
    except (ValueError, InvalidSignature) as error:
        raise ValueError(f"bad token: {type(error).__name__}") from error
    now = time.time()
    if head.get("alg") != "ES256" or len(raw) != 64:
        raise ValueError("bad token: not ES256")
    if claims.get("aud") != origin or urlsplit(str(claims.get("aud"))).path not in ("", "/"):
        raise ValueError(f"bad token: aud {claims.get('aud')!r} is not {origin!r}")
    if not now < float(claims.get("exp", 0)) <= now + 24 * 3600:
        raise ValueError("bad token: exp not within 24 h")
    if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
        raise ValueError("bad token: sub")
    return dict(claims)
