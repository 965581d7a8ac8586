"""The app with both channels, pointed at fake LINE and Telegram APIs on 127.0.0.1.

The SDKs and all of our code run for real; only the platforms are fakes. Tests
drive the webhooks over HTTP (TestClient) and run the receiver and dispatcher
steps themselves, so every step is visible.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.channels.base import Sender
from bot.channels.web import WebSender
from bot.channels.webpush import WebPushSender
from bot.conversation import Context
from bot.desk import linking
from bot.desk.inbox import deliver
from bot.runtime.dispatcher import Dispatcher
from bot.settings import Settings
from bot.web.app import Services, create_app
from storage.models import Case, InboundEvent
from storage.types import utcnow
from tests.bot.web.conftest import log_in
from tests.builders import URGENT_TEXT, arrival
from tests.fakes.line_api import FakeLine
from tests.fakes.push_service import FakePushService
from tests.fakes.serve import serve_in_thread
from tests.fakes.telegram_api import FakeTelegram

LINE_SECRET = "test-channel-secret"
TELEGRAM_TOKEN = "123456:TEST-token"
TELEGRAM_SECRET = "test-webhook-secret_1"


def line_signature(body: bytes, secret: str = LINE_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class Platforms:
    line: FakeLine
    telegram: FakeTelegram
    client: TestClient
    services: Services

    def post_line(self, body: dict[str, Any] | bytes, signature: str | None = None) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        headers = {"X-Line-Signature": signature if signature is not None else line_signature(raw)}
        return self.client.post("/webhooks/line", content=raw, headers=headers)

    def post_telegram(self, update: dict[str, Any] | bytes, secret: str = TELEGRAM_SECRET) -> Any:
        raw = update if isinstance(update, bytes) else json.dumps(update, ensure_ascii=False).encode()
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"}
        return self.client.post("/webhooks/telegram", content=raw, headers=headers)

    def stored(self) -> list[InboundEvent]:
        """Every stored platform event: those the receiver adopted, then those still in the journal (SQLite)."""
        engines = [self.services.engine]
        if self.services.journal is not None and self.services.journal is not self.services.engine:
            engines.append(self.services.journal)
        rows: list[InboundEvent] = []
        for engine in engines:
            with Session(engine) as session:
                rows += session.exec(select(InboundEvent).order_by(col(InboundEvent.id))).all()
        return rows

    def settle(self, rounds: int = 3) -> None:
        """Run the receiver and the dispatcher until nothing is left to do (a few rounds)."""
        receiver = self.services.receiver
        assert receiver is not None
        dispatcher = Dispatcher(self.services.engine, {**self.services.channels}, self.services.desk)

        async def steps() -> None:
            for _ in range(rounds):
                await receiver.run_once()
                await dispatcher.run_once()

        self.client.portal.call(steps)  # type: ignore[union-attr]


@pytest.fixture
def platforms(database_url: str, ctx: Context) -> Iterator[Platforms]:
    line, telegram = FakeLine(), FakeTelegram()
    with serve_in_thread(line.app) as line_url, serve_in_thread(telegram.app) as telegram_url:
        settings = Settings(
            **{
                "MADOGUCHI_DATABASE_URL": database_url,
                "LINE_CHANNEL_SECRET": LINE_SECRET,
                "LINE_CHANNEL_ACCESS_TOKEN": "test-access-token",
                "LINE_API_BASE_URL": line_url,
                "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
                "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
                "TELEGRAM_API_BASE_URL": telegram_url,
            }
        )
        app = create_app(settings, ctx=ctx, workers=False)
        with TestClient(app, base_url="https://testserver") as client:
            yield Platforms(line, telegram, client, app.state.services)


@dataclass
class PushService:
    fake: FakePushService
    base_url: str


@pytest.fixture
def push_service() -> Iterator[PushService]:
    """A fake Web Push service on 127.0.0.1 (``tests/fakes/push_service.py``)."""
    fake = FakePushService()
    with serve_in_thread(fake.app) as url:
        yield PushService(fake, url)


def with_push(platforms: Platforms) -> dict[str, Sender]:
    """The senders the work runs: the platforms, the queue page and Web Push with the kept VAPID key."""
    services = platforms.services
    vapid = linking.ensure_vapid(services.engine, services.desk)
    return {**services.channels, "web": WebSender(), "webpush": WebPushSender(vapid, services.desk.vapid_subject)}


def log_in_as(platforms: Platforms, login: str) -> str:
    """Log in through the form (redirects not followed, as the form helper expects); the CSRF token."""
    platforms.client.follow_redirects = False
    return log_in(platforms.client, login)


def urgent_case(platforms: Platforms) -> int:
    """An urgent web-chat message now (the LINE limit notice counts this month's failures); the case id."""
    engine, desk = platforms.services.engine, platforms.services.desk
    deliver(engine, desk, arrival(URGENT_TEXT, address="family-1", at=utcnow()))
    with Session(engine) as session:
        return int(session.exec(select(func.max(Case.id))).one() or 0)
