"""Delivery through platform outages, on the real SDKs against the fake APIs, with a clock the test moves.

Nothing sleeps for real: the dispatcher's clock and the fake platform's clock
are one value the test moves to the next moment a row is due, so three minutes
of outage and the retries after it take well under a second.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import itertools
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping

import pytest
from sqlalchemy import event, func
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from bot.channels.base import Arrival, Outgoing, Sender, Stored, Translation
from bot.channels.errors import DeliveryError
from bot.channels.web import WebSender
from bot.cli.commands import app as cli
from bot.conversation import Inbound
from bot.desk import Desk
from bot.desk.inbox import deliver
from bot.runtime.dispatcher import Dispatcher
from bot.runtime.receiver import Receiver
from bot.settings import Settings
from storage.db import make_engine
from storage.models import Case, CaseEvent, Conversation, Direction, Message, Outbox, OutboxStatus
from storage.types import utcnow
from tests.bot.channels.conftest import Platforms
from tests.builders import URGENT_TEXT, coordinator
from tests.fakes.events import line_body, line_text
from tests.fakes.platform import Call, Failure

OUTAGE_500, OUTAGE_429, RETRY_AFTER, MAX_WAIT = 150.0, 30.0, 5, 20


class Clock:
    """The one time the dispatcher and the fake platform both read."""

    def __init__(self) -> None:
        self.start = self.at = utcnow()

    def now(self) -> dt.datetime:
        return self.at

    def seconds(self) -> float:
        return (self.at - self.start).total_seconds()


def _outage(seconds: float) -> Failure | None:
    """150 s of 500s, then 30 s of 429s asking for 5 s, then the platform is up again."""
    if seconds < OUTAGE_500:
        return Failure(500)
    if seconds < OUTAGE_500 + OUTAGE_429:
        return Failure(429, retry_after=RETRY_AFTER)
    return None


def _senders(platforms: Platforms) -> dict[str, Sender]:
    return {**platforms.services.channels, "web": WebSender()}  # coordinators are paged on the web queue page


def _drain(platforms: Platforms, dispatcher: Dispatcher, clock: Clock, until: dt.timedelta) -> None:
    """Dispatch until nothing is pending, moving the clock to the next row that comes due."""
    engine = platforms.services.engine
    for _ in range(5000):
        claimed = platforms.client.portal.call(dispatcher.run_once)  # type: ignore[union-attr]
        if claimed:
            continue
        with Session(engine) as session:
            pending = select(func.min(Outbox.next_attempt_at)).where(
                Outbox.status == OutboxStatus.PENDING, col(Outbox.next_attempt_at) > clock.now()
            )
            due = session.exec(pending).one()
        if due is None or due - clock.start > until:
            return
        clock.at = due
    raise AssertionError("the outbox never settled")


def _arrive(platforms: Platforms, channel: str, address: str, text: str, at: dt.datetime, n: int) -> None:
    token = f"replytoken-{address}-{n}" if channel == "line" else None
    arrival = Arrival(channel, address, Inbound(text, at), f"{channel}:{address}:{n}", reply_token=token)
    deliver(platforms.services.engine, platforms.services.desk, arrival)


def _expected(platforms: Platforms, channel: str, address: str) -> list[str]:
    """Everything the person was to be told, in order: the transcript's messages to them."""
    with Session(platforms.services.engine) as session:
        query = (
            select(Message.text)
            .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
            .where(Conversation.channel == channel, Conversation.address == address, Message.direction != Direction.IN)
            .order_by(col(Message.id))
        )
        return [text or "" for text in session.exec(query).all()]


def _seen_by(platforms: Platforms, channel: str, address: str) -> list[str]:
    """What the person really saw: pushes to them, and replies on the reply tokens of their messages."""
    if channel == "telegram":
        return platforms.telegram.texts(address)
    tokens = f"reply:replytoken-{address}-"
    return [text for to, text in platforms.line.delivered if to == address or to.startswith(tokens)]


def _calls(platforms: Platforms, channel: str) -> list[Call]:
    if channel == "line":
        return platforms.line.script.to("/message/push")
    return platforms.telegram.script.to("/sendMessage")


def _same_send(call: Call) -> str:
    """Calls that are tries of the same send: one LINE retry key, or one Telegram chat and text."""
    return call.headers.get("x-line-retry-key") or f"{call.body.get('chat_id')}:{call.body.get('text')}"


PEOPLE = {
    "line": ["U" + "a1" * 16, "U" + "b2" * 16, "U" + "c3" * 16],
    "telegram": ["7310954321", "7310954322", "7310954323"],
}
SAID = [(URGENT_TEXT, "ひとりです"), ("こんにちは", "グループホームの 体験を してみたい"), ("ありがとう", "はい")]


@pytest.mark.parametrize("channel", ["line", "telegram"])
def test_an_outage_of_500s_then_429s_loses_nothing_and_duplicates_nothing(platforms: Platforms, channel: str) -> None:
    coordinator(platforms.services.engine, "tonight", on_call=True)
    clock = Clock()
    script = (platforms.line if channel == "line" else platforms.telegram).script
    script.clock, script.outage = clock.seconds, _outage
    for person, said in zip(PEOPLE[channel], SAID, strict=True):
        for n, text in enumerate(said):
            _arrive(platforms, channel, person, text, clock.start + dt.timedelta(seconds=n), n)
    # waits capped at 20 s (the default is 10 min), so every row surely meets the 429s too
    desk = Desk.build(platforms.services.desk.ctx, Settings(**{"MADOGUCHI_OUTBOX_MAX_WAIT_SECONDS": str(MAX_WAIT)}))
    dispatcher = Dispatcher(platforms.services.engine, _senders(platforms), desk, clock=clock.now)

    _drain(platforms, dispatcher, clock, until=dt.timedelta(hours=2))

    for person in PEOPLE[channel]:
        expected = _expected(platforms, channel, person)
        assert expected and _seen_by(platforms, channel, person) == expected  # each once, in order
    with Session(platforms.services.engine) as session:
        assert {row.status for row in session.exec(select(Outbox)).all()} == {OutboxStatus.SENT}
        assert session.exec(select(CaseEvent).where(CaseEvent.kind == "delivery_failed")).all() == []
    tries: dict[str, list[Call]] = defaultdict(list)
    for call in _calls(platforms, channel):
        tries[_same_send(call)].append(call)
    for calls in tries.values():
        for before, after in itertools.pairwise(calls):
            if before.answer == 429:
                assert after.at >= before.at + RETRY_AFTER  # never sooner than the platform asked
    assert any(call.answer == 429 for call in _calls(platforms, channel))  # the 429s were met, and waited out
    assert clock.seconds() <= OUTAGE_500 + OUTAGE_429 + MAX_WAIT + RETRY_AFTER  # back within one capped wait


@pytest.mark.parametrize("channel", ["line", "telegram"])
def test_once_the_platform_is_back_nobody_waits_out_a_ten_minute_backoff(platforms: Platforms, channel: str) -> None:
    clock = Clock()
    script = (platforms.line if channel == "line" else platforms.telegram).script
    down: Callable[[float], Failure | None] = lambda seconds: Failure(500) if seconds < 1800 else None  # noqa: E731
    script.clock, script.outage = clock.seconds, down  # half an hour down: every wait has reached the cap
    for person, said in zip(PEOPLE[channel], SAID, strict=True):
        for n, text in enumerate(said):
            _arrive(platforms, channel, person, text, clock.start + dt.timedelta(seconds=n), n)
    dispatcher = Dispatcher(platforms.services.engine, _senders(platforms), platforms.services.desk, clock=clock.now)

    _drain(platforms, dispatcher, clock, until=dt.timedelta(hours=2))

    delivered = [call.at for call in _calls(platforms, channel) if call.answer == 200]
    assert delivered and min(delivered) >= 1800
    assert max(delivered) - min(delivered) < 1  # the first that got through brought all the others with it
    for person in PEOPLE[channel]:
        assert _seen_by(platforms, channel, person) == _expected(platforms, channel, person)


def test_line_retries_carry_one_retry_key_and_a_409_counts_as_delivered(platforms: Platforms) -> None:
    clock = Clock()
    person = PEOPLE["line"][0]
    platforms.line.script.fail(500)  # the reply token's call fails: the retries go by push
    platforms.line.script.failures.append(Failure(500, accepted=True))  # LINE took the push, its answer was lost
    _arrive(platforms, "line", person, "こんにちは", clock.start, 0)
    dispatcher = Dispatcher(platforms.services.engine, _senders(platforms), platforms.services.desk, clock=clock.now)

    _drain(platforms, dispatcher, clock, until=dt.timedelta(hours=1))

    pushes = platforms.line.script.to("/message/push")
    assert [call.answer for call in pushes] == [500, 409]
    assert len({call.headers["x-line-retry-key"] for call in pushes}) == 1
    assert _seen_by(platforms, "line", person) == _expected(platforms, "line", person)  # once, not twice
    with Session(platforms.services.engine) as session:
        assert {row.status for row in session.exec(select(Outbox)).all()} == {OutboxStatus.SENT}


def test_a_line_send_of_several_calls_repeats_nothing_when_a_later_call_fails(platforms: Platforms) -> None:
    person = PEOPLE["line"][0]
    texts = [f"お知らせ その{n}" for n in range(7)]  # two calls of at most five messages
    payload = {
        "messages": [{"text": text, "choices": []} for text in texts],
        "reply_token": "fresh-token",
        "reply_until": (utcnow() + dt.timedelta(seconds=50)).isoformat(),
    }
    counter = itertools.count()
    platforms.line.script.outage = lambda _seconds: Failure(500) if next(counter) == 1 else None  # the 2nd call
    line = platforms.services.channels["line"]

    async def send_twice() -> None:
        with pytest.raises(DeliveryError):
            await line.send(Outgoing(1, "reply", "line", person, payload, attempts=1))
        await line.send(Outgoing(1, "reply", "line", person, payload, attempts=2))

    platforms.client.portal.call(send_twice)  # type: ignore[union-attr]
    assert [text for _, text in platforms.line.delivered] == texts  # each once: the first call was not repeated
    assert platforms.line.script.to("/message/reply") == []


class Stuck:
    """A send that never returns: the worker running it is killed (its task cancelled) mid-send."""

    async def send(self, item: Outgoing) -> None:
        await asyncio.Event().wait()


def test_a_worker_that_dies_mid_send_holds_the_persons_messages_seconds_not_a_minute(platforms: Platforms) -> None:
    clock = Clock()
    person = PEOPLE["line"][0]
    _arrive(platforms, "line", person, "こんにちは", clock.start, 0)
    dying = Dispatcher(platforms.services.engine, {"line": Stuck()}, platforms.services.desk, clock=clock.now)

    async def die() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(dying.run_once(), timeout=0.3)  # the process is gone; its lease stays

    platforms.client.portal.call(die)  # type: ignore[union-attr]
    clock.at = clock.start + dt.timedelta(seconds=25)
    alive = Dispatcher(platforms.services.engine, _senders(platforms), platforms.services.desk, clock=clock.now)
    platforms.client.portal.call(alive.run_once)  # type: ignore[union-attr]
    assert _seen_by(platforms, "line", person) == _expected(platforms, "line", person)


class Deaf:
    """A channel whose worker is killed while it reads an event (translate never returns)."""

    async def translate(self, stored: Stored, received_at: dt.datetime) -> Translation:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def test_a_receiver_that_dies_mid_event_holds_the_persons_message_seconds_not_a_minute(platforms: Platforms) -> None:
    clock = Clock()
    person = PEOPLE["line"][0]
    assert platforms.post_line(line_body(line_text("こんにちは", user=person))).status_code == 200
    engine, desk = platforms.services.engine, platforms.services.desk
    dying = Receiver(engine, {"line": Deaf()}, desk, clock=clock.now)  # type: ignore[dict-item]

    async def die() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(dying.run_once(), timeout=0.3)  # the process is gone; its lease stays

    platforms.client.portal.call(die)  # type: ignore[union-attr]
    clock.at = clock.start + dt.timedelta(seconds=25)
    alive = Receiver(engine, platforms.services.channels, desk, clock=clock.now)
    assert platforms.client.portal.call(alive.run_once) == 1  # type: ignore[union-attr]
    dispatcher = Dispatcher(engine, _senders(platforms), desk, clock=clock.now)
    platforms.client.portal.call(dispatcher.run_once)  # type: ignore[union-attr]
    assert platforms.line.texts() == _expected(platforms, "line", person) != []  # by its reply token


class Slow:
    """A platform that takes ``seconds`` (real time) to accept a message."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.sent: list[int] = []

    async def send(self, item: Outgoing) -> None:
        await asyncio.sleep(self.seconds)
        self.sent.append(item.id)


def test_a_send_longer_than_the_lease_keeps_its_row_and_is_sent_once(platforms: Platforms) -> None:
    settings = Settings(**{"MADOGUCHI_OUTBOX_LEASE_SECONDS": "1"})
    desk = dataclasses.replace(platforms.services.desk, delivery=Desk.schedule_from(settings))
    _arrive(platforms, "line", PEOPLE["line"][0], "こんにちは", utcnow(), 0)
    slow = Slow(1.6)
    first = Dispatcher(platforms.services.engine, {"line": slow}, desk)
    second = Dispatcher(platforms.services.engine, {"line": slow}, desk)

    async def both() -> int:
        running = asyncio.create_task(first.run_once())
        await asyncio.sleep(1.2)  # past the first lease: only its renewal keeps the row
        taken = await second.run_once()
        await running
        return taken

    assert platforms.client.portal.call(both) == 0  # type: ignore[union-attr]
    with Session(platforms.services.engine) as session:
        rows = session.exec(select(Outbox)).all()
    assert sorted(slow.sent) == sorted(row.id for row in rows)  # each row once
    assert {row.status for row in rows} == {OutboxStatus.SENT}


class LocksAfterAccepting:
    """A platform that accepts each message while, for ``seconds``, another program holds the SQLite
    database's write lock: the send has happened, and recording it has to wait."""

    def __init__(self, path: str, seconds: float) -> None:
        self.path, self.seconds = path, seconds
        self.sent: list[int] = []
        self.holds: list[threading.Thread] = []

    async def send(self, item: Outgoing) -> None:
        holder = sqlite3.connect(self.path, timeout=5, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
        release = threading.Timer(self.seconds, lambda: (holder.rollback(), holder.close()))
        release.start()
        self.holds.append(release)
        self.sent.append(item.id)


def test_a_send_the_database_is_too_busy_to_record_is_recorded_later_not_sent_again(
    platforms: Platforms, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("a busy SQLite file: PostgreSQL waits for its locks instead of refusing")
    engine = make_engine(database_url)
    event.listen(engine, "connect", lambda connection, _: connection.execute("PRAGMA busy_timeout=50"))
    settings = Settings(**{"MADOGUCHI_OUTBOX_LEASE_SECONDS": "1"})
    desk = dataclasses.replace(platforms.services.desk, delivery=Desk.schedule_from(settings))
    _arrive(platforms, "line", PEOPLE["line"][0], "こんにちは", utcnow(), 0)
    platform = LocksAfterAccepting(database_url.removeprefix("sqlite:///"), seconds=1.5)
    try:
        first = Dispatcher(engine, {"line": platform}, desk)
        platforms.client.portal.call(first.run_once)  # type: ignore[union-attr]
        for hold in platform.holds:
            hold.join()
        # past the lease: a row whose send went unrecorded would be claimed and sent again here
        later = Dispatcher(engine, {"line": platform}, desk)
        assert platforms.client.portal.call(later.run_once) == 0  # type: ignore[union-attr]
        with Session(engine) as session:
            rows = session.exec(select(Outbox)).all()
    finally:
        engine.dispose()
    assert rows and sorted(platform.sent) == sorted(row.id for row in rows)  # each row once
    assert {row.status for row in rows} == {OutboxStatus.SENT}


def _events(platforms: Platforms, kind: str) -> Mapping[int, list[dict[str, object]]]:
    with Session(platforms.services.engine) as session:
        found: dict[int, list[dict[str, object]]] = defaultdict(list)
        for event in session.exec(select(CaseEvent).where(CaseEvent.kind == kind)).all():
            found[event.case_id].append(event.detail)
        return found


def test_a_reply_lost_for_good_shows_on_its_case_pages_when_urgent_and_outbox_retry_resends(
    platforms: Platforms, database_url: str
) -> None:
    on_call = coordinator(platforms.services.engine, "tonight", on_call=True)
    settings = Settings(**{"MADOGUCHI_OUTBOX_GIVE_UP_HOURS": "1"})
    desk = dataclasses.replace(platforms.services.desk, delivery=Desk.schedule_from(settings))
    clock = Clock()
    asking, urgent = PEOPLE["line"][0], PEOPLE["line"][1]
    _arrive(platforms, "line", asking, "こんにちは", clock.start, 0)  # a greeting: no case of its own
    _arrive(platforms, "line", urgent, URGENT_TEXT, clock.start, 0)
    down: Callable[[float], Failure | None] = lambda _seconds: Failure(500)  # noqa: E731
    platforms.line.script.clock, platforms.line.script.outage = clock.seconds, down
    dispatcher = Dispatcher(platforms.services.engine, _senders(platforms), desk, clock=clock.now)

    _drain(platforms, dispatcher, clock, until=dt.timedelta(hours=3))

    with Session(platforms.services.engine) as session:
        lost = session.exec(select(Outbox).where(Outbox.channel == "line")).all()
        assert lost and {row.status for row in lost} == {OutboxStatus.FAILED}
        assert all(row.case_id is not None for row in lost)  # a case was opened for the greeting
        cases = {case.id: case for case in session.exec(select(Case)).all()}
        assert all(cases[row.case_id].escalated_at is not None for row in lost if row.case_id)  # in the queue
        pages = session.exec(select(Outbox).where(Outbox.kind == "page").order_by(col(Outbox.id))).all()
        undelivered = [page for page in pages if page.payload.get("reason") == "undelivered"]
        assert [(page.address, page.status) for page in undelivered] == [(str(on_call.id), OutboxStatus.SENT)]
        urgent_case = next(case for case in cases.values() if case.urgent)
        assert undelivered[0].case_id == urgent_case.id  # only the reply with the numbers to call pages
    failed = _events(platforms, "delivery_failed")
    assert set(failed) == set(cases) and len(cases) == 2
    assert clock.seconds() >= 3600  # tried for the whole hour the settings allowed

    platforms.line.script.outage = None  # LINE is back
    result = CliRunner().invoke(cli, ["outbox", "retry"], env={"MADOGUCHI_DATABASE_URL": database_url})
    assert result.exit_code == 0 and f"{len(lost)} failed send(s) queued again" in result.output
    clock.at = utcnow()
    _drain(platforms, dispatcher, clock, until=dt.timedelta(hours=4))

    for person in (asking, urgent):
        assert _seen_by(platforms, "line", person) == _expected(platforms, "line", person)
    with Session(platforms.services.engine) as session:
        assert {row.status for row in session.exec(select(Outbox)).all()} == {OutboxStatus.SENT}
    assert sum(len(events) for events in _events(platforms, "delivery_retried").values()) == len(lost)
