"""LINE and Telegram end to end through a real ``madoguchi serve`` (issue #4).

Everything of ours runs for real, in a subprocess, with its receiver and outbox
dispatcher: signed webhooks go in over HTTP, the official SDKs send to fake
LINE and Telegram APIs (``tests/fakes``) on 127.0.0.1. Each fake sits behind a
``Gate`` that notes when every call arrived and for whom, and can refuse sends
or hold an answer back (a platform that accepted a message but whose answer
never came back). Coordinators act as they would: a 受ける press on Telegram is
a callback update to the webhook, a reply is a form posted to the web pages.

The fakes live for the whole module; the SQLite server too, except where a test
needs its own (a SIGKILL, two processes on one PostgreSQL). Every person in a
test is new, so counts at the fakes are per person. Waits poll, never sleep.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import functools
import hashlib
import hmac
import itertools
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs

import httpx
import pytest
from sqlalchemy import Engine, func, update
from sqlmodel import Session, col, select

from storage import db
from storage.db import make_engine, session_scope
from storage.models import (
    Case,
    CaseStatus,
    Conversation,
    Coordinator,
    Direction,
    InboundEvent,
    InboundStatus,
    Message,
    Outbox,
    OutboxStatus,
)
from storage.types import utcnow
from tests.builders import URGENT_TEXT
from tests.conftest import postgres_schema
from tests.e2e.conftest import reported
from tests.e2e.server import Server, coordinator_add, rota_add, running_server
from tests.fakes.events import line_text, telegram_callback, telegram_message
from tests.fakes.line_api import FakeLine
from tests.fakes.serve import serve_in_thread
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.slow

T = TypeVar("T")

LINE_SECRET = "e2e-line-channel-secret"
TELEGRAM_TOKEN = "123456:E2E-test-token"
TELEGRAM_SECRET = "e2e-webhook-secret_1"
#: The coordinator on call around the clock; pages go to their Telegram chat.
ONCALL_LOGIN, ONCALL_PASSWORD = "tobe", "tobe-on-call-pass"
#: Every wait in this module gives up after this many seconds.
WAIT = 20.0

GREETING = "「まどぐち」です"  # the first answer to a hello
URGENT_FIRST = "たいへんな 中"  # the first answer to urgent news (the number to call)
PAGE_HEAD = "【緊急】"
CLAIM_WON = "を 受けました"  # what the coordinator's phone says after 受ける
CLAIMED_NOTICE = "受けとりました"  # what the person is told then


# --- the gate in front of each fake platform ----------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One call that reached a fake: its path, when (``time.monotonic``), for whom, and its (first) text."""

    path: str
    at: float
    target: str  # LINE: push "to", reply token or loading chat id; Telegram: chat_id
    text: str = ""

    @property
    def is_send(self) -> bool:
        return self.path.endswith(("/message/reply", "/message/push", "/sendMessage"))


def _hit(path: str, body: bytes) -> Hit:
    """Who a call is for, and what it says, from its JSON (LINE) or form (Telegram) body."""
    try:
        data = json.loads(body) if body[:1] == b"{" else {k: v[0] for k, v in parse_qs(body.decode()).items()}
    except (ValueError, UnicodeDecodeError):
        data = {}
    target = next((str(data[key]) for key in ("to", "replyToken", "chatId", "chat_id") if key in data), "")
    messages = data.get("messages") or [{}]
    text = data.get("text") or (messages[0].get("text", "") if isinstance(messages[0], dict) else "")
    return Hit(path, time.monotonic(), target, str(text))


Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


class Gate:
    """ASGI in front of a fake platform: notes every call; ``refuse`` answers 500, ``hold`` keeps the answer back.

    A held call is passed on (the fake delivers it), but its answer is kept until
    ``release()``: the platform did the work and the sender never heard so.
    """

    def __init__(self, app: Any, refusal: dict[str, Any]) -> None:
        self.app = app
        self.refusal = json.dumps(refusal).encode()
        self.refuse: Callable[[Hit], bool] | None = None
        self.hold: Callable[[Hit], bool] | None = None
        self.hits: list[Hit] = []
        self.held: list[Hit] = []
        self._released = threading.Event()
        self._lock = threading.Lock()

    def reset(self) -> None:
        self.refuse = self.hold = None
        self.release()
        with self._lock:
            self.held.clear()

    def release(self) -> None:
        self._released.set()

    def calls(self, suffix: str = "", target: str | int | None = None) -> list[Hit]:
        """Calls whose path ends with ``suffix`` (any, if empty), for ``target`` if given."""
        with self._lock:
            return [h for h in self.hits if h.path.endswith(suffix) and (target is None or h.target == str(target))]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        hit = _hit(scope["path"], body)
        with self._lock:
            self.hits.append(hit)
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if replayed:
                return dict(await receive())
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        if self.refuse is not None and self.refuse(hit):
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 500, "headers": headers})
            await send({"type": "http.response.body", "body": self.refusal})
            return
        if self.hold is None or not self.hold(hit):
            await self.app(scope, replay, send)
            return
        kept: list[dict[str, Any]] = []

        async def keep(message: dict[str, Any]) -> None:
            kept.append(message)

        self._released.clear()
        await self.app(scope, replay, keep)
        with self._lock:
            self.held.append(hit)
        while not self._released.is_set():
            await asyncio.sleep(0.05)
        for message in kept:  # to a client that is gone by now, usually: uvicorn drops it
            await send(message)


# --- the fakes, the server, and what a platform does --------------------------------------------


@dataclass
class Platforms:
    line: FakeLine
    telegram: FakeTelegram
    line_gate: Gate
    telegram_gate: Gate
    env: dict[str, str]

    def reset(self) -> None:
        """No scripted failures, refusals or held answers left for the next test."""
        for script in (self.line.script, self.telegram.script):
            with script.lock:
                script.failures.clear()
        self.line_gate.reset()
        self.telegram_gate.reset()

    def line_texts(self, user: str, tokens: dict[str, str]) -> list[str]:
        """What a LINE user really saw: pushes to them and replies through their events' reply tokens."""
        mine = {f"reply:{token}" for token, owner in tokens.items() if owner == user} | {user}
        return [text for target, text in self.line.delivered if target in mine]


_ids = itertools.count(1)


def new_line_user() -> str:
    return f"U{next(_ids) + 0xE2E00000:032x}"  # as LINE's: U and 32 hex digits


def new_chat() -> int:
    return 800_000 + next(_ids)


def line_signature(body: bytes) -> str:
    return base64.b64encode(hmac.new(LINE_SECRET.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class Poster:
    """Posts webhooks to one server as the platforms do; remembers whose each LINE reply token is."""

    server: Server
    client: httpx.Client
    tokens: dict[str, str] = field(default_factory=dict)

    def line(self, *events: dict[str, Any]) -> httpx.Response:
        for event in events:
            if "replyToken" in event:
                self.tokens[event["replyToken"]] = event["source"]["userId"]
        body = json.dumps({"destination": "Uffffffffffffffffffffffffffffffff", "events": list(events)}).encode()
        return self.client.post(
            self.server.url("/webhooks/line"),
            content=body,
            headers={"X-Line-Signature": line_signature(body), "Content-Type": "application/json"},
        )

    def telegram(self, update: dict[str, Any], secret: str = TELEGRAM_SECRET) -> httpx.Response:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
        return self.client.post(self.server.url("/webhooks/telegram"), json=update, headers=headers)


@dataclass
class Instance:
    """A running server, an engine on its database to check what happened, and a webhook poster."""

    server: Server
    engine: Engine
    post: Poster
    coordinator_chat: int


@pytest.fixture(scope="module")
def platforms() -> Iterator[Platforms]:
    line, telegram = FakeLine(), FakeTelegram()
    line_gate = Gate(line.app, {"message": "gate: internal error"})
    telegram_gate = Gate(telegram.app, {"ok": False, "error_code": 500, "description": "Internal Server Error"})
    with serve_in_thread(line_gate) as line_url, serve_in_thread(telegram_gate) as telegram_url:
        env = {
            "LINE_CHANNEL_SECRET": LINE_SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": "e2e-access-token",
            "LINE_API_BASE_URL": line_url,
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
            "TELEGRAM_API_BASE_URL": telegram_url,
            "MADOGUCHI_COOKIE_SECURE": "false",  # the coordinator logs in over plain http with httpx
        }
        found = Platforms(line, telegram, line_gate, telegram_gate, env)
        yield found
        found.reset()


@pytest.fixture(autouse=True)
def clean_platforms(platforms: Platforms) -> Iterator[None]:
    platforms.reset()
    yield
    platforms.reset()


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=10) as client:
        yield client


def set_up_on_call(server: Server, chat: int) -> None:
    """The on-call coordinator, paged on their Telegram chat."""
    server.cli(*coordinator_add(ONCALL_LOGIN, password=ONCALL_PASSWORD, name="戸部 当番"))
    page = ["coordinator", "page", ONCALL_LOGIN, "--channel", "telegram", "--address", str(chat)]
    server.cli_parallel([rota_add(ONCALL_LOGIN, rank=0), page])


@pytest.fixture(scope="module")
def instance(platforms: Platforms, http: httpx.Client, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    """The module's server, on SQLite (the single-instance default)."""
    folder = tmp_path_factory.mktemp("channels-e2e")
    url = f"sqlite:///{folder / 'madoguchi.db'}"
    with running_server(url, log_dir=folder, env=platforms.env) as server, reported(server):
        chat = new_chat()
        set_up_on_call(server, chat)
        engine = make_engine(url)
        try:
            yield Instance(server, engine, Poster(server, http), chat)
        finally:
            engine.dispose()


# --- waiting and reading the database ------------------------------------------------------------


def poll(check: Callable[[], T], timeout: float = WAIT) -> T:
    """Call ``check`` until it returns something truthy or ``timeout`` seconds pass; its last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def wait_for(what: str, check: Callable[[], T], timeout: float = WAIT) -> T:
    """``poll``, failing the test with ``what`` if nothing came in time."""
    result = poll(check, timeout)
    if not result:
        pytest.fail(f"waited {timeout:.0f} s for {what}; last saw {result!r}")
    return result


def require(condition: object, why: str) -> None:
    """A precondition: fails the test outright, so an ``xfail(raises=AssertionError)`` cannot hide it."""
    if not condition:
        pytest.fail(why)


def _in_journal(engine: Engine) -> list[str]:
    """The keys of the events still waiting in the SQLite inbound journal (none on PostgreSQL)."""
    url = db.journal_url(engine.url.render_as_string(hide_password=False))
    if url is None or not Path(url.removeprefix("sqlite:///")).exists():
        return []
    journal = db.make_engine(url, pool_size=1)
    try:
        with Session(db.reader(journal)) as session:
            return list(session.exec(select(InboundEvent.key)).all())
    finally:
        journal.dispose()


def pending_work(engine: Engine) -> tuple[int, int]:
    """(stored events not processed yet, the journal's included; outbox rows not sent yet).

    The journal is read first: an event adopted meanwhile is in the database's table before it leaves the journal.
    """
    waiting = len(_in_journal(engine))
    with Session(engine) as session:
        events = session.exec(select(func.count()).where(InboundEvent.status == InboundStatus.PENDING)).one()
        sends = session.exec(select(func.count()).where(Outbox.status == OutboxStatus.PENDING)).one()
    return int(events) + waiting, int(sends)


def settle(engine: Engine, timeout: float = WAIT) -> None:
    """Wait until every stored event is processed and every outbox row is sent (or given up)."""
    wait_for("every event processed and every send done", lambda: pending_work(engine) == (0, 0), timeout)


def cases_of(engine: Engine, channel: str, address: str | int) -> list[Case]:
    with Session(engine) as session:
        query = (
            select(Case)
            .join(Conversation, col(Case.conversation_id) == col(Conversation.id))
            .where(Conversation.channel == channel, Conversation.address == str(address))
            .order_by(col(Case.id))
        )
        return list(session.exec(query).all())


def one_case(engine: Engine, channel: str, address: str | int) -> Case:
    found = wait_for(f"the case of {channel}:{address}", lambda: cases_of(engine, channel, address))
    assert len(found) == 1, f"{channel}:{address} has {len(found)} cases"
    return found[0]


def queued_texts(engine: Engine, address: str | int) -> Counter[str]:
    """Every text the outbox holds for ``address`` (the sent rows must be exactly these, once each)."""
    with Session(engine) as session:
        rows = session.exec(select(Outbox).where(Outbox.address == str(address))).all()
    return Counter(str(message.get("text", "")) for row in rows for message in row.payload.get("messages", []))


def messages_in(engine: Engine, channel: str, address: str | int) -> int:
    """How many of the person's messages were taken in (each processed event stores one)."""
    with Session(engine) as session:
        query = (
            select(func.count())
            .select_from(Message)
            .join(Conversation, col(Message.conversation_id) == col(Conversation.id))
            .where(Conversation.channel == channel, Conversation.address == str(address))
            .where(Message.direction == Direction.IN)
        )
        return int(session.exec(query).one())


def pages_for(platforms: Platforms, chat: int, case_id: int) -> list[dict[str, Any]]:
    """The pages for ``case_id`` that reached the coordinator's Telegram chat (sendMessage bodies)."""
    button = f"claim:{case_id}"
    found = []
    for call in platforms.telegram.script.to("/sendMessage"):
        keyboard = call.body.get("reply_markup") or {}
        datas = [b.get("callback_data") for row in keyboard.get("inline_keyboard", []) for b in row]
        if call.body.get("chat_id") == str(chat) and button in datas:
            found.append(call.body)
    return found


def delivered_pages(platforms: Platforms, chat: int, case_id: int) -> list[str]:
    """Page texts for ``case_id`` delivered to the coordinator's chat."""
    return [t for t in platforms.telegram.texts(chat) if t.startswith(PAGE_HEAD) and f"#{case_id}（" in t]


# --- the coordinator on the web ------------------------------------------------------------------

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class CoordinatorWeb:
    """A coordinator's browser session, as plain HTTP: log in, claim, reply (each form with its CSRF token)."""

    def __init__(self, server: Server, login: str = ONCALL_LOGIN, password: str = ONCALL_PASSWORD) -> None:
        self.client = httpx.Client(base_url=server.base_url, trust_env=False, timeout=10)
        form = self.client.get("/coordinator/login")
        token = CSRF.search(form.text)
        assert form.status_code == 200 and token, form.text[:500]
        done = self.client.post(
            "/coordinator/login", data={"csrf": token.group(1), "login": login, "password": password}
        )
        assert done.status_code == 303 and done.headers["location"] == "/coordinator/", done.headers
        queue = self.client.get("/coordinator/")
        token = CSRF.search(queue.text)
        assert queue.status_code == 200 and token, "not logged in"
        self.csrf = token.group(1)

    def claim(self, case_id: int) -> None:
        done = self.client.post(f"/coordinator/cases/{case_id}/claim", data={"csrf": self.csrf})
        assert done.status_code == 303 and "m=claimed" in done.headers["location"], done.headers

    def reply(self, case_id: int, text: str) -> None:
        done = self.client.post(f"/coordinator/cases/{case_id}/reply", data={"csrf": self.csrf, "text": text})
        assert done.status_code == 303 and "m=sent" in done.headers["location"], done.headers

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def web(instance: Instance) -> Iterator[CoordinatorWeb]:
    session = CoordinatorWeb(instance.server)
    yield session
    session.close()


def urgent_line_case(instance: Instance, platforms: Platforms, web: CoordinatorWeb) -> tuple[str, int]:
    """A LINE user's urgent case, claimed on the web; everything sent so far has gone out."""
    user = new_line_user()
    event = line_text(URGENT_TEXT, user=user)
    assert instance.post.line(event).status_code == 200
    case = one_case(instance.engine, "line", user)
    assert case.id is not None
    wait_for("the page", lambda: delivered_pages(platforms, instance.coordinator_chat, case.id or 0))
    web.claim(case.id)
    wait_for("the claimed notice", lambda: [t for t in platforms.line.texts(user) if CLAIMED_NOTICE in t])
    settle(instance.engine)
    return user, case.id


# --- one message in, the right answer out -----------------------------------------------------


def test_a_signed_line_text_is_answered_through_its_reply_token(instance: Instance, platforms: Platforms) -> None:
    user = new_line_user()
    event = line_text("こんにちは", user=user)
    response = instance.post.line(event)
    assert response.status_code == 200 and response.json() == {"ok": True, "stored": 1}
    texts = wait_for("the reply", lambda: platforms.line.texts(f"reply:{event['replyToken']}"))
    assert GREETING in texts[0]
    settle(instance.engine)
    replies = [c for c in platforms.line.script.to("/message/reply") if c.body["replyToken"] == event["replyToken"]]
    assert len(replies) == 1
    assert replies[0].body["messages"][-1]["quickReply"]["items"], "the menu comes as quick replies"
    assert platforms.line.texts(user) == [], "nothing pushed: the reply token was enough"


def test_a_telegram_message_is_answered_by_send_message_with_buttons(instance: Instance, platforms: Platforms) -> None:
    chat = new_chat()
    response = instance.post.telegram(telegram_message("こんにちは", chat=chat))
    assert response.status_code == 200 and response.json() == {"ok": True, "stored": 1}
    texts = wait_for("the answer", lambda: platforms.telegram.texts(chat))
    assert GREETING in texts[0]
    settle(instance.engine)
    sends = [c for c in platforms.telegram.script.to("/sendMessage") if c.body["chat_id"] == str(chat)]
    assert len(sends) == len(texts) == 1
    buttons = [b["callback_data"] for row in sends[0].body["reply_markup"]["inline_keyboard"] for b in row]
    assert "menu:urgent" in buttons


def test_a_wrong_signature_or_secret_is_refused_and_nothing_is_answered(
    instance: Instance, platforms: Platforms, http: httpx.Client
) -> None:
    user, chat = new_line_user(), new_chat()
    body = json.dumps({"destination": "U0", "events": [line_text(URGENT_TEXT, user=user)]}).encode()
    wrong = base64.b64encode(hmac.new(b"another secret", body, hashlib.sha256).digest()).decode()
    refused = http.post(instance.server.url("/webhooks/line"), content=body, headers={"X-Line-Signature": wrong})
    assert refused.status_code == 401
    update = telegram_message(URGENT_TEXT, chat=chat)
    assert instance.post.telegram(update, secret="wrong").status_code == 403
    assert instance.post.telegram(update, secret="").status_code == 403
    assert instance.post.line(line_text("こんにちは", user=new_line_user())).status_code == 200  # a later good one
    settle(instance.engine)
    event = json.loads(body)["events"][0]
    assert {f"line:{event['webhookEventId']}", f"telegram:{update['update_id']}"}.isdisjoint(
        stored_keys(instance.engine)
    )
    assert platforms.line_gate.calls("", user) == platforms.line_gate.calls("", event["replyToken"]) == []
    assert platforms.telegram_gate.calls("", chat) == []


# --- urgent news, a page, a claim, a coordinator's reply -----------------------------------


def test_an_urgent_telegram_message_pages_the_coordinator_who_claims_by_button_and_replies_on_the_web(
    instance: Instance, platforms: Platforms, web: CoordinatorWeb
) -> None:
    chat, coordinator_chat = new_chat(), instance.coordinator_chat
    assert instance.post.telegram(telegram_message(URGENT_TEXT, chat=chat)).status_code == 200
    first = wait_for("the answer", lambda: [t for t in platforms.telegram.texts(chat) if URGENT_FIRST in t])
    assert "119" in first[0]
    case = one_case(instance.engine, "telegram", chat)
    assert case.id is not None and case.urgent
    page = wait_for("the page", lambda: pages_for(platforms, coordinator_chat, case.id or 0))
    assert len(page) == 1 and page[0]["text"].startswith(PAGE_HEAD)

    assert instance.post.telegram(telegram_callback(f"claim:{case.id}", chat=coordinator_chat)).status_code == 200
    wait_for(
        "the claim", lambda: [t for t in platforms.telegram.texts(coordinator_chat) if f"#{case.id} {CLAIM_WON}" in t]
    )
    wait_for("the person's notice", lambda: [t for t in platforms.telegram.texts(chat) if CLAIMED_NOTICE in t])
    with Session(instance.engine) as session:
        claimed = session.get(Case, case.id)
        oncall = session.exec(select(Coordinator).where(Coordinator.login == ONCALL_LOGIN)).one()
        assert claimed is not None and claimed.status == CaseStatus.CLAIMED and claimed.claimed_by == oncall.id

    answer = f"戸部です。ケース {case.id} の件、いま 向かっています。"
    web.reply(case.id, answer)
    wait_for("the coordinator's reply", lambda: answer in platforms.telegram.texts(chat))
    settle(instance.engine)
    assert platforms.telegram.texts(chat).count(answer) == 1
    assert len(cases_of(instance.engine, "telegram", chat)) == 1
    assert len(delivered_pages(platforms, coordinator_chat, case.id)) == 1


def test_a_line_persons_case_gets_the_coordinators_web_reply_by_push_with_a_retry_key(
    instance: Instance, platforms: Platforms, web: CoordinatorWeb
) -> None:
    user, case_id = urgent_line_case(instance, platforms, web)
    answer = f"ケース {case_id}: 戸部です。電話しても いいですか？"
    web.reply(case_id, answer)
    wait_for("the pushed reply", lambda: answer in platforms.line.texts(user))
    settle(instance.engine)
    pushes = [c for c in platforms.line.script.to("/message/push") if c.body["messages"][0]["text"] == answer]
    assert len(pushes) == 1 and pushes[0].body["to"] == user
    assert re.fullmatch(r"[0-9a-f-]{36}", pushes[0].headers.get("x-line-retry-key", "")), pushes[0].headers
    assert platforms.line.texts(user).count(answer) == 1


# --- failures: three 500s, a 429 with retry_after ------------------------------------------


def test_three_500s_then_success_deliver_exactly_once_by_line_push_and_by_telegram(
    instance: Instance, platforms: Platforms, web: CoordinatorWeb
) -> None:
    user, case_id = urgent_line_case(instance, platforms, web)
    chat = new_chat()
    platforms.line.script.fail(500, times=3)
    platforms.telegram.script.fail(500, times=3)
    answer = f"ケース {case_id}: 三回 失敗しても 一回だけ 届きます。"
    web.reply(case_id, answer)
    assert instance.post.telegram(telegram_message("こんにちは", chat=chat)).status_code == 200
    wait_for("the pushed reply", lambda: answer in platforms.line.texts(user))
    wait_for("the Telegram answer", lambda: platforms.telegram.texts(chat))
    settle(instance.engine)

    pushes = [c for c in platforms.line.script.to("/message/push") if c.body["messages"][0]["text"] == answer]
    assert len(pushes) == 4, "three refused, the fourth delivered"
    assert len({c.headers["x-line-retry-key"] for c in pushes}) == 1, "one retry key for every attempt"
    assert platforms.line.texts(user).count(answer) == 1
    sends = platforms.telegram_gate.calls("/sendMessage", chat)
    assert len(sends) == 4 and len(platforms.telegram.texts(chat)) == 1
    assert GREETING in platforms.telegram.texts(chat)[0]


def test_a_telegram_429_is_waited_out_for_at_least_retry_after(instance: Instance, platforms: Platforms) -> None:
    retry_after = 2
    chat = new_chat()
    platforms.telegram.script.fail(429, retry_after=retry_after)
    assert instance.post.telegram(telegram_message("こんにちは", chat=chat)).status_code == 200
    wait_for("the answer after the 429", lambda: platforms.telegram.texts(chat))
    settle(instance.engine)
    first, second, *more = platforms.telegram_gate.calls("/sendMessage", chat)
    assert more == [] and len(platforms.telegram.texts(chat)) == 1
    waited = second.at - first.at
    assert retry_after <= waited < retry_after + 3, f"the next try came {waited:.2f} s after the 429"


# --- the same webhook five times ----------------------------------------------------------


def test_the_same_webhook_five_times_opens_one_case_and_answers_once(
    instance: Instance, platforms: Platforms, http: httpx.Client
) -> None:
    user, chat = new_line_user(), new_chat()
    event = line_text(URGENT_TEXT, user=user)
    update = telegram_message(URGENT_TEXT, chat=chat)

    def deliver(attempt: int) -> list[int]:
        again = dict(event, deliveryContext={"isRedelivery": attempt > 0})
        return [instance.post.line(again).json()["stored"], instance.post.telegram(update).json()["stored"]]

    stored = [deliver(0)]
    with ThreadPoolExecutor(2) as pool:  # two at once, while the first is still being processed
        stored += list(pool.map(deliver, [1, 2]))
    settle(instance.engine)
    stored += [deliver(3), deliver(4)]  # and two after everything was answered
    settle(instance.engine)

    assert stored == [[1, 1]] + [[0, 0]] * 4
    for channel, address in (("line", user), ("telegram", chat)):
        assert len(cases_of(instance.engine, channel, address)) == 1
        assert messages_in(instance.engine, channel, address) == 1
    replies = [c for c in platforms.line.script.to("/message/reply") if c.body["replyToken"] == event["replyToken"]]
    assert len(replies) == 1 and platforms.line.texts(user) == []
    answered = platforms.telegram.texts(chat)
    assert any(URGENT_FIRST in text for text in answered)
    assert Counter(answered) == queued_texts(instance.engine, chat) and max(Counter(answered).values()) == 1
    for channel, address in (("line", user), ("telegram", chat)):
        case_id = one_case(instance.engine, channel, address).id or 0
        assert len(delivered_pages(platforms, instance.coordinator_chat, case_id)) == 1


# --- SIGKILL mid-way, restart, nothing lost and nothing twice -------------------------------


def expire_leases(engine: Engine) -> int:
    """Let the killed process's leases run out now, as they would a minute later (``LEASE`` in storage)."""
    now = utcnow()
    gone = now - dt.timedelta(seconds=1)
    total = 0
    with session_scope(engine) as session:
        for table in (InboundEvent, Outbox):
            result = session.execute(update(table).where(col(table.lease_until) > now).values(lease_until=gone))
            total += int(getattr(result, "rowcount", 0) or 0)
    return total


@dataclass
class Sent:
    """One webhook a platform sent: for whom, its event's key, how to post it, and whether the server said 200."""

    channel: str
    address: str
    key: str  # as the server stores it (inbound_events.key)
    post: Callable[[bool], httpx.Response]  # redelivery: bool
    answered: bool = False

    def deliver(self, redelivery: bool = False) -> None:
        try:
            self.answered = self.post(redelivery).status_code == 200
        except httpx.TransportError:  # the server died under it: the platform will send it again
            self.answered = False


def webhook(poster: Poster, channel: str, address: str, text: str) -> Sent:
    """A message from ``address`` as its platform would post it (again, on a redelivery)."""
    if channel == "line":
        event = line_text(text, user=address)
        return Sent(
            channel,
            address,
            f"line:{event['webhookEventId']}",
            lambda again: poster.line(dict(event, deliveryContext={"isRedelivery": again}) if again else event),
        )
    update = telegram_message(text, chat=int(address))
    return Sent(channel, address, f"telegram:{update['update_id']}", lambda again: poster.telegram(update))


def stored_keys(engine: Engine) -> set[str]:
    """Every stored event's key: still in the journal (read first, as in ``pending_work``) or in the database."""
    waiting = set(_in_journal(engine))
    with Session(engine) as session:
        return waiting | set(session.exec(select(InboundEvent.key)).all())


CONVERSATION = ("こんにちは", "介護の 相談を したいです", "ありがとう")


def test_a_server_killed_mid_work_loses_no_event_and_sends_nothing_twice_after_restart(
    platforms: Platforms, http: httpx.Client, tmp_path: Path
) -> None:
    """Six people write three messages each on both platforms while every send fails; the server is SIGKILLed.

    At the kill, events are stored and not processed, replies wait for a retry,
    and one LINE push was delivered whose answer never came back; webhooks sent
    after the kill are not answered. The platforms recover, the server restarts
    on the same database (the dead process's leases run out at once rather than
    a minute later), unanswered webhooks come again as the platforms resend them.
    """
    url = f"sqlite:///{tmp_path / 'killed.db'}"
    users, chats = [new_line_user() for _ in range(3)], [new_chat() for _ in range(3)]
    held = users[0]  # LINE takes their pushes but its answer never comes back: the retry key must stop a repeat
    platforms.line_gate.refuse = lambda hit: hit.is_send and not (hit.path.endswith("/push") and hit.target == held)
    platforms.line_gate.hold = lambda hit: hit.path.endswith("/push") and hit.target == held
    platforms.telegram_gate.refuse = lambda hit: hit.is_send

    with running_server(url, log_dir=tmp_path, env=platforms.env) as server, reported(server):
        engine = make_engine(url)
        try:
            poster = Poster(server, http)
            people = [("line", user) for user in users] + [("telegram", str(chat)) for chat in chats]
            sent = {n: [webhook(poster, *person, text) for person in people] for n, text in enumerate(CONVERSATION)}
            for first in sent[0]:
                first.deliver()
            assert all(first.answered for first in sent[0])
            wait_for("LINE to take the held push", lambda: platforms.line_gate.held)
            wait_for(
                "the first messages processed", lambda: all(messages_in(engine, w.channel, w.address) for w in sent[0])
            )

            burst = [one for n in (1, 2) for one in sent[n]]
            kill_after = len(burst) // 2

            def post_burst() -> None:
                for number, one in enumerate(burst):
                    one.deliver()
                    if number == kill_after:
                        server.kill()

            thread = threading.Thread(target=post_burst)
            thread.start()
            thread.join(timeout=WAIT)
            assert not thread.is_alive() and not server.running
            answered = {one.key for one in [*sent[0], *burst] if one.answered}
            assert answered <= stored_keys(engine), "a webhook was answered 200 before its event was stored"
            events_pending, sends_pending = pending_work(engine)
            assert events_pending > 0 and sends_pending > 0, "not mid-way: the kill left nothing to do"
            assert platforms.line.texts(held), "LINE had delivered the held push before the kill"
            leases = expire_leases(engine)

            platforms.reset()  # the platforms work again
            server.restart()
            unanswered = [one for one in burst if not one.answered]
            for one in unanswered:
                one.deliver(redelivery=True)  # as LINE and Telegram do when no 200 came
            assert all(one.answered for one in burst)
            settle(engine)

            with Session(engine) as session:
                events = session.exec(select(InboundEvent)).all()
                assert len(events) == 3 * len(people) and {e.status for e in events} == {InboundStatus.DONE}
                statuses = Counter(row.status for row in session.exec(select(Outbox)).all())
            assert set(statuses) == {OutboxStatus.SENT}
            for channel, address in people:
                assert messages_in(engine, channel, address) == len(CONVERSATION), address
            for user in users:
                seen = Counter(platforms.line_texts(user, poster.tokens))
                assert seen == queued_texts(engine, user), f"LINE {user}: {seen}"
            for chat in chats:
                seen = Counter(platforms.telegram.texts(chat))
                assert seen == queued_texts(engine, chat), f"Telegram {chat}: {seen}"
            pushes = [c for c in platforms.line.script.to("/message/push") if c.body["to"] == held]
            keys = Counter(c.headers["x-line-retry-key"] for c in pushes)
            assert max(keys.values()) >= 2, "the held push was sent again after the restart, under its retry key"
            print(
                f"killed with {events_pending} events and {sends_pending} sends pending ({leases} leased); "
                f"{len(unanswered)} webhooks redelivered after the restart"
            )
        finally:
            engine.dispose()


# --- two processes, one PostgreSQL ----------------------------------------------------------


def logged_sends(server: Server) -> list[int]:
    """The outbox rows this server's log says it sent (``bot.runtime.dispatcher``: "sent outbox=<id> ...")."""
    return [int(number) for number in re.findall(r"sent outbox=(\d+)", server.log())]


def test_two_servers_on_one_postgres_share_the_work_and_send_each_reply_once(
    platforms: Platforms, http: httpx.Client, tmp_path: Path
) -> None:
    """Ten people (four with urgent news) write three messages each; every webhook goes to both servers at once."""
    users, chats = [new_line_user() for _ in range(5)], [new_chat() for _ in range(5)]
    urgent = {users[0], users[1], str(chats[0]), str(chats[1])}
    coordinator_chat = new_chat()
    with (
        postgres_schema() as url,
        running_server(url, log_dir=tmp_path / "a", env=platforms.env) as first,
        running_server(url, log_dir=tmp_path / "b", env=platforms.env) as second,
        reported(first),
        reported(second),
    ):
        set_up_on_call(first, coordinator_chat)
        engine = make_engine(url)
        try:
            posters = [Poster(first, http), Poster(second, http)]
            tokens = posters[0].tokens
            posters[1].tokens = tokens

            def conversation(address: str) -> list[str]:
                opening = URGENT_TEXT if address in urgent else "こんにちは"
                return [opening, "根室市", "ありがとう"]

            def talk(channel: str, address: str) -> None:
                """One person's messages in order, each delivered to both servers at the same moment."""
                for text in conversation(address):
                    if channel == "line":
                        event = line_text(text, user=address)
                        twice = [functools.partial(poster.line, event) for poster in posters]
                    else:
                        update = telegram_message(text, chat=int(address))
                        twice = [functools.partial(poster.telegram, update) for poster in posters]
                    with ThreadPoolExecutor(2) as both:
                        answers = list(both.map(lambda post: post(), twice))
                    assert [a.status_code for a in answers] == [200, 200]
                    assert sorted(a.json()["stored"] for a in answers) == [0, 1]

            people = [("line", user) for user in users] + [("telegram", str(chat)) for chat in chats]
            with ThreadPoolExecutor(len(people)) as pool:
                list(pool.map(lambda person: talk(*person), people))
            settle(engine)

            with Session(engine) as session:
                events = session.exec(select(InboundEvent)).all()
                assert len(events) == 3 * len(people) and {e.status for e in events} == {InboundStatus.DONE}
                rows = session.exec(select(Outbox)).all()
            assert {row.status for row in rows} == {OutboxStatus.SENT}
            for channel, address in people:
                assert messages_in(engine, channel, address) == 3, f"{channel}:{address}"
                found = cases_of(engine, channel, address)
                assert len(found) <= 1, f"{channel}:{address} has {len(found)} cases"
                if address in urgent:
                    assert found and found[0].urgent, f"{channel}:{address} has no urgent case"
                    assert len(delivered_pages(platforms, coordinator_chat, found[0].id or 0)) == 1
                seen = Counter(
                    platforms.line_texts(address, tokens) if channel == "line" else platforms.telegram.texts(address)
                )
                assert seen == queued_texts(engine, address), f"{channel}:{address}: {seen}"
            pages = Counter(platforms.telegram.texts(coordinator_chat))
            assert pages == queued_texts(engine, coordinator_chat) and sum(pages.values()) == len(urgent)

            ids = sorted(row.id or 0 for row in rows)
            wait_for(
                "both logs to show every send", lambda: len(logged_sends(first) + logged_sends(second)) >= len(ids)
            )
            assert sorted(logged_sends(first) + logged_sends(second)) == ids, "each row sent by one process, once"
            print(f"sends by process: {len(logged_sends(first))} and {len(logged_sends(second))}")
        finally:
            engine.dispose()


# --- found on the way: one hung LINE call holds everyone up; replies can come out of order -------

#: A Telegram answer normally arrives within half a second; this is ample on a loaded two-core machine.
PROMPT = 4.0


@dataclass(frozen=True)
class Delayed:
    in_time: bool  # the Telegram answer came within PROMPT while LINE hung
    took: float  # seconds from the Telegram webhook to its sendMessage
    pending: tuple[int, int]  # (events, sends) not done while LINE hung


def telegram_answer_while_line_hangs(instance: Instance, platforms: Platforms, path: str) -> Delayed:
    """A LINE text whose call to ``path`` LINE takes but never answers, then someone's Telegram message."""
    user, chat = new_line_user(), new_chat()
    event = line_text("こんにちは", user=user)
    mine = {user, event["replyToken"]}
    platforms.line_gate.hold = lambda hit: hit.path.endswith(path) and hit.target in mine
    try:
        require(instance.post.line(event).status_code == 200, "the LINE webhook was refused")
        wait_for(f"LINE to take {path} and keep its answer", lambda: platforms.line_gate.held)
        posted = time.monotonic()
        require(instance.post.telegram(telegram_message("こんにちは", chat=chat)).status_code == 200, "refused")
        in_time = bool(poll(lambda: platforms.telegram.texts(chat), PROMPT))
        pending = pending_work(instance.engine)
    finally:
        platforms.line_gate.release()
    wait_for("the Telegram answer", lambda: platforms.telegram.texts(chat))
    took = platforms.telegram_gate.calls("/sendMessage", chat)[0].at - posted
    settle(instance.engine)
    return Delayed(in_time, took, pending)


def test_a_line_send_that_hangs_does_not_hold_up_a_telegram_answer(instance: Instance, platforms: Platforms) -> None:
    delayed = telegram_answer_while_line_hangs(instance, platforms, "/message/reply")
    assert delayed.in_time, (
        f"the Telegram answer took {delayed.took:.1f} s, until the hung LINE reply was let go; "
        f"(events, sends) pending meanwhile: {delayed.pending}"
    )


def test_a_line_loading_call_that_hangs_does_not_hold_up_a_telegram_message(
    instance: Instance, platforms: Platforms
) -> None:
    delayed = telegram_answer_while_line_hangs(instance, platforms, "/chat/loading/start")
    assert delayed.in_time, (
        f"the Telegram answer took {delayed.took:.1f} s, until LINE's hung loading call was let go; "
        f"(events, sends) pending meanwhile: {delayed.pending}"
    )


def test_the_urgent_answer_reaches_telegram_in_order_even_if_its_first_message_needs_a_retry(
    instance: Instance, platforms: Platforms
) -> None:
    chat = new_chat()
    refused: list[Hit] = []

    def refuse_the_first_try_of_the_first_message(hit: Hit) -> bool:
        if hit.target == str(chat) and URGENT_FIRST in hit.text and not refused:
            refused.append(hit)
            return True
        return False

    platforms.telegram_gate.refuse = refuse_the_first_try_of_the_first_message
    require(instance.post.telegram(telegram_message(URGENT_TEXT, chat=chat)).status_code == 200, "refused")
    settle(instance.engine)
    require(refused, "the gate never refused the first message")
    with Session(instance.engine) as session:
        conversation = session.exec(
            select(Conversation).where(Conversation.channel == "telegram", Conversation.address == str(chat))
        ).one()
        said = session.exec(
            select(Message.text)
            .where(Message.conversation_id == conversation.id, Message.direction != Direction.IN)
            .order_by(col(Message.id))
        ).all()
    seen = platforms.telegram.texts(chat)
    require(Counter(seen) == Counter(said), f"not each message once: {seen} {said}")
    heads = [text.splitlines()[0] for text in seen]
    assert heads == [str(text).splitlines()[0] for text in said], "the answer out of order: 119 must come first"
