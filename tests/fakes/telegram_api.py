"""A fake Telegram Bot API: getMe, sendMessage, answerCallbackQuery, setWebhook, under /bot<token>/.

python-telegram-bot posts form fields whose values are JSON (``reply_markup``),
or JSON; both are read. A 429 answers as Telegram does, with
``parameters.retry_after``. ``delivered`` lists what a person would have seen.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.platform import Call, Script

BOT = {"id": 7000001, "is_bot": True, "first_name": "まどぐち", "username": "madoguchi_test_bot"}


class FakeTelegram:
    def __init__(self) -> None:
        self.script = Script()
        self.delivered: list[tuple[str, str]] = []  # (chat id, text)
        self.webhook: dict[str, Any] = {}
        self._ids = itertools.count(1)
        self.app = Starlette(routes=[Route("/bot{token}/{method}", self._call, methods=["POST", "GET"])])

    def texts(self, chat_id: str | int | None = None) -> list[str]:
        return [text for chat, text in self.delivered if chat_id is None or chat == str(chat_id)]

    async def _params(self, request: Request) -> dict[str, Any]:
        if request.headers.get("content-type", "").startswith("application/json"):
            data: dict[str, Any] = await request.json()
            return data
        form = await request.form()
        params: dict[str, Any] = {}
        for key, value in form.items():
            text = str(value)
            try:
                params[key] = json.loads(text) if text[:1] in "[{" else text
            except ValueError:
                params[key] = text
        return params

    async def _call(self, request: Request) -> Response:
        method = request.path_params["method"]
        params = await self._params(request)
        call = self.script.record(Call(f"/{method}", dict(request.headers), params))
        if method == "getMe":
            return _ok(BOT)
        if method in {"sendMessage"}:
            failure = self.script.next_failure(call)
            if failure is not None:
                if failure.status == 0:
                    await asyncio.sleep(self.script.hang_seconds)
                    return _error(504, "Gateway Timeout")
                if failure.status == 429:
                    return _error(429, f"Too Many Requests: retry after {failure.retry_after}", failure.retry_after)
                return _error(failure.status, "Internal Server Error" if failure.status >= 500 else "Bad Request")
            chat = str(params.get("chat_id"))
            self.delivered.append((chat, str(params.get("text", ""))))
            message = {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": {"id": int(chat), "type": "private"},
                "text": params.get("text", ""),
            }
            return _ok(message)
        if method == "answerCallbackQuery":
            return _ok(True)
        if method == "setWebhook":
            self.webhook = params
            return _ok(True)
        if method in {"deleteWebhook", "close", "logOut"}:
            return _ok(True)
        return _error(404, "Not Found: method not found")


def _ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


def _error(status: int, description: str, retry_after: int | None = None) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return JSONResponse(body, status_code=status)
