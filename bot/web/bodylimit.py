"""Request body limits, enforced while the body streams in and before anything parses it.

An ASGI middleware in front of every route: a ``Content-Length`` over the
limit is answered 413 at once, without reading a byte of the body; a body
without one (chunked) is counted as it arrives, and the read that passes the
limit fails with 413, so the app never holds more than the limit in memory.
Limits go by route family: a webhook 1 MB (real ones are a few kB), a
coordinator's form a long note, and everything else (the web chat's JSON,
the login form) far less.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WEBHOOK_LIMIT = 1_000_000  # bytes; real webhooks are a few kB
#: (path prefix, most bytes a body may have); the first matching prefix wins.
LIMITS: tuple[tuple[str, int], ...] = (
    ("/webhooks/", WEBHOOK_LIMIT),
    ("/coordinator/", 128_000),  # an 8,000-character note, percent-encoded (9 bytes per kana)
)
DEFAULT_LIMIT = 64_000  # the web chat's 5,000 characters as JSON escapes, the login form, anything else


class TooLarge(HTTPException):
    """The body passed its limit; an ``HTTPException``, so the routes' own error handling answers 413."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="request body too large")


def limit_for(path: str, limits: Sequence[tuple[str, int]] = LIMITS, default: int = DEFAULT_LIMIT) -> int:
    return next((most for prefix, most in limits if path.startswith(prefix)), default)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimit:
    """Refuse bodies over their route's limit with 413, counting as they stream."""

    def __init__(self, app: ASGIApp, limits: Sequence[tuple[str, int]] = LIMITS, default: int = DEFAULT_LIMIT) -> None:
        self.app = app
        self.limits = tuple(limits)
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        most = limit_for(scope["path"], self.limits, self.default)
        declared = _declared_length(scope)
        if declared is not None and declared > most:
            await _refuse(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > most:
                    raise TooLarge()
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except TooLarge:  # raised where no handler turned it into a response
            if started:
                raise
            await _refuse(scope, receive, send)


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    """413 and close: the rest of the body is never read (the server drops the connection after the answer)."""
    response = PlainTextResponse("request body too large", status_code=413, headers={"Connection": "close"})
    await response(scope, receive, send)
