"""「データを消して」 and the retention purge leave no trace: every table, every column, and the SQLite file's bytes.

A person writes what people really write (a phone number, an address, who
they are) on the web chat, LINE or Telegram; a coordinator is paged with their
first message; then they ask to be forgotten and say yes. Afterwards their
markers are searched for in every row of every table (JSON columns both as
stored and with Japanese escaped), and on SQLite in the raw bytes of the
database file and its write-ahead log. Another person's markers, still there,
show that the search looks in the right places.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, select
from sqlmodel import Session
from sqlmodel import select as model_select

from bot.channels.web import WebSender
from bot.desk import casework
from bot.runtime.dispatcher import Dispatcher
from bot.runtime.purger import Purger
from bot.web.auth import digest
from storage import db
from storage.db import session_scope
from storage.models import Case, CaseStatus, Coordinator
from storage.types import utcnow
from tests.bot.channels.conftest import Platforms
from tests.builders import URGENT_TEXT, coordinator
from tests.fakes.events import line_body, line_text, telegram_message

PHONE, PLACE, WORD, WHO = "090-3141-5926", "中標津町東5条南3丁目", "kq7zp", "叔母のtnkx42"
OTHERS = ("090-2718-2818", "別海町西2条北1丁目", "zzcontrolzz", "祖父のqqvz77")
IDS = {"line": ("U" + "d4" * 16, "U" + "e5" * 16), "telegram": ("7310954399", "7310954398")}


def _story(phone: str, place: str, word: str, who: str) -> list[str]:
    """An urgent message with a phone number, the intake answered in the person's own words, consent."""
    return [f"{URGENT_TEXT} 電話は{phone} やまびこ荘の近く {word}", f"{place}です", "ひとり", f"{who}です", "はい"]


FORGET = ["データを消して", "消す"]


def _settle(platforms: Platforms) -> None:
    """The receiver, then the dispatcher (with the web queue page, so pages quoting the message are sent)."""
    services = platforms.services
    dispatcher = Dispatcher(services.engine, {**services.channels, "web": WebSender()}, services.desk)
    receiver = services.receiver
    assert receiver is not None

    async def steps() -> None:
        for _ in range(3):
            await receiver.run_once()
            await dispatcher.run_once()

    platforms.client.portal.call(steps)  # type: ignore[union-attr]


def _web_person(platforms: Platforms) -> Callable[[str], None]:
    """A new visitor of the web chat (own cookie); returns how they send a message."""
    client = platforms.client
    client.cookies.clear()
    page = client.get("/chat/")
    csrf = re.search(r'data-csrf="([0-9a-f]+)"', page.text)
    assert page.status_code == 200 and csrf is not None
    headers = {"X-CSRF-Token": csrf[1]}
    token = client.cookies["madoguchi_chat"]

    def send(text: str) -> None:
        client.cookies.set("madoguchi_chat", token)
        body = {"text": text, "client_id": uuid.uuid4().hex}
        assert client.post("/chat/api/messages", json=body, headers=headers).status_code == 200

    return send


def _platform_person(platforms: Platforms, channel: str, address: str) -> Callable[[str], None]:
    def send(text: str) -> None:
        if channel == "line":
            response = platforms.post_line(line_body(line_text(text, user=address)))
        else:
            response = platforms.post_telegram(telegram_message(text, chat=int(address)))
        assert response.status_code == 200
        _settle(platforms)

    return send


def _person(platforms: Platforms, channel: str, which: int) -> tuple[Callable[[str], None], str]:
    """How a person on ``channel`` writes, and their id there as stored (LINE user id, Telegram chat id, the
    web-chat token's digest: the database never holds the token itself)."""
    if channel == "web":
        send = _web_person(platforms)
        return send, digest(platforms.client.cookies["madoguchi_chat"])
    address = IDS[channel][which]
    return _platform_person(platforms, channel, address), address


# --- the search --------------------------------------------------------------------------------


def _forms(marker: str) -> set[str]:
    """The marker as text, and as JSON writes it with non-ASCII escaped (SQLAlchemy's default for JSON columns)."""
    return {marker, json.dumps(marker)[1:-1]}


def _rendered(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False) + json.dumps(value)
    return str(value)


def traces(engine: Engine, markers: Iterable[str]) -> dict[str, list[str]]:
    """Where each marker is found: ``table.column#row`` for every row of every table, all columns."""
    metadata = MetaData()
    metadata.reflect(engine)
    found: dict[str, list[str]] = defaultdict(list)
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for number, row in enumerate(connection.execute(select(table))):
                for column, value in row._mapping.items():
                    text = _rendered(value)
                    for marker in markers:
                        if any(form in text for form in _forms(marker)):
                            found[marker].append(f"{table.name}.{column}#{number}")
    return dict(found)


def file_traces(database_url: str, markers: Iterable[str]) -> dict[str, list[str]]:
    """Which SQLite files (the database, the inbound journal, their write-ahead logs) hold a marker's bytes."""
    path = Path(database_url.removeprefix("sqlite:///"))
    journal = db.journal_url(database_url)
    assert journal is not None
    found: dict[str, list[str]] = defaultdict(list)
    files = [path, Path(journal.removeprefix("sqlite:///"))]
    assert files[1].exists()  # the webhooks stored there
    for file in (each for one in files for each in (one, one.with_name(one.name + "-wal"))):
        data = file.read_bytes() if file.exists() else b""
        for marker in markers:
            if any(form.encode() in data for form in _forms(marker)):
                found[marker].append(file.name)
    return dict(found)


def _in_the_file_before(platforms: Platforms, database_url: str, markers: list[str]) -> None:
    """On SQLite, what SQLite's own checkpoints do sooner or later: the words reach the database file itself."""
    if database_url.startswith("sqlite"):
        db.scrub(platforms.services.engine)
        assert {marker: ["madoguchi.db"] for marker in markers} == file_traces(database_url, markers)


def _assert_gone(platforms: Platforms, database_url: str, gone: list[str], kept: list[str]) -> None:
    engine, journal = platforms.services.engine, platforms.services.journal
    assert traces(engine, gone) == {}
    assert set(traces(engine, kept)) == set(kept)  # the search does see what is still there
    assert journal is not None and traces(journal, gone) == {}
    if database_url.startswith("sqlite"):
        assert file_traces(database_url, gone) == {}
        assert set(file_traces(database_url, kept)) == set(kept)


@pytest.mark.parametrize("channel", ["web", "line", "telegram"])
def test_forget_me_leaves_no_trace_in_any_table_or_in_the_file(
    platforms: Platforms, database_url: str, channel: str
) -> None:
    coordinator(platforms.services.engine, "tonight", on_call=True)
    other, other_id = _person(platforms, channel, 1)
    for text in _story(*OTHERS):
        other(text)
    send, their_id = _person(platforms, channel, 0)
    for text in _story(PHONE, PLACE, WORD, WHO):
        send(text)
    _settle(platforms)
    markers = [PHONE, PLACE, WORD, WHO, their_id]
    assert set(traces(platforms.services.engine, markers)) == set(markers)  # all of it was stored
    _in_the_file_before(platforms, database_url, markers)

    for text in FORGET:
        send(text)
    _settle(platforms)

    _assert_gone(platforms, database_url, markers, [*OTHERS, other_id])
    with Session(platforms.services.engine) as session:
        kept = session.exec(model_select(Case).where(Case.person_id == None)).all()  # noqa: E711
        assert len(kept) == 1 and kept[0].urgent and kept[0].intents  # the anonymous count stays for reports


def test_the_retention_purge_leaves_no_trace_of_old_words(platforms: Platforms, database_url: str) -> None:
    engine, desk = platforms.services.engine, platforms.services.desk
    coordinator(engine, "tonight", on_call=True)
    send, their_id = _person(platforms, "line", 0)
    for text in _story(PHONE, PLACE, WORD, WHO):
        send(text)
    _settle(platforms)
    with session_scope(engine) as session:
        me = session.exec(model_select(Coordinator)).one()
        case = session.exec(model_select(Case)).one()
        assert case.id is not None
        casework.resolve(session, me, case.id, casework.OUTCOMES[0], utcnow())
    _in_the_file_before(platforms, database_url, [PHONE, PLACE, WORD, WHO])

    later = utcnow() + desk.retention + dt.timedelta(days=1)
    asyncio.run(Purger(engine, desk, clock=lambda: later).run_once())

    _assert_gone(platforms, database_url, [PHONE, PLACE, WORD, WHO], [their_id])  # the person is still known
    with Session(engine) as session:
        case = session.exec(model_select(Case)).one()
        assert case.status == CaseStatus.RESOLVED and case.urgent and case.intents
