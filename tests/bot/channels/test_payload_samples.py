"""Every real payload sample in tests/payloads/, through the real webhook, receiver, dispatcher and SDKs.

Each sample is posted as it is (signed over its own bytes, or with the right secret)
to a fresh app on a fresh SQLite database, processed with ``settle()``, and the
fake platform is asked what the person saw. The table of what each file proves is
``LINE_SAMPLES`` / ``TELEGRAM_SAMPLES`` below (one line per file); every file in the
folders must have a line there, so a new sample cannot go untested.

What every sample must do, whatever it is: the webhook answers 200 with the number
of events it stored, and after ``settle()`` every stored event is ``done`` (none left
``pending``, none ``failed``). On top of that, by outcome:

==========  ===================================================================================
ANSWER      a 1:1 text: one reply call with the sample's own reply token (LINE) or one message
            to the chat (Telegram), an ordinary answer (not the group, media or welcome note);
            LINE shows the loading dots to that user first
MEDIA       sticker/image/audio/video/file/location/photo: the kind 「ことばで 書いて」 reply
GROUP       anything from a group or room (text, sticker, image, join, memberJoined, a command):
            the one-to-one note (「1対1」), and never the loading dots (LINE: 1:1 chats only)
WELCOME     follow: the welcome, which says how to be forgotten (「データを消して」)
CHOICE      postback / callback query: read as a button press (the person's message is the
            button's data or label, the reply is what an unknown button gets: the menu again)
SILENT      stored, processed, and nothing at all is sent (unfollow, leave, unsend, beacon, ...)
DROPPED     answered 200 and nothing stored: the console's verify bodies, Telegram updates PTB
            cannot read, and a bare ``Message`` that is not an ``Update``
==========  ===================================================================================

These run on SQLite only (a fixture of this module: the fake servers stay up for the
module and each test gets a new app and database, about 0.2 s instead of 1 s). The
storage path is the same for every sample and is proven on both databases by
test_line.py / test_telegram.py; one test below also runs every sample on PostgreSQL.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.channels import BadSignature
from bot.channels.line import DUMMY_TOKENS, LineChannel
from bot.conversation import Context
from bot.settings import Settings
from bot.web.app import create_app
from storage.models import Direction, InboundEvent, InboundStatus, Message
from tests.bot.channels.conftest import LINE_SECRET, TELEGRAM_SECRET, TELEGRAM_TOKEN, Platforms
from tests.fakes.line_api import FakeLine
from tests.fakes.platform import Call
from tests.fakes.serve import serve_in_thread
from tests.fakes.telegram_api import FakeTelegram

PAYLOADS = Path(__file__).parents[2] / "payloads"
LINE_DIR, TELEGRAM_DIR = PAYLOADS / "line", PAYLOADS / "telegram"

GROUP_NOTE, MEDIA_NOTE, WELCOME_NOTE = "1対1", "ことばで 書いて", "データを消して"


class Outcome(StrEnum):
    ANSWER = "answer"
    MEDIA = "media"
    GROUP = "group"
    WELCOME = "welcome"
    CHOICE = "choice"
    SILENT = "silent"
    DROPPED = "dropped"


@dataclass(frozen=True)
class Sample:
    outcome: Outcome
    proves: str


# --- what each sample file proves ---------------------------------------------------------------

LINE_SAMPLES: dict[str, Sample] = {
    "sdk_text_user.json": Sample(Outcome.ANSWER, "1:1 text: answered with its reply token, loading dots first"),
    "sdk_text_user_redelivery.json": Sample(Outcome.ANSWER, "isRedelivery: true changes nothing for a first copy"),
    "sdk_fixture_all_events.json": Sample(
        Outcome.ANSWER, "28 events, one webhookEventId: one row, the first event's (a 1:1 text) answered once"
    ),
    "sdk_audio_user.json": Sample(Outcome.MEDIA, "audio: the kind reply"),
    "sdk_file_user.json": Sample(Outcome.MEDIA, "file: the kind reply"),
    "sdk_location_user.json": Sample(Outcome.MEDIA, "location: the kind reply"),
    "sdk_sticker_user.json": Sample(Outcome.MEDIA, "sticker with keywords and text: still the kind reply"),
    "docs_sticker_animation.json": Sample(Outcome.MEDIA, "ANIMATION sticker (docs): the kind reply"),
    "docs_image_imageset_1of2.json": Sample(Outcome.MEDIA, "image of an imageSet, contentProvider line: kind reply"),
    "sdk_image_room_external.json": Sample(Outcome.GROUP, "image in a room with no userId: note to the room"),
    "sdk_text_group.json": Sample(Outcome.GROUP, "group text: the one-to-one note, no loading dots"),
    "sdk_text_room.json": Sample(Outcome.GROUP, "room text: the one-to-one note, no loading dots"),
    "docs_text_group_mention_emoji.json": Sample(Outcome.GROUP, "group text with mentions (isSelf) and LINE emoji"),
    "docs_sticker_message_group.json": Sample(Outcome.GROUP, "MESSAGE sticker in a group: the note, not media"),
    "sdk_join_group.json": Sample(Outcome.GROUP, "join: the bot says where consultations happen"),
    "sdk_member_joined_group.json": Sample(Outcome.GROUP, "memberJoined: the same note"),
    "sdk_follow.json": Sample(Outcome.WELCOME, "follow (isUnblocked): the welcome with 「データを消して」"),
    "sdk_postback_datetime.json": Sample(Outcome.CHOICE, "postback with params.datetime: read as a choice"),
    "sdk_unfollow.json": Sample(Outcome.SILENT, "unfollow (no reply token): nothing sent"),
    "sdk_leave_group.json": Sample(Outcome.SILENT, "leave: nothing sent"),
    "sdk_unsend_group.json": Sample(Outcome.SILENT, "unsend: nothing sent"),
    "sdk_account_link.json": Sample(Outcome.SILENT, "accountLink: nothing sent"),
    "sdk_video_play_complete.json": Sample(Outcome.SILENT, "videoPlayComplete: nothing sent"),
    "sdk_message_edited.json": Sample(Outcome.SILENT, "messageEdited (newer type): ignored, nothing sent"),
    "sdk_unknown_event_type.json": Sample(Outcome.SILENT, 'type "undefined" (UnknownEvent): nothing sent'),
    "docs_verify_empty_events.json": Sample(Outcome.DROPPED, "the console's Verify (events: []): 200, nothing"),
    "legacy_verify_dummy_tokens.json": Sample(
        Outcome.DROPPED, "old Verify (dummy tokens, no webhookEventId), byte-exact: 200, nothing"
    ),
}

TELEGRAM_SAMPLES: dict[str, Sample] = {
    "filetreck_message_text_private.json": Sample(Outcome.ANSWER, "captured private text: answered in the chat"),
    "filetreck_message_photo_media_group.json": Sample(Outcome.MEDIA, "photo in a media group: the kind reply"),
    "kutana_group_message_bot_command.json": Sample(Outcome.GROUP, "/echo@bot in a group: the one-to-one note"),
    "kutana_callback_query_with_message.json": Sample(
        Outcome.CHOICE, "callback query with data not on the keyboard: answered, read as a choice"
    ),
    "guide_message_text_start.json": Sample(Outcome.DROPPED, "/start without from.is_bot: PTB cannot read it"),
    "guide_edited_message.json": Sample(Outcome.DROPPED, "edited_message without is_bot: dropped"),
    "guide_message_entities.json": Sample(Outcome.DROPPED, "entities, without is_bot: dropped"),
    "guide_message_document.json": Sample(Outcome.DROPPED, "document, without is_bot: dropped"),
    "guide_callback_query_inline.json": Sample(Outcome.DROPPED, "inline callback, no is_bot/chat_instance: dropped"),
    "qertis_message_sticker.message_only.json": Sample(Outcome.DROPPED, "a Message, not an Update: dropped"),
}

#: The 28 events of the SDK fixture, each posted alone under an id of its own: (what it is, outcome).
ALL_EVENTS: list[tuple[str, Outcome]] = [
    ("message/text user", Outcome.ANSWER),
    ("message/image room", Outcome.GROUP),
    ("message/video user", Outcome.MEDIA),
    ("message/audio user", Outcome.MEDIA),
    ("message/location user", Outcome.MEDIA),
    ("message/sticker user", Outcome.MEDIA),
    ("follow user", Outcome.WELCOME),
    ("unfollow user", Outcome.SILENT),
    ("join group", Outcome.GROUP),
    ("leave group", Outcome.SILENT),
    ("postback user", Outcome.CHOICE),  # params.datetime
    ("beacon user", Outcome.SILENT),  # enter
    ("beacon user", Outcome.SILENT),  # banner
    ("accountLink user", Outcome.SILENT),
    ("message/text group", Outcome.GROUP),
    ("message/text room", Outcome.GROUP),
    ("postback user", Outcome.CHOICE),  # params.date
    ("postback user", Outcome.CHOICE),  # params.time
    ("postback user", Outcome.CHOICE),  # params.datetime
    ("memberJoined group", Outcome.GROUP),
    ("memberLeft group", Outcome.SILENT),
    ("message/file user", Outcome.MEDIA),
    ("unsend group", Outcome.SILENT),
    ("videoPlayComplete user", Outcome.SILENT),
    ("message/image user", Outcome.MEDIA),  # imageSet 2 of 2
    ("message/text user", Outcome.ANSWER),  # isRedelivery
    ("messageEdited/text user", Outcome.SILENT),
    ("undefined user", Outcome.SILENT),
]


# --- a fresh app per test, fake platforms that stay up for the module ------------------------------


class Switchboard:
    """An ASGI app that hands each request to the current test's fake, so one server serves the whole module."""

    def __init__(self) -> None:
        self.target: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        assert self.target is not None, "no fake platform plugged in"
        await self.target(scope, receive, send)


@dataclass
class Servers:
    line: Switchboard
    line_url: str
    telegram: Switchboard
    telegram_url: str


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    line, telegram = Switchboard(), Switchboard()
    with serve_in_thread(line) as line_url, serve_in_thread(telegram) as telegram_url:
        yield Servers(line, line_url, telegram, telegram_url)


@pytest.fixture
def fresh(servers: Servers, ctx: Context, tmp_path: Path) -> Iterator[Platforms]:
    """Like conftest's ``platforms`` on SQLite: a new app, database and pair of fakes for each test."""
    line, telegram = FakeLine(), FakeTelegram()
    servers.line.target, servers.telegram.target = line.app, telegram.app
    settings = Settings(
        **{
            "MADOGUCHI_DATABASE_URL": f"sqlite:///{tmp_path / 'madoguchi.db'}",
            "LINE_CHANNEL_SECRET": LINE_SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": "test-access-token",
            "LINE_API_BASE_URL": servers.line_url,
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
            "TELEGRAM_API_BASE_URL": servers.telegram_url,
        }
    )
    app = create_app(settings, ctx=ctx, workers=False)
    with TestClient(app, base_url="https://testserver") as client:
        yield Platforms(line, telegram, client, app.state.services)
    servers.line.target = servers.telegram.target = None


# --- helpers ---------------------------------------------------------------------------------------


def _rows(platforms: Platforms) -> list[InboundEvent]:
    return platforms.stored()


def _said_in(platforms: Platforms) -> list[str]:
    with Session(platforms.services.engine) as session:
        query = select(Message).where(Message.direction == Direction.IN).order_by(col(Message.id))
        return [m.text or "" for m in session.exec(query).all()]


def _texts(call: Call) -> list[str]:
    return [str(message.get("text", "")) for message in call.body.get("messages", [])]


def _is_ordinary(text: str) -> bool:
    return not any(note in text for note in (GROUP_NOTE, MEDIA_NOTE, WELCOME_NOTE))


def _post_and_settle(platforms: Platforms, channel: str, raw: bytes, stored: int) -> None:
    """Post, check the 200 and what was stored, process, and check every stored event ended ``done``."""
    response = platforms.post_line(raw) if channel == "line" else platforms.post_telegram(raw)
    assert response.status_code == 200, response.text
    assert response.json() == {"ok": True, "stored": stored}
    platforms.settle()
    rows = _rows(platforms)
    assert len(rows) == stored
    assert [(row.status, row.error) for row in rows] == [(InboundStatus.DONE, None)] * stored


def _check_line(platforms: Platforms, event: dict[str, Any] | None, outcome: Outcome) -> None:
    """What LINE's fake saw, for one event (``None``: nothing was to be stored)."""
    calls = platforms.line.script
    sent = calls.to("/message/reply") + calls.to("/message/push")
    if outcome in (Outcome.SILENT, Outcome.DROPPED):
        assert calls.calls == [], f"sent {[c.path for c in calls.calls]}"
        return
    assert event is not None
    token, source = event["replyToken"], event["source"]
    assert token not in DUMMY_TOKENS
    assert [c.path for c in sent] == ["/v2/bot/message/reply"], "one reply call, no push"
    assert sent[0].body["replyToken"] == token
    texts = _texts(sent[0])
    loading = [c.body["chatId"] for c in calls.to("/chat/loading/start")]
    if outcome == Outcome.ANSWER:
        assert _is_ordinary(texts[0]), texts
        assert loading == [source["userId"]]
    elif outcome == Outcome.MEDIA:
        assert any(MEDIA_NOTE in text for text in texts), texts
    elif outcome == Outcome.GROUP:
        assert any(GROUP_NOTE in text for text in texts), texts
        assert loading == [], "the loading dots are for 1:1 chats only"
    elif outcome == Outcome.WELCOME:
        assert any(WELCOME_NOTE in text for text in texts), texts
    elif outcome == Outcome.CHOICE:
        assert _said_in(platforms) == [event["postback"]["data"]]  # the data, not a display text
        assert _is_ordinary(texts[0]) and "まどぐち" in texts[0], texts  # an unknown button: start again kindly
        buttons = sent[0].body["messages"][-1]["quickReply"]["items"]
        assert buttons[0]["action"]["data"] == "menu:urgent"
        assert loading == [], "a button press shows no loading dots"


def _line_event_of(raw: bytes) -> dict[str, Any] | None:
    events = json.loads(raw).get("events") or []
    return events[0] if events else None


# --- LINE -------------------------------------------------------------------------------------------


def test_every_sample_file_has_a_line_in_the_table() -> None:
    assert sorted(p.name for p in LINE_DIR.glob("*.json")) == sorted(LINE_SAMPLES)
    assert sorted(p.name for p in TELEGRAM_DIR.glob("*.json")) == sorted(TELEGRAM_SAMPLES)


@pytest.mark.parametrize("name", sorted(LINE_SAMPLES))
def test_each_line_sample_is_stored_processed_and_answered_as_its_event_deserves(fresh: Platforms, name: str) -> None:
    raw = (LINE_DIR / name).read_bytes()  # as the file is, signed over its own bytes
    outcome = LINE_SAMPLES[name].outcome
    _post_and_settle(fresh, "line", raw, stored=0 if outcome == Outcome.DROPPED else 1)
    _check_line(fresh, _line_event_of(raw), outcome)


FIXTURE_EVENTS: list[dict[str, Any]] = json.loads((LINE_DIR / "sdk_fixture_all_events.json").read_bytes())["events"]


def _label(event: dict[str, Any]) -> str:
    message = event.get("message", {}).get("type")
    return f"{event['type']}{'/' + message if message else ''} {event['source']['type']}"


def _has_a_file_of_its_own(event: dict[str, Any]) -> bool:
    files = (p for p in LINE_DIR.glob("sdk_*.json") if p.name != "sdk_fixture_all_events.json")
    return any(json.loads(p.read_bytes())["events"] == [event] for p in files)


#: The fixture's events that no single-event file covers: video, both beacons, postbacks with
#: params.date / params.time, memberLeft, the second image of an imageSet.
ALONE = [(i, *row) for i, row in enumerate(ALL_EVENTS) if not _has_a_file_of_its_own(FIXTURE_EVENTS[i])]


def test_the_table_of_the_sdk_fixture_names_its_28_events_in_order() -> None:
    assert [_label(event) for event in FIXTURE_EVENTS] == [what for what, _ in ALL_EVENTS]
    assert len(ALONE) == 8


@pytest.mark.parametrize(("index", "what", "outcome"), ALONE)
def test_each_event_of_the_sdk_fixture_without_a_file_gets_what_its_type_deserves(
    fresh: Platforms, index: int, what: str, outcome: Outcome
) -> None:
    event = copy.deepcopy(FIXTURE_EVENTS[index])
    assert _label(event) == what
    event["webhookEventId"] = f"{event['webhookEventId']}-{index:02d}"  # the fixture gives all 28 one id
    raw = json.dumps({"destination": "U123", "events": [event]}).encode()
    _post_and_settle(fresh, "line", raw, stored=1)
    _check_line(fresh, event, outcome)


def test_the_postback_samples_data_is_read_as_the_button_it_names(fresh: Platforms) -> None:
    body = json.loads((LINE_DIR / "sdk_postback_datetime.json").read_bytes())
    body["events"][0]["postback"]["data"] = "menu:urgent"  # the same event, pressing a button of ours
    _post_and_settle(fresh, "line", json.dumps(body).encode(), stored=1)
    (reply,) = fresh.line.script.to("/message/reply")
    assert any("なにが ありましたか" in text for text in _texts(reply)), _texts(reply)


# --- Telegram ----------------------------------------------------------------------------------------


def _chat_of(update: dict[str, Any]) -> int:
    if "message" in update:
        return int(update["message"]["chat"]["id"])
    return int(update["callback_query"]["from"]["id"])


@pytest.mark.parametrize("name", sorted(TELEGRAM_SAMPLES))
def test_each_telegram_sample_is_stored_processed_and_answered_as_its_update_deserves(
    fresh: Platforms, name: str
) -> None:
    raw = (TELEGRAM_DIR / name).read_bytes()
    outcome = TELEGRAM_SAMPLES[name].outcome
    _post_and_settle(fresh, "telegram", raw, stored=0 if outcome == Outcome.DROPPED else 1)
    script = fresh.telegram.script
    sends = script.to("/sendMessage")
    if outcome == Outcome.DROPPED:
        assert sends == [] and script.to("/answerCallbackQuery") == []
        return
    update = json.loads(raw)
    assert [call.body["chat_id"] for call in sends] == [str(_chat_of(update))]
    text = str(sends[0].body["text"])
    if outcome == Outcome.ANSWER:
        assert _is_ordinary(text), text
    elif outcome == Outcome.MEDIA:
        assert MEDIA_NOTE in text, text
    elif outcome == Outcome.GROUP:
        assert GROUP_NOTE in text, text
    elif outcome == Outcome.CHOICE:
        (answered,) = script.to("/answerCallbackQuery")
        assert answered.body["callback_query_id"] == update["callback_query"]["id"]  # the spinner stops
        assert _said_in(fresh) == [update["callback_query"]["data"]]  # "b" is on no button: the data itself
        assert _is_ordinary(text) and "まどぐち" in text, text


def test_a_press_on_a_button_of_the_message_is_read_with_that_buttons_label(fresh: Platforms) -> None:
    update = json.loads((TELEGRAM_DIR / "kutana_callback_query_with_message.json").read_bytes())
    update["callback_query"]["data"] = "3"  # the sample's own keyboard: "Hello" -> "3"
    _post_and_settle(fresh, "telegram", json.dumps(update).encode(), stored=1)
    assert _said_in(fresh) == ["Hello"]


# --- every sample on PostgreSQL too ------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_every_sample_is_stored_and_processed_on_postgresql_too(platforms: Platforms) -> None:
    stored = 0
    for number, name in enumerate(sorted(LINE_SAMPLES)):
        body = json.loads((LINE_DIR / name).read_bytes())
        for event in body.get("events", []):
            if "webhookEventId" in event:  # one id per file: the SDK's files share "testwebhookeventid"
                event["webhookEventId"] = f"{event['webhookEventId']}-{number:02d}"
        response = platforms.post_line(json.dumps(body, ensure_ascii=False).encode())
        assert response.status_code == 200
        stored += response.json()["stored"]
    for name in sorted(TELEGRAM_SAMPLES):
        response = platforms.post_telegram((TELEGRAM_DIR / name).read_bytes())
        assert response.status_code == 200
        stored += response.json()["stored"]
    expected = sum(o.outcome != Outcome.DROPPED for o in (*LINE_SAMPLES.values(), *TELEGRAM_SAMPLES.values()))
    assert stored == expected
    for _ in range(expected):  # one person's events go one at a time, in order: a round each
        if not [row for row in _rows(platforms) if row.status == InboundStatus.PENDING]:
            break
        platforms.settle(rounds=1)
    assert sorted({(row.status, row.error) for row in _rows(platforms)}) == [(InboundStatus.DONE, None)]
    assert len(_rows(platforms)) == expected


# --- LINE's signature test vectors (platforms.md A1) --------------------------------------------------

LEGACY = (LINE_DIR / "legacy_verify_dummy_tokens.json").read_bytes()
ECHOBOT_SECRET = "4065415af4324c402286d732539ccc79"
VECTORS = [
    ("channel_secret", b"bodybodybodybody", "/gg9a+LvFevTH1sd7XCQycD7tsWclCsInj7MhBHxN7k="),  # line-bot-sdk-python
    ("test_secret", b'{"hello":"world"}', "t7Hn4ZDHqs6e+wdvI5TyQIvzie0DmMUmuXEBqyyE/tM="),  # line-bot-sdk-nodejs
    (ECHOBOT_SECRET, LEGACY, "/BmZra24sAw16Zt6Dmu21ernw3NuBqeYVWs3w09F6BU="),  # elderica/echobot, byte-exact file
]


def _verifies(secret: str, body: bytes, signature: str) -> bool:
    try:
        LineChannel(secret, "unused").verify(body, {"x-line-signature": signature})
    except BadSignature:
        return False
    return True


@pytest.mark.parametrize(("secret", "body", "signature"), VECTORS, ids=["python-sdk", "nodejs-sdk", "echobot-file"])
def test_the_sdks_signature_vectors_verify_and_any_change_fails(secret: str, body: bytes, signature: str) -> None:
    assert _verifies(secret, body, signature)
    assert not _verifies(secret + "x", body, signature)  # another channel's secret
    assert not _verifies(secret, body + b" ", signature)  # one more byte
    assert not _verifies(secret, body, "")  # no header


def test_the_nodejs_vector_with_one_character_changed_fails() -> None:
    assert not _verifies("test_secret", b'{"hello":"world"}', "t7Hn4ZDHqs6e+wdvi5TyQivzie0DmMUmuXEBqyyE/tM=")


def test_the_byte_exact_file_is_verified_over_its_bytes_with_the_final_newline() -> None:
    assert len(LEGACY) == 722 and LEGACY.endswith(b"}\n")
    without_newline = LEGACY[:-1]
    assert not _verifies(ECHOBOT_SECRET, without_newline, "/BmZra24sAw16Zt6Dmu21ernw3NuBqeYVWs3w09F6BU=")
    assert _verifies(ECHOBOT_SECRET, without_newline, "iQmqdysCffHerlYaWTvXH2BHPu0PzQV6DsZfVrDjPrg=")
    # Re-serialised JSON (what a framework's parsed body would give) is not what LINE signed.
    reencoded = json.dumps(json.loads(LEGACY), ensure_ascii=False).encode()
    assert reencoded != LEGACY and not _verifies(ECHOBOT_SECRET, reencoded, VECTORS[2][2])
