"""Inbound messages: store them, run the engine, store what it decided, queue what goes out.

One message is one transaction: the message, the person's new state, the case
and its events, the replies and the pages are committed together, and only then
does the channel acknowledge. A redelivered event (same ``event_key``) changes
nothing. Channels that answer within the same exchange (the web chat, the
terminal) get the replies back and mark them delivered; every other channel's
replies go through the outbox.

Never logs message text.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session

from bot.channels import registry
from bot.channels.base import Arrival
from bot.conversation import Escalate, Reply, respond
from bot.conversation.codec import decode, encode
from bot.desk import effects
from bot.desk.desk import Desk
from bot.desk.effects import Turn
from bot.desk.outgoing import queue_out, record_out
from storage import cases, db, inbound, messages, people
from storage.db import session_scope
from storage.models import Case, Conversation, Direction, Message, Person, row_id

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Handled:
    duplicate: bool
    replies: tuple[Reply, ...] = ()  # what the person is told now: the bot's replies and any notice, in order
    case_id: int | None = None
    paged: bool = False
    forgotten: bool = False  # the person asked to be forgotten: the caller checkpoints the database afterwards


def deliver(engine: Engine, desk: Desk, arrival: Arrival) -> Handled:
    """Handle one arrival in its own transaction; a lost race on a unique key, or a dead connection, is retried once."""
    return deliver_then(engine, desk, arrival, lambda _session, handled: handled)


def deliver_then(engine: Engine, desk: Desk, arrival: Arrival, then: Callable[[Session, Handled], T]) -> T:
    """``deliver``, then ``then`` in the same transaction (the web chat reads its transcript there)."""
    for attempt in (1, 2):
        try:
            with session_scope(engine) as session:
                handled = receive(session=session, desk=desk, arrival=arrival, at=arrival.inbound.at)
                result = then(session, handled)
            if handled.forgotten:
                db.scrub(engine)  # nothing of the deleted rows left in the database file
            return result
        except IntegrityError:
            if attempt == 2:
                raise
        except DBAPIError as error:  # a pooled connection the database had closed: once more, on a fresh one
            if attempt == 2 or not error.connection_invalidated:
                raise
    raise AssertionError("unreachable")


def receive(*, session: Session, desk: Desk, arrival: Arrival, at: dt.datetime) -> Handled:
    arrival = _clean(arrival)
    if arrival.event_key is not None and _seen(session, arrival.event_key, at):
        return Handled(duplicate=True)
    desk.metrics.messages_in.labels(arrival.channel).inc()
    conversation, person = _conversation(session, desk, arrival, at)
    case = earlier_case = cases.current_for(session=session, person_id=row_id(person))
    session.add(
        Message(
            conversation_id=row_id(conversation),
            case_id=case.id if case else None,
            direction=Direction.IN,
            text=arrival.inbound.text,
            created_at=at,
            delivered_at=at,  # it has reached us: shown in the person's own transcript from now on
        )
    )
    outcome = respond(decode(person.state, person.region), arrival.inbound, desk.ctx)
    person.state = encode(outcome.state)
    person.last_seen_at = conversation.last_message_at = at
    if case is not None:
        case.check_due_at = None  # any word from the person answers a pending check; the engine decides what it meant
    turn = Turn(session, desk, person, conversation, case, list(outcome.replies), at, may_page=arrival.may_page)
    effects.carry_out(turn, outcome.effects)
    if turn.forgotten:
        return _send(session, arrival, None, None, turn.replies, at, desk, forgotten=True)
    session.add(person)
    session.add(conversation)
    session.flush()
    case = turn.case
    if case is not None and earlier_case is None:  # opened just now
        messages.attach_loose(session=session, conversation_id=row_id(conversation), case_id=row_id(case))
    urgent = any(isinstance(effect, Escalate) and effect.urgent for effect in outcome.effects)
    return _send(session, arrival, conversation, case, turn.replies, at, desk, turn.paged, urgent=urgent)


def _clean(arrival: Arrival) -> Arrival:
    """NUL characters out: PostgreSQL text cannot hold them, and no person means one."""
    inbound = arrival.inbound
    if "\x00" not in inbound.text and "\x00" not in (inbound.choice or ""):
        return arrival
    text, choice = inbound.text.replace("\x00", ""), inbound.choice.replace("\x00", "") if inbound.choice else None
    return replace(arrival, inbound=replace(inbound, text=text, choice=choice))


def _seen(session: Session, key: str, at: dt.datetime) -> bool:
    # A concurrent twin waits on the key's row lock, then sees the conflict: it is a duplicate.
    return not inbound.first_time(session=session, key=key, at=at)


def _conversation(session: Session, desk: Desk, arrival: Arrival, at: dt.datetime) -> tuple[Conversation, Person]:
    conversation = people.conversation_for(session=session, channel=arrival.channel, address=arrival.address, lock=True)
    household = (
        people.household_by_code(session=session, code=arrival.household_code) if arrival.household_code else None
    )
    if conversation is None:
        region = household.region if household else _known_region(desk, arrival.region) or desk.region
        person = Person(region=region, state={}, household_id=household.id if household else None, created_at=at)
        session.add(person)
        session.flush()
        conversation = Conversation(
            person_id=row_id(person), channel=arrival.channel, address=arrival.address, started_at=at
        )
        session.add(conversation)
        session.flush()
        return conversation, person
    found = session.get(Person, conversation.person_id, with_for_update=True)
    assert found is not None  # conversations are deleted with their person
    person = found
    if household is not None and person.household_id != household.id:
        person.household_id = household.id
    return conversation, person


def _known_region(desk: Desk, region: str | None) -> str | None:
    return region if region and region in desk.ctx.kb.regions else None


def _send(
    session: Session,
    arrival: Arrival,
    conversation: Conversation | None,
    case: Case | None,
    replies: list[Reply],
    at: dt.datetime,
    desk: Desk,
    paged: bool = False,
    *,
    urgent: bool = False,
    forgotten: bool = False,
) -> Handled:
    channel = registry.row(arrival.channel)
    inline = channel.inline
    case_id = case.id if case else None
    ids: list[int | None] = [None] * len(replies)  # None once the person was forgotten: nothing of theirs is kept
    if conversation is not None and replies:
        stored = record_out(session, conversation, case_id, Direction.BOT, replies, at, delivered=inline)
        ids = [row_id(message) for message in stored]
    sent = list(zip(replies, ids, strict=True))
    if inline:
        desk.metrics.messages_out.labels(arrival.channel, "reply").inc(len(sent))
    elif sent:
        window = channel.reply_window
        until = at + window if arrival.reply_token and window is not None else None
        queue_out(
            session,
            arrival.channel,
            arrival.address,
            sent,
            at,
            case_id,
            kind="reply",
            reply_token=arrival.reply_token,
            reply_until=until,
            urgent=urgent,
            forget=forgotten,
        )
    return Handled(duplicate=False, replies=tuple(replies), case_id=case_id, paged=paged, forgotten=forgotten)
