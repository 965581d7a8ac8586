"""Stand-ins for the webhook bench (``tools.bench.webhooks``), each run in a process of its own.

* ``platform``: a fake LINE Messaging API (reply, push, loading animation) and a fake Telegram
  Bot API (getMe, sendMessage, answerCallbackQuery) on one port. Every call succeeds, as the real
  APIs do when all is well, and is recorded: ``GET /_bench/calls`` gives them all (kind, target,
  texts, ``time.monotonic()`` on arrival), so the bench can check that each event's replies arrived
  exactly once. A LINE reply token works once (a second use is answered 400, as LINE does); a push
  whose ``X-Line-Retry-Key`` was accepted before is answered 409 and delivers nothing.
* ``floor``: the least a webhook endpoint can do. ``POST /webhooks/line`` checks
  ``X-Line-Signature`` with the LINE SDK's ``SignatureValidator`` and ``POST /webhooks/telegram``
  the secret header; each then inserts the raw body into one table (SQLite with the pragmas of
  ``storage/db.py``, or PostgreSQL), committed, and answers 200. Nothing is parsed, nothing else is
  done: its latency and rate are the floor for ``madoguchi serve``'s acknowledgements.

Both are Starlette apps under uvicorn, as ``madoguchi serve`` is, so they do not share a GIL with
the load generator. ``python -m tools.bench.fakes platform --port N`` or ``python -m tools.bench.fakes
floor --port N --database URL`` (with ``LINE_CHANNEL_SECRET`` and ``TELEGRAM_WEBHOOK_SECRET`` set, as
for ``madoguchi serve``). Not for production use.
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

#: One recorded call: (kind, target, texts, monotonic seconds on arrival). Kinds: line-reply
#: (target: the reply token), line-reply-reused, line-push (target: the user), line-push-repeat,
#: line-loading (target: the chat), telegram-send (target: the chat id), telegram-other.
Call = tuple[str, str, list[str], float]
BOT = {"id": 7000001, "is_bot": True, "first_name": "まどぐち", "username": "madoguchi_bench_bot"}
FLOOR_TABLE = "raw_events"


# --- the fake platform APIs -----------------------------------------------------------------


class FakePlatforms:
    """LINE and Telegram, answering every call with success and recording it."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.used_tokens: set[str] = set()
        self.retry_keys: set[str] = set()
        self.message_ids = 0
        self.app = Starlette(
            routes=[
                Route("/v2/bot/message/reply", self._line_reply, methods=["POST"]),
                Route("/v2/bot/message/push", self._line_push, methods=["POST"]),
                Route("/v2/bot/chat/loading/start", self._line_loading, methods=["POST"]),
                Route("/bot{token}/{method}", self._telegram, methods=["GET", "POST"]),
                Route("/_bench/calls", self._calls, methods=["GET"]),
                Route("/_bench/ready", self._ready, methods=["GET"]),
            ]
        )

    def _record(self, kind: str, target: str, texts: list[str]) -> None:
        self.calls.append((kind, target, texts, time.monotonic()))

    def _sent(self, count: int) -> JSONResponse:
        ids = []
        for _ in range(count):
            self.message_ids += 1
            ids.append({"id": str(500_000_000_000_000_000 + self.message_ids)})
        return JSONResponse({"sentMessages": ids})

    async def _line_reply(self, request: Request) -> Response:
        body = json.loads(await request.body())
        token = str(body.get("replyToken", ""))
        texts = [str(m.get("text", "")) for m in body.get("messages", [])]
        if token in self.used_tokens:
            self._record("line-reply-reused", token, texts)
            return JSONResponse({"message": "Invalid reply token"}, status_code=400)
        self.used_tokens.add(token)
        self._record("line-reply", token, texts)
        return self._sent(len(texts))

    async def _line_push(self, request: Request) -> Response:
        body = json.loads(await request.body())
        to = str(body.get("to", ""))
        texts = [str(m.get("text", "")) for m in body.get("messages", [])]
        key = request.headers.get("x-line-retry-key")
        if key and key in self.retry_keys:
            self._record("line-push-repeat", to, texts)
            return JSONResponse({"message": "The retry key is already accepted"}, status_code=409)
        if key:
            self.retry_keys.add(key)
        self._record("line-push", to, texts)
        return self._sent(len(texts))

    async def _line_loading(self, request: Request) -> Response:
        body = json.loads(await request.body())
        self._record("line-loading", str(body.get("chatId", "")), [])
        return JSONResponse({}, status_code=202)

    async def _telegram(self, request: Request) -> Response:
        method = request.path_params["method"]
        raw = await request.body()
        if request.headers.get("content-type", "").startswith("application/json"):
            params: dict[str, Any] = json.loads(raw or b"{}")
        else:
            params = dict(parse_qsl(raw.decode()))
        if method == "getMe":
            return _telegram_ok(BOT)
        if method == "sendMessage":
            chat, text = str(params.get("chat_id", "")), str(params.get("text", ""))
            self._record("telegram-send", chat, [text])
            self.message_ids += 1
            message = {
                "message_id": self.message_ids,
                "date": int(time.time()),
                "chat": {"id": int(chat) if chat.lstrip("-").isdigit() else 0, "type": "private"},
                "text": text,
            }
            return _telegram_ok(message)
        self._record("telegram-other", method, [])
        if method in {"answerCallbackQuery", "setWebhook", "deleteWebhook", "close", "logOut"}:
            return _telegram_ok(True)
        return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, status_code=404)

    async def _calls(self, request: Request) -> Response:
        return JSONResponse({"calls": self.calls})

    async def _ready(self, request: Request) -> Response:
        return JSONResponse({"ok": True})


def _telegram_ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


# --- the floor: verify and store the raw body, nothing else ---------------------------------


def _sqlite_store(path: str) -> Callable[[str, bytes], None]:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON", "synchronous=NORMAL"):
        connection.execute(f"PRAGMA {pragma}")  # as storage.db does
    connection.execute(
        f"CREATE TABLE IF NOT EXISTS {FLOOR_TABLE} "
        "(id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, body BLOB NOT NULL, received_at REAL NOT NULL)"
    )

    def store(channel: str, body: bytes) -> None:
        connection.execute(  # autocommit: each INSERT is its own committed transaction
            f"INSERT INTO {FLOOR_TABLE} (channel, body, received_at) VALUES (?, ?, ?)", (channel, body, time.time())
        )

    return store


def _postgres_store(url: str) -> Callable[[str, bytes], None]:
    import psycopg

    connection = psycopg.connect(url, autocommit=True)
    connection.execute(
        f"CREATE TABLE IF NOT EXISTS {FLOOR_TABLE} "
        "(id BIGSERIAL PRIMARY KEY, channel TEXT NOT NULL, body BYTEA NOT NULL, received_at DOUBLE PRECISION NOT NULL)"
    )

    def store(channel: str, body: bytes) -> None:
        connection.execute(
            f"INSERT INTO {FLOOR_TABLE} (channel, body, received_at) VALUES (%s, %s, %s)", (channel, body, time.time())
        )

    return store


def floor_app(database: str, line_secret: str, telegram_secret: str) -> Starlette:
    """The bare endpoint: ``database`` is ``sqlite:///path`` or a PostgreSQL URL."""
    from linebot.v3 import SignatureValidator

    validator = SignatureValidator(line_secret)
    store = _sqlite_store(database.removeprefix("sqlite:///")) if database.startswith("sqlite") else None
    store = store or _postgres_store(database)

    async def line(request: Request) -> Response:
        body = await request.body()
        signature = request.headers.get("x-line-signature", "")
        if not signature or not validator.validate(body.decode("utf-8", "replace"), signature):
            return JSONResponse({"ok": False}, status_code=401)
        store("line", body)
        return JSONResponse({"ok": True, "stored": 1})

    async def telegram(request: Request) -> Response:
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if not hmac.compare_digest(given.encode(), telegram_secret.encode()):
            return JSONResponse({"ok": False}, status_code=403)
        store("telegram", await request.body())
        return JSONResponse({"ok": True, "stored": 1})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True, "database": "sqlite" if database.startswith("sqlite") else "postgresql"})

    return Starlette(
        routes=[
            Route("/webhooks/line", line, methods=["POST"]),
            Route("/webhooks/telegram", telegram, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


def floor_rows(database: str) -> int:
    """How many bodies the floor stored (read after it has stopped, or while it runs)."""
    if database.startswith("sqlite"):
        with sqlite3.connect(database.removeprefix("sqlite:///")) as connection:
            count: int = connection.execute(f"SELECT count(*) FROM {FLOOR_TABLE}").fetchone()[0]
            return count
    import psycopg

    with psycopg.connect(database, autocommit=True) as connection:
        row = connection.execute(f"SELECT count(*) FROM {FLOOR_TABLE}").fetchone()
        return int(row[0]) if row else 0


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.fakes", description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=("platform", "floor"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database", default="")
    args = parser.parse_args(argv)
    if args.what == "platform":
        app = FakePlatforms().app
    else:  # the secrets come as madoguchi serve's do: in the environment, not on the command line
        app = floor_app(args.database, os.environ["LINE_CHANNEL_SECRET"], os.environ["TELEGRAM_WEBHOOK_SECRET"])
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
