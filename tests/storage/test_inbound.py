"""Stored platform events on SQLite and PostgreSQL: stored once, handed out in order per sender, retried."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine
from sqlmodel import Session, select

from storage import inbound
from storage.db import session_scope
from storage.models import InboundEvent, InboundStatus, row_id
from tests.builders import NIGHT


def _store(engine: Engine, key: str, address: str = "U1") -> bool:
    with session_scope(engine) as session:
        return inbound.store(session=session, channel="line", key=key, address=address, body={"k": key}, at=NIGHT)


def _claim(engine: Engine, at: dt.datetime = NIGHT) -> list[str]:
    with session_scope(engine) as session:
        return [event.key for event in inbound.claim(session=session, at=at)]


def _done(engine: Engine, key: str) -> None:
    with session_scope(engine) as session:
        event = session.exec(select(InboundEvent).where(InboundEvent.key == key)).one()
        inbound.mark_done(session=session, event_id=row_id(event), at=NIGHT)


def test_a_redelivered_key_stores_nothing(engine: Engine) -> None:
    assert _store(engine, "line:a")
    assert not _store(engine, "line:a")
    with Session(engine) as session:
        assert len(session.exec(select(InboundEvent)).all()) == 1


def test_one_senders_events_come_one_at_a_time_in_order_and_others_run_alongside(engine: Engine) -> None:
    for key, address in [("line:1", "U1"), ("line:2", "U1"), ("line:3", "U2"), ("line:4", "U1")]:
        _store(engine, key, address)
    assert _claim(engine) == ["line:1", "line:3"]
    assert _claim(engine) == []  # line:2 waits for line:1, which is leased
    _done(engine, "line:1")
    assert _claim(engine) == ["line:2"]
    _done(engine, "line:2")
    assert _claim(engine) == ["line:4"]


def test_a_failing_event_is_retried_later_then_given_up_and_the_next_one_goes_on(engine: Engine) -> None:
    _store(engine, "line:bad")
    _store(engine, "line:next")
    at = NIGHT
    for attempt in range(1, inbound.MAX_ATTEMPTS + 1):
        with session_scope(engine) as session:
            (event,) = inbound.claim(session=session, at=at)
            assert event.key == "line:bad" and event.attempts == attempt
            again = inbound.mark_error(session=session, event=event, error="KeyError", at=at)
        assert again == (attempt < inbound.MAX_ATTEMPTS)
        if again:
            assert _claim(engine, at) == []  # not before its backoff
        at += dt.timedelta(minutes=5)
    with Session(engine) as session:
        bad = session.exec(select(InboundEvent).where(InboundEvent.key == "line:bad")).one()
        assert bad.status == InboundStatus.FAILED and bad.error == "KeyError"
    assert _claim(engine, at) == ["line:next"]
