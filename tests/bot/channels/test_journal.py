"""The inbound journal (SQLite): webhook events wait in a file of their own until the receiver adopts them.

What must hold, whatever the timing: the 200 means the event is in a file
(persisted before acknowledging); every event becomes exactly one turn, in the
order each person wrote, even with two receivers adopting at once, a crash
between adopting and dropping, or a redelivery after the event left the
journal; and nothing of an adopted event stays in the journal's file once the
person is forgotten (the deletion tests search it too: ``test_deletion``).
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from bot.runtime.receiver import Receiver
from storage import db, inbound
from storage.db import reader, session_scope
from storage.models import Conversation, Direction, InboundEvent, InboundStatus, Message
from tests.bot.channels.conftest import Platforms
from tests.fakes.events import line_body, line_text, telegram_message

PEOPLE = ("U" + "a1" * 16, "U" + "b2" * 16, "U" + "c3" * 16)


def _journal_rows(platforms: Platforms) -> list[InboundEvent]:
    journal = platforms.services.journal
    assert journal is not None
    with Session(journal) as session:
        return list(session.exec(select(InboundEvent)).all())


def _database_rows(platforms: Platforms) -> list[InboundEvent]:
    with Session(platforms.services.engine) as session:
        return list(session.exec(select(InboundEvent).order_by(col(InboundEvent.id))).all())


def _said(platforms: Platforms, address: str) -> list[str]:
    """What one LINE person wrote, as stored, in the order stored."""
    with Session(platforms.services.engine) as session:
        rows = session.exec(
            select(Message.text)
            .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
            .where(Conversation.address == address, Message.direction == Direction.IN)
            .order_by(col(Message.id))
        ).all()
    return [text or "" for text in rows]


def _sqlite_only(database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL has no journal: the webhooks store into the database itself")


def test_a_webhook_stores_into_the_journal_and_the_receiver_moves_it_over(
    platforms: Platforms, database_url: str
) -> None:
    _sqlite_only(database_url)
    journal_file = Path((db.journal_url(database_url) or "").removeprefix("sqlite:///"))
    assert platforms.post_line(line_body(line_text("こんにちは zq9journal", user=PEOPLE[0]))).json()["stored"] == 1
    assert [row.status for row in _journal_rows(platforms)] == [InboundStatus.PENDING]
    assert _database_rows(platforms) == []  # the 200 took no lock of the database's
    assert any(b"zq9journal" in f.read_bytes() for f in (journal_file, Path(f"{journal_file}-wal")) if f.exists())

    platforms.settle()

    assert _journal_rows(platforms) == []
    assert [row.status for row in _database_rows(platforms)] == [InboundStatus.DONE]
    assert _said(platforms, PEOPLE[0]) == ["こんにちは zq9journal"]
    assert platforms.line.texts() != []  # answered (by its reply token)


def test_the_200_does_not_wait_for_the_write_lock_a_turn_holds(platforms: Platforms, database_url: str) -> None:
    """While another connection holds the database's write lock (as the work does during a turn), a
    webhook, a redelivery of an adopted event included, is stored and answered without waiting for it."""
    _sqlite_only(database_url)
    adopted = line_text("さきに 届いた", user=PEOPLE[1])
    platforms.post_line(line_body(adopted))
    platforms.settle()
    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # the lock a turn holds; released only after both answers
        fresh = platforms.post_line(line_body(line_text("いま 届いた", user=PEOPLE[0])))
        again = platforms.post_line(line_body(adopted))
        assert holder.in_transaction
    finally:
        holder.rollback()
        holder.close()
    assert (fresh.status_code, fresh.json()["stored"]) == (200, 1)
    assert (again.status_code, again.json()["stored"]) == (200, 0)  # known to the database: a redelivery


def test_two_receivers_adopting_at_once_make_one_turn_per_event_in_each_persons_order(platforms: Platforms) -> None:
    sent: dict[str, list[str]] = {person: [] for person in PEOPLE}
    for number in range(4):
        for person in PEOPLE:
            text = f"{number}番目です"
            sent[person].append(text)
            assert platforms.post_line(line_body(line_text(text, user=person))).status_code == 200
    services = platforms.services
    first, second = (
        Receiver(services.engine, services.channels, services.desk, journal=services.journal) for _ in range(2)
    )

    async def both() -> None:
        for _ in range(len(sent[PEOPLE[0]]) + 2):  # one of a person's events per round
            await asyncio.gather(first.run_once(), second.run_once())

    platforms.client.portal.call(both)  # type: ignore[union-attr]

    rows = _database_rows(platforms)
    assert len(rows) == 12 and {row.status for row in rows} == {InboundStatus.DONE}
    assert len({row.key for row in rows}) == 12
    for person in PEOPLE:
        assert _said(platforms, person) == sent[person]
    if services.journal is not services.engine:
        assert _journal_rows(platforms) == []


def test_a_crash_between_adopting_and_dropping_changes_nothing(platforms: Platforms, database_url: str) -> None:
    _sqlite_only(database_url)
    services = platforms.services
    assert services.journal is not None
    assert platforms.post_line(line_body(line_text("ひとつめ", user=PEOPLE[1]))).status_code == 200
    with session_scope(reader(services.journal)) as session:
        events = inbound.waiting(session=session)
    with session_scope(services.engine) as session:
        assert inbound.adopt(session=session, events=events) == 1  # ... and the process dies before the drop
    assert len(_journal_rows(platforms)) == 1

    platforms.settle()

    assert _journal_rows(platforms) == []
    assert len(_database_rows(platforms)) == 1
    assert _said(platforms, PEOPLE[1]) == ["ひとつめ"]


def test_a_redelivery_after_the_event_left_the_journal_is_dropped(platforms: Platforms) -> None:
    event = line_text("もう一度とどく", user=PEOPLE[2])
    update = telegram_message("テレグラムでも", chat=515151)
    assert platforms.post_line(line_body(event)).status_code == 200
    assert platforms.post_telegram(update).status_code == 200
    platforms.settle()
    replies = list(platforms.line.delivered), list(platforms.telegram.delivered)

    again = dict(event, deliveryContext={"isRedelivery": True})
    assert platforms.post_line(line_body(again)).status_code == 200
    assert platforms.post_telegram(update).status_code == 200
    platforms.settle()

    assert _said(platforms, PEOPLE[2]) == ["もう一度とどく"]
    assert len(_database_rows(platforms)) == 2
    assert (list(platforms.line.delivered), list(platforms.telegram.delivered)) == replies
    if platforms.services.journal is not platforms.services.engine:
        assert _journal_rows(platforms) == []
