"""A fake LINE Messaging API: reply (single-use tokens), push (with X-Line-Retry-Key), loading animation.

It behaves as the reference says for what we use: a reply token works once
(then 400 "Invalid reply token"); a push whose retry key was accepted before
answers 409 with ``x-line-accepted-request-id`` and delivers nothing again.
``delivered`` lists what a person would really have seen. ``monthly_limit``: the
account has sent its month's messages (the free plan's 200): every push answers
429 ``{"message": "You have reached your monthly limit."}``, as LINE documents
("Handle HTTP status code 429 errors in the Messaging API"); replies, which do
not count, still work.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.platform import Call, Failure, Script

MONTHLY_LIMIT = "You have reached your monthly limit."


class FakeLine:
    def __init__(self) -> None:
        self.script = Script()
        self.used_tokens: set[str] = set()
        self.accepted_keys: dict[str, str] = {}
        self.delivered: list[tuple[str, str]] = []  # (to or reply token, text)
        self.monthly_limit = False
        self.app = Starlette(
            routes=[
                Route("/v2/bot/message/reply", self._reply, methods=["POST"]),
                Route("/v2/bot/message/push", self._push, methods=["POST"]),
                Route("/v2/bot/chat/loading/start", self._loading, methods=["POST"]),
            ]
        )

    def texts(self, to: str | None = None) -> list[str]:
        return [text for target, text in self.delivered if to is None or target == to]

    async def _failure(self, call: Call) -> Response | None:
        failure = self.script.next_failure(call)
        return None if failure is None else await self._play(failure)

    async def _play(self, failure: Failure) -> Response:
        if failure.status == 0:
            await asyncio.sleep(self.script.hang_seconds)
            return JSONResponse({"message": "timeout"}, status_code=504)
        headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else None
        return JSONResponse({"message": failure.message}, status_code=failure.status, headers=headers)

    async def _record(self, request: Request) -> tuple[dict[str, Any], Call]:
        body: dict[str, Any] = await request.json()
        headers = {k.lower(): v for k, v in request.headers.items()}
        return body, self.script.record(Call(request.url.path, headers, body))

    async def _reply(self, request: Request) -> Response:
        body, call = await self._record(request)
        failed = await self._failure(call)
        if failed is not None:
            return failed
        token = body.get("replyToken", "")
        if token in self.used_tokens:
            call.answer = 400
            return JSONResponse({"message": "Invalid reply token"}, status_code=400)
        self.used_tokens.add(token)
        self.delivered += [(f"reply:{token}", m.get("text", "")) for m in body.get("messages", [])]
        return JSONResponse({"sentMessages": [{"id": str(uuid.uuid4().int)[:18]} for _ in body.get("messages", [])]})

    async def _push(self, request: Request) -> Response:
        body, call = await self._record(request)
        key = request.headers.get("x-line-retry-key")
        if key and key in self.accepted_keys:
            call.answer = 409
            return JSONResponse(
                {"message": "The retry key is already accepted"},
                status_code=409,
                headers={"x-line-accepted-request-id": self.accepted_keys[key]},
            )
        if self.monthly_limit:
            call.answer = 429
            return JSONResponse({"message": MONTHLY_LIMIT}, status_code=429)
        failure = self.script.next_failure(call)
        if failure is not None and not failure.accepted:
            return await self._play(failure)
        if key:
            self.accepted_keys[key] = str(uuid.uuid4())
        self.delivered += [(body.get("to", ""), m.get("text", "")) for m in body.get("messages", [])]
        if failure is not None:
            return await self._play(failure)
        return JSONResponse({"sentMessages": [{"id": str(uuid.uuid4().int)[:18]} for _ in body.get("messages", [])]})

    async def _loading(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse({}, status_code=202)
