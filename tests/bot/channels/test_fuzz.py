"""Both webhooks under hypothesis: bodies of every wrong shape, huge texts, odd Unicode, bad signatures.

One app for the whole module (SQLite, the fakes of conftest.py on 127.0.0.1); each
example starts from no stored events and empty fakes (``_reset``). What is asserted:

(a) With a valid signature (LINE) or secret (Telegram), whatever the body:
    - the webhook answers 200 and says how many events it stored, which is the number
      of rows (never a 5xx; a body that is not UTF-8 is refused with 401 by LINE even
      when signed: LINE only sends UTF-8, and the SDK's validator takes ``str``);
    - a LINE event with a non-empty string ``webhookEventId`` and a real reply token
      is stored under that id (nothing usable is lost);
    - after ``_drain`` (the receiver and dispatcher run until nothing is pending, the
      receiver's clock moved an hour per round so every retry backoff has passed, at
      most ``MAX_ATTEMPTS`` tries per event) every event is ``done`` or ``failed``, and
      a ``failed`` one was tried exactly ``MAX_ATTEMPTS`` times. So nothing stays
      ``pending`` forever; failing is allowed (the row stays, with its error), since garbage
      that passes the signature can only come from the platform itself;
    - no call to a fake platform carries a text longer than the platform allows (LINE
      5,000 UTF-16 units and 5 messages a call; Telegram 4,096 characters), nor an
      empty one.
(b) With a bad or missing signature or secret: 401 (LINE) / 403 (Telegram), no
    ``InboundEvent`` row, and nothing sent.

Junk numbers stay within ±2**31 and nesting stays shallow in the generated bodies; the
crashes fuzzing found (deep nesting, a date out of range, an unhashable replyToken, and on
PostgreSQL NaN and U+0000) are fixed and each kept as a named test at the end.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import string
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from bot.conversation import Context, Reply
from bot.desk.outgoing import queue_out
from bot.runtime.dispatcher import Dispatcher
from bot.settings import Settings
from bot.web.app import create_app
from bot.web.webhooks import MAX_BODY
from storage.db import session_scope
from storage.inbound import MAX_ATTEMPTS
from storage.models import InboundEvent, InboundStatus, Outbox, SeenEvent
from storage.types import utcnow
from tests.bot.channels.conftest import LINE_SECRET, TELEGRAM_SECRET, TELEGRAM_TOKEN, Platforms, line_signature
from tests.fakes.events import USER, line_body, line_text, telegram_message
from tests.fakes.line_api import FakeLine
from tests.fakes.serve import serve_in_thread
from tests.fakes.telegram_api import FakeTelegram

#: The platforms' own limits (not the code's constants: those are what is under test).
LINE_UNITS, LINE_MESSAGES_PER_CALL, TELEGRAM_CHARS = 5000, 5, 4096
DUMMY_TOKENS = ("0" * 32, "f" * 32)
FUZZ = settings(max_examples=60, deadline=None)


# --- one app for the module ---------------------------------------------------------------------


class FuzzApp(Platforms):
    """conftest's ``Platforms``, with a short repr: hypothesis prints the arguments of a failing example."""

    def __repr__(self) -> str:
        return "FuzzApp(SQLite, fake LINE, fake Telegram)"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # what hypothesis's printer calls
        printer.text(repr(self))


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, ctx: Context) -> Iterator[FuzzApp]:
    line, telegram = FakeLine(), FakeTelegram()
    database = tmp_path_factory.mktemp("fuzz") / "madoguchi.db"
    with serve_in_thread(line.app) as line_url, serve_in_thread(telegram.app) as telegram_url:
        settings = Settings(
            **{
                "MADOGUCHI_DATABASE_URL": f"sqlite:///{database}",
                "LINE_CHANNEL_SECRET": LINE_SECRET,
                "LINE_CHANNEL_ACCESS_TOKEN": "test-access-token",
                "LINE_API_BASE_URL": line_url,
                "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
                "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
                "TELEGRAM_API_BASE_URL": telegram_url,
            }
        )
        web = create_app(settings, ctx=ctx, workers=False)
        # A crash must show as a 500 here, not as an exception in the test.
        with TestClient(web, base_url="https://testserver", raise_server_exceptions=False) as client:
            yield FuzzApp(line, telegram, client, web.state.services)


def _reset(platforms: Platforms) -> None:
    """Each example starts with no stored events, no seen keys, an empty outbox and fakes that saw nothing."""
    with session_scope(platforms.services.engine) as session:
        for table in (InboundEvent, SeenEvent, Outbox):
            session.execute(delete(table))
    with session_scope(platforms.services.journal or platforms.services.engine) as session:
        session.execute(delete(InboundEvent))
    for fake in (platforms.line, platforms.telegram):
        fake.script.calls.clear()
        fake.script.failures.clear()
        fake.delivered.clear()
    # Outbox ids start again after the delete, so their retry keys do too: LINE's fake must forget them.
    platforms.line.accepted_keys.clear()
    platforms.line.used_tokens.clear()


def _rows(platforms: Platforms) -> list[InboundEvent]:
    return platforms.stored()


def _later(hours: int) -> Callable[[], dt.datetime]:
    return lambda: utcnow() + dt.timedelta(hours=hours)


def _drain(platforms: Platforms) -> None:
    """Receive and dispatch until nothing is pending, skipping each retry's backoff by moving the receiver's clock."""
    services = platforms.services
    receiver = services.receiver
    assert receiver is not None
    dispatcher = Dispatcher(services.engine, {**services.channels}, services.desk)
    rounds = MAX_ATTEMPTS * max(1, len(_rows(platforms))) + 1  # one sender's events go one at a time
    try:
        for hour in range(1, rounds + 1):
            receiver.clock = _later(hour)
            platforms.client.portal.call(receiver.run_once)  # type: ignore[union-attr]
            platforms.client.portal.call(dispatcher.run_once)  # type: ignore[union-attr]
            if not any(row.status == InboundStatus.PENDING for row in _rows(platforms)):
                break
    finally:
        receiver.clock = utcnow


def _check_processed(platforms: Platforms) -> None:
    """Nothing pending; a failure only after every attempt; every text sent within the platform's limits."""
    rows = _rows(platforms)
    event(f"events ended {sorted({str(row.status) for row in rows}) or 'none stored'}")
    event("something sent" if platforms.line.delivered or platforms.telegram.delivered else "nothing sent")
    for row in rows:
        assert row.status in (InboundStatus.DONE, InboundStatus.FAILED), (row.key, row.status, row.error)
        if row.status == InboundStatus.FAILED:
            event(f"an event failed with {row.error}")
            assert row.attempts == MAX_ATTEMPTS, (row.key, row.attempts)
    _check_limits(platforms)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _check_limits(platforms: Platforms) -> None:
    line = platforms.line.script
    for call in line.to("/message/reply") + line.to("/message/push"):
        messages = call.body["messages"]
        assert 1 <= len(messages) <= LINE_MESSAGES_PER_CALL
        for message in messages:
            assert 1 <= _utf16(message["text"]) <= LINE_UNITS, _utf16(message["text"])
    for call in platforms.telegram.script.to("/sendMessage"):
        assert 1 <= len(str(call.body["text"])) <= TELEGRAM_CHARS, len(str(call.body["text"]))


def _post_line(platforms: Platforms, raw: bytes, signature: str | None) -> Any:
    headers = {} if signature is None else {"X-Line-Signature": signature}
    return platforms.client.post("/webhooks/line", content=raw, headers=headers)


def _post_telegram(platforms: Platforms, raw: bytes, secret: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    return platforms.client.post("/webhooks/telegram", content=raw, headers=headers)


# --- strategies -----------------------------------------------------------------------------------

INTS = st.integers(min_value=-(2**31), max_value=2**31 - 1)
FLOATS = st.floats(min_value=-(2**31), max_value=2**31, allow_nan=False)
#: What makes text hard: RTL marks and overrides, joiners, zero-width and BOM, combining marks,
#: emoji with skin tones and ZWJ sequences, flags and tags, NUL and DEL, CRLF and U+2028,
#: astral CJK, half-width kana with voiced marks, Arabic.
ODD_PIECES = st.sampled_from(
    [
        "\u200f",
        "\u202e",
        "\u2066",
        "\u200d",
        "\u200b",
        "\ufeff",
        "e\u0301\u0302",
        "👩🏽‍⚕️",
        "👍🏿",
        "🏳️‍🌈",
        "\U000e0067",
        "\x00",
        "\x7f",
        "\r\n",
        "\u2028",
        "𠮷野家",
        "ｶﾞｯ",
        "مرحبا",
        "\U0010fffd",
    ]
)
ODD_TEXT = st.lists(st.one_of(st.text(max_size=12), ODD_PIECES), max_size=10).map("".join)
HUGE_TEXT = st.sampled_from(["相談🍎" * 6667, "あ" * 20000, "🍎" * 2501, ("長い行だよ" * 30 + "\n") * 140])
TEXTS = st.one_of(ODD_TEXT, ODD_TEXT, ODD_TEXT, HUGE_TEXT)
SCALARS = st.one_of(st.none(), st.booleans(), INTS, FLOATS, ODD_TEXT)
JUNK = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
HEX32 = st.binary(min_size=16, max_size=16).map(bytes.hex)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON value where a value can be swapped or removed."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[Any]) -> Any:
    """``base`` with up to three fields anywhere in it replaced by junk (a wrong type) or removed."""
    value = copy.deepcopy(draw(base))
    paths = list(_paths(value))
    if not paths:
        return value
    for path in draw(st.lists(st.sampled_from(paths), max_size=3, unique=True)):
        parent = value
        for key in path[:-1]:
            try:
                parent = parent[key]
            except (KeyError, IndexError, TypeError):
                break
        else:
            key = path[-1]
            present = (
                key in parent
                if isinstance(parent, dict)
                else isinstance(parent, list) and isinstance(key, int) and key < len(parent)
            )
            if present:
                if draw(st.booleans()) and isinstance(parent, dict):
                    del parent[key]
                else:
                    parent[key] = draw(JUNK)
    return value


LINE_KINDS = [
    "text",
    "image",
    "video",
    "audio",
    "file",
    "location",
    "sticker",
    "follow",
    "unfollow",
    "join",
    "leave",
    "postback",
    "beacon",
    "unsend",
    "memberJoined",
    "memberLeft",
    "accountLink",
    "videoPlayComplete",
    "messageEdited",
    "somethingNew",
]


@st.composite
def line_events(draw: st.DrawFn) -> dict[str, Any]:
    """One LINE event shaped as the platform sends it (see tests/payloads/line), any kind, any source."""
    kind = draw(st.sampled_from([*LINE_KINDS, "text", "text", "text", "sticker", "image"]))  # mostly what gets a reply
    user = "U" + draw(HEX32)
    source: dict[str, Any] = draw(
        st.sampled_from(
            [
                {"type": "user", "userId": user},
                {"type": "group", "groupId": "C" + user[1:], "userId": user},
                {"type": "room", "roomId": "R" + user[1:]},
            ]
        )
    )
    event: dict[str, Any] = {
        "type": "message" if kind in LINE_KINDS[:7] else kind,
        "mode": "standby" if draw(st.integers(0, 7)) == 0 else "active",
        "timestamp": draw(st.integers(min_value=0, max_value=2**41)),
        "source": source,
        "webhookEventId": draw(st.uuids()).hex.upper()[:26],
        "deliveryContext": {"isRedelivery": draw(st.booleans())},
        "replyToken": draw(st.sampled_from(DUMMY_TOKENS)) if draw(st.integers(0, 7)) == 0 else draw(HEX32),
    }
    if kind in ("text", "messageEdited"):
        event["message"] = {"id": "1", "type": "text", "text": draw(TEXTS), "quoteToken": "q"}
    elif kind in LINE_KINDS[1:7]:
        event["message"] = {"id": "2", "type": kind, "quoteToken": "q", "contentProvider": {"type": "line"}}
        if kind == "sticker":
            event["message"] |= {"packageId": "1", "stickerId": "1", "stickerResourceType": "STATIC"}
        if kind == "location":
            event["message"] |= {"title": draw(ODD_TEXT), "address": draw(ODD_TEXT), "latitude": 1.0, "longitude": 2.0}
    elif kind == "postback":
        event["postback"] = {"data": draw(st.one_of(ODD_TEXT, st.sampled_from(["menu:urgent", "claim:1", "yes"])))}
    elif kind == "follow":
        event["follow"] = {"isUnblocked": draw(st.booleans())}
    return event


LINE_ENVELOPES = mutated(
    st.builds(lambda events: {"destination": "U" + "f" * 32, "events": events}, st.lists(line_events(), max_size=3))
)


@st.composite
def telegram_updates(draw: st.DrawFn) -> dict[str, Any]:
    """One Telegram update shaped as the Bot API sends it (see tests/payloads/telegram)."""
    update_id = draw(st.one_of(st.integers(min_value=0, max_value=2**31), st.integers(max_value=-1), INTS))
    person = draw(st.integers(min_value=1, max_value=2**40))
    sender = {"id": person, "is_bot": False, "first_name": draw(ODD_TEXT.filter(bool) | st.just("T"))}
    chat = draw(
        st.sampled_from(
            [
                {"id": person, "type": "private", "first_name": "T"},
                {"id": -person, "type": "group", "title": "g"},
                {"id": -(10**12) - person, "type": "supergroup", "title": "s"},
            ]
        )
    )
    message: dict[str, Any] = {"message_id": draw(INTS), "date": draw(INTS), "chat": chat, "from": sender}
    kind = draw(st.sampled_from(["text", "start", "delete", "photo", "sticker", "document", "location", "edited"]))
    if kind in ("text", "edited"):
        message["text"] = draw(TEXTS)
    elif kind in ("start", "delete"):
        message["text"] = f"/{kind} {draw(ODD_TEXT)}".rstrip()
        message["entities"] = [{"offset": 0, "length": len(kind) + 1, "type": "bot_command"}]
    elif kind == "photo":
        message["photo"] = [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]
        message["caption"] = draw(ODD_TEXT)
    elif kind == "sticker":
        message["sticker"] = {
            "file_id": "s",
            "file_unique_id": "su",
            "type": "regular",
            "width": 1,
            "height": 1,
            "is_animated": False,
            "is_video": False,
        }
    elif kind == "document":
        message["document"] = {"file_id": "d", "file_unique_id": "du"}
    elif kind == "location":
        message["location"] = {"latitude": 1.0, "longitude": 2.0}
    if kind == "edited":
        return {"update_id": update_id, "edited_message": message | {"edit_date": draw(INTS)}}
    if draw(st.integers(min_value=0, max_value=5)) == 0:
        query = {
            "id": str(update_id),
            "from": sender,
            "chat_instance": "ci",
            "data": draw(ODD_TEXT),
            "message": message,
        }
        return {"update_id": update_id, "callback_query": query}
    return {"update_id": update_id, "message": message}


@st.composite
def encoded(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> bytes:
    """A JSON value as bytes: as it is, cut short, with a stray character, or with bytes that are not UTF-8."""
    raw = json.dumps(draw(values), ensure_ascii=draw(st.booleans())).encode()
    how = draw(st.sampled_from(["as is", "as is", "as is", "cut", "stray", "not utf-8"]))
    at = draw(st.integers(min_value=0, max_value=max(0, len(raw) - 1)))
    if how == "cut":
        return raw[:at]
    if how == "stray":
        return raw[:at] + draw(st.sampled_from([b"{", b"]", b'"', b",", b":", b"\\", b"\x00"])) + raw[at:]
    if how == "not utf-8":
        return raw[:at] + draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"])) + raw[at:]
    return raw


ANY_JSON_BYTES = st.one_of(encoded(JUNK), st.binary(max_size=300))
LINE_BODIES = st.one_of(encoded(LINE_ENVELOPES), encoded(LINE_ENVELOPES), ANY_JSON_BYTES)
TELEGRAM_BODIES = st.one_of(encoded(mutated(telegram_updates())), encoded(mutated(telegram_updates())), ANY_JSON_BYTES)


def _line(*events: Any, **envelope: Any) -> bytes:
    return json.dumps({"destination": "U" + "f" * 32, "events": list(events)} | envelope, ensure_ascii=False).encode()


def _text_event(text: Any) -> dict[str, Any]:
    event = line_text("x")
    event["message"]["text"] = text
    return event


def _without(event: dict[str, Any], field: str) -> dict[str, Any]:
    return {key: value for key, value in event.items() if key != field}


def _update(text: Any = "こんにちは", **fields: Any) -> bytes:
    update = telegram_message("x")
    update["message"]["text"] = text
    return json.dumps(update | fields, ensure_ascii=False).encode()


# --- (a) a valid signature or secret, any body ------------------------------------------------------


def _line_events_of(raw: bytes) -> list[Any]:
    """The ``events`` list of a LINE body, or [] when there is none to read."""
    try:
        data = json.loads(raw)
    except ValueError:
        return []
    events = data.get("events") if isinstance(data, dict) else None
    return events if isinstance(events, list) else []


def _line_ids(raw: bytes) -> set[str]:
    """The keys LINE's events should be stored under: every event with a string id and a real reply token."""
    return {
        f"line:{e['webhookEventId']}"[:200]
        for e in _line_events_of(raw)
        if isinstance(e, dict)
        and isinstance(e.get("webhookEventId"), str)
        and e["webhookEventId"]
        and e.get("replyToken") not in DUMMY_TOKENS
    }


@FUZZ
@given(raw=LINE_BODIES)
@example(raw=_line(events={"0": line_text("events is a dict")}))  # events not a list
@example(raw=json.dumps({"destination": "U1", "events": "[]"}).encode())  # events a string
@example(raw=_line("an event", 1, None, [line_text("nested")]))  # events that are not objects
@example(raw=_line(line_text("x", event_id=12345)))  # webhookEventId an int
@example(raw=_line(_without(line_text("no source"), "source")))  # source missing
@example(raw=_line(_text_event(42), _text_event(None), _text_event(["a", 1]), _text_event({"a": [[{}]]})))
@example(raw=_line(_text_event("相談🍎" * 6667)))  # 20,001 characters, 26,668 UTF-16 units
@example(raw=_line(_text_event("\u202e\u200f\u200d👩🏽‍⚕️👍🏿e\u0301\x00ｶﾞ\U0010fffd")))  # odd Unicode, NUL
@example(raw=b'{"destination": "U1", "events": [')  # malformed JSON
@example(raw=_line(line_text("not UTF-8")) + b"\xff")  # invalid UTF-8
@example(raw=b"[]")
def test_a_signed_line_body_of_any_shape_is_answered_stored_and_processed_to_the_end(app: FuzzApp, raw: bytes) -> None:
    _reset(app)
    response = _post_line(app, raw, line_signature(raw))
    event(f"HTTP {response.status_code}")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        assert response.status_code == 401  # LINE only sends UTF-8: refused, never stored
        assert _rows(app) == []
        return
    assert response.status_code == 200, response.text
    rows = _rows(app)
    assert response.json() == {"ok": True, "stored": len(rows)}
    assert {row.key for row in rows} == _line_ids(raw)
    _drain(app)
    _check_processed(app)


@FUZZ
@given(raw=TELEGRAM_BODIES)
@example(raw=_update(update_id="1"))  # update_id a string
@example(raw=_update(update_id=-5))  # negative: stored, update ids restart at random after a quiet week
@example(raw=_update(update_id=1.5))
@example(raw=_update(update_id=True))
@example(raw=_update(text=42))  # text a number
@example(raw=_update(text=None))
@example(raw=_update(text=["a", 1]))
@example(raw=_update(text={"a": [[{}]]}))
@example(raw=json.dumps({"update_id": 7, "message": "not an object"}).encode())
@example(raw=_update(text="あ" * 20000))  # Telegram caps at 4,096, but we must survive more
@example(raw=_update(text="\u202e\u200f\u200d👩🏽‍⚕️👍🏿e\u0301\x00ｶﾞ\U0010fffd"))
@example(raw=b'{"update_id": 1, "message": {')  # malformed JSON
@example(raw=_update() + b"\xff")  # invalid UTF-8
def test_a_telegram_body_with_the_secret_of_any_shape_is_answered_stored_and_processed_to_the_end(
    app: FuzzApp, raw: bytes
) -> None:
    _reset(app)
    response = _post_telegram(app, raw, TELEGRAM_SECRET)
    assert response.status_code == 200, response.text
    rows = _rows(app)
    assert len(rows) <= 1
    assert response.json() == {"ok": True, "stored": len(rows)}
    _drain(app)
    _check_processed(app)


@settings(max_examples=25, deadline=None)
@given(text=ODD_TEXT.filter(str.strip))
def test_a_one_to_one_text_in_any_unicode_is_answered_once_through_its_reply_token(app: FuzzApp, text: str) -> None:
    """Well-formed events with hard text must not merely survive: the person gets their answer."""
    _reset(app)
    line, telegram = line_text(text), telegram_message(text)
    assert _post_line(app, _line(line), line_signature(_line(line))).status_code == 200
    assert _post_telegram(app, json.dumps(telegram).encode(), TELEGRAM_SECRET).status_code == 200
    _drain(app)
    assert [row.status for row in _rows(app)] == [InboundStatus.DONE] * 2
    replies = app.line.script.to("/message/reply")
    assert [call.body["replyToken"] for call in replies] == [line["replyToken"]]
    assert app.telegram.texts(telegram["message"]["chat"]["id"])
    _check_limits(app)


# --- (b) a bad or missing signature or secret ---------------------------------------------------------

SIGNATURE_CHARS = string.ascii_letters + string.digits + "+/="


@st.composite
def bad_signatures(draw: st.DrawFn, raw: bytes) -> str | None:
    """Anything but LINE's signature of ``raw``: none, empty, junk, another secret's, another body's, truncated."""
    good = line_signature(raw)
    bad = draw(
        st.one_of(
            st.none(),
            st.just(""),
            st.text(alphabet=SIGNATURE_CHARS, min_size=1, max_size=60),
            st.binary(min_size=32, max_size=32).map(lambda b: base64.b64encode(b).decode()),
            st.just(line_signature(raw, "another-channel-secret")),
            st.just(line_signature(raw + b" ")),
            st.just(good[:-2]),
            st.just(good.lower() if good.lower() != good else good.upper()),
        )
    )
    return bad if bad != good else None


@FUZZ
@given(data=st.data(), raw=st.one_of(LINE_BODIES, st.just(_line(line_text("母が倒れた"))), st.just(b"")))
def test_a_line_body_without_its_signature_is_refused_with_401_and_nothing_is_stored(
    app: FuzzApp, data: st.DataObject, raw: bytes
) -> None:
    _reset(app)
    response = _post_line(app, raw, data.draw(bad_signatures(raw)))
    assert response.status_code == 401
    assert _rows(app) == []
    _drain(app)
    assert app.line.script.calls == []


@FUZZ
@given(
    raw=st.one_of(TELEGRAM_BODIES, st.just(json.dumps(telegram_message("母が倒れた")).encode())),
    secret=st.one_of(
        st.none(),
        st.just(""),
        st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=256),
        st.sampled_from(
            [TELEGRAM_SECRET[:-1], TELEGRAM_SECRET + "x", TELEGRAM_SECRET.upper(), "x" + TELEGRAM_SECRET[1:]]
        ),
    ).filter(lambda secret: secret != TELEGRAM_SECRET),
)
def test_a_telegram_body_without_the_secret_is_refused_with_403_and_nothing_is_stored(
    app: FuzzApp, raw: bytes, secret: str | None
) -> None:
    _reset(app)
    response = _post_telegram(app, raw, secret)
    assert response.status_code == 403
    assert _rows(app) == []
    _drain(app)
    assert app.telegram.script.to("/sendMessage") == []


# --- sizes ----------------------------------------------------------------------------------------------


def _padded(raw: bytes, size: int) -> bytes:
    """The same JSON, with trailing spaces (still valid) up to exactly ``size`` bytes."""
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


def test_a_body_of_exactly_one_megabyte_is_taken_and_one_byte_more_is_refused_with_413(app: FuzzApp) -> None:
    _reset(app)
    line, update = _line(line_text("こんにちは")), _update()
    for raw in (_padded(line, MAX_BODY + 1), _padded(update, MAX_BODY + 1)):
        assert len(raw) == 1_000_001
    assert _post_line(app, _padded(line, MAX_BODY + 1), line_signature(_padded(line, MAX_BODY + 1))).status_code == 413
    assert _post_telegram(app, _padded(update, MAX_BODY + 1), TELEGRAM_SECRET).status_code == 413
    assert _post_line(app, _padded(line, MAX_BODY + 1), "bad").status_code == 413  # too big is said before bad
    assert _rows(app) == []
    assert _post_line(app, _padded(line, MAX_BODY), line_signature(_padded(line, MAX_BODY))).json()["stored"] == 1
    assert _post_telegram(app, _padded(update, MAX_BODY), TELEGRAM_SECRET).json()["stored"] == 1
    _drain(app)
    assert [row.status for row in _rows(app)] == [InboundStatus.DONE] * 2


def test_a_20000_character_text_reaches_each_platform_in_parts_within_its_limit(app: FuzzApp) -> None:
    _reset(app)
    # 20,000 characters in lines of 40, one emoji (2 UTF-16 units on LINE) in every line: 20,500 units.
    line_of_text = "ご相談ありがとうございます、夜でも休みの日でも受けています🍎" + "。" * 9 + "\n"
    assert len(line_of_text) == 40
    text = (line_of_text * 500)[:-1] + "終"
    assert len(text) == 20000 and _utf16(text) == 20500
    with session_scope(app.services.engine) as session:
        for channel, address in (("line", USER), ("telegram", "424242")):
            queue_out(session, channel, address, [(Reply(text), None)], utcnow(), None, kind="notice")
    _drain(app)
    line_parts = app.line.texts(USER)
    telegram_parts = app.telegram.texts("424242")
    assert len(line_parts) >= 5 and all(_utf16(part) <= LINE_UNITS for part in line_parts)
    assert len(telegram_parts) >= 5 and all(len(part) <= TELEGRAM_CHARS for part in telegram_parts)
    # Cut between lines only, so the line breaks at the cuts are the only thing left out.
    assert "\n".join(line_parts) == text
    assert "\n".join(telegram_parts) == text
    pushes = app.line.script.to("/message/push")
    assert all(len(call.body["messages"]) <= LINE_MESSAGES_PER_CALL for call in pushes)
    assert len({call.headers["x-line-retry-key"] for call in pushes}) == len(pushes)  # one key per call


def test_a_20000_character_text_without_line_breaks_is_cut_without_losing_or_splitting_a_character(
    app: FuzzApp,
) -> None:
    _reset(app)
    text = "あ🍎👍🏽" * 5000  # 20,000 code points, 35,000 UTF-16 units, no line break anywhere
    with session_scope(app.services.engine) as session:
        for channel, address in (("line", USER), ("telegram", "424242")):
            queue_out(session, channel, address, [(Reply(text), None)], utcnow(), None, kind="notice")
    _drain(app)
    line_parts, telegram_parts = app.line.texts(USER), app.telegram.texts("424242")
    assert "".join(line_parts) == text and "".join(telegram_parts) == text
    assert all(_utf16(part) <= LINE_UNITS for part in line_parts) and len(line_parts) >= 7
    assert all(len(part) <= TELEGRAM_CHARS for part in telegram_parts) and len(telegram_parts) == 5


# --- found by fuzzing (fixed): crashes with a valid signature ------------------------------------------------


DEEP = b"[" * 100_000 + b"]" * 100_000  # 200 kB, well under the 1 MB limit


def test_a_signed_line_body_nested_too_deep_for_the_json_parser_is_answered_without_a_server_error(
    app: FuzzApp,
) -> None:
    _reset(app)
    response = _post_line(app, DEEP, line_signature(DEEP))
    assert response.status_code == 200 and response.json()["stored"] == 0


def test_a_telegram_body_nested_too_deep_for_the_json_parser_is_answered_without_a_server_error(
    app: FuzzApp,
) -> None:
    _reset(app)
    response = _post_telegram(app, DEEP, TELEGRAM_SECRET)
    assert response.status_code == 200 and response.json()["stored"] == 0


@pytest.mark.parametrize("token", [[], ["0" * 32], {"a": 1}])
def test_a_signed_line_event_whose_reply_token_is_not_a_string_is_answered_without_a_server_error(
    app: FuzzApp, token: Any
) -> None:
    _reset(app)
    event = line_text("こんにちは") | {"replyToken": token}
    response = _post_line(app, _line(event), line_signature(_line(event)))
    assert response.status_code == 200


@pytest.mark.parametrize("date", [10**18, 10**20, -(10**20), 1e300])  # OSError, then OverflowError
def test_a_telegram_update_with_a_date_out_of_range_is_answered_without_a_server_error(
    app: FuzzApp, date: float
) -> None:
    _reset(app)
    update = telegram_message("こんにちは")
    update["message"]["date"] = date
    response = _post_telegram(app, json.dumps(update).encode(), TELEGRAM_SECRET)
    assert response.status_code == 200


# --- on both databases: what PostgreSQL refuses and SQLite takes ----------------------------------------


def test_a_signed_body_with_nan_which_pythons_json_reads_is_answered_without_a_server_error(
    platforms: Platforms,
) -> None:
    event = line_text("こんにちは") | {"x": float("nan")}
    assert platforms.post_line(json.dumps(line_body(event)).encode()).status_code == 200
    update = telegram_message("こんにちは") | {"x": float("inf")}
    assert platforms.post_telegram(json.dumps(update).encode()).status_code == 200


def test_a_text_with_a_nul_character_is_answered_on_either_database(
    platforms: Platforms,
) -> None:
    line, update = line_text("母が\x00倒れた"), telegram_message("母が\x00倒れた")
    assert platforms.post_line(line_body(line)).status_code == 200
    assert platforms.post_telegram(update).status_code == 200
    platforms.settle()
    rows = _rows(platforms)
    assert [(row.status, row.error) for row in rows] == [(InboundStatus.DONE, None)] * 2
    assert [call.body["replyToken"] for call in platforms.line.script.to("/message/reply")] == [line["replyToken"]]
    assert platforms.telegram.texts(update["message"]["chat"]["id"])
