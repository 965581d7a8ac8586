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
from dataclasses import asdict, dataclass, replace
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, col, select

from bot import paging, privacy
from bot.conversation import CaseSummary, Escalate, Inbound, OpenCase, RecordConsent, Reply, UpdateCase, respond
from bot.conversation.codec import decode, encode
from bot.conversation.effects import AwaitAnswer, ForgetMe, NoteReceived
from bot.conversation.model import Slot
from bot.conversation.summary import SLOT_LABELS
from bot.conversation.texts import Say
from bot.desk import Desk
from bot.outgoing import queue_out, record_out
from storage import cases, inbound
from storage.db import session_scope
from storage.models import Case, CaseStatus, Conversation, Direction, Household, Message, Person, row_id

log = logging.getLogger(__name__)
T = TypeVar("T")

INLINE_CHANNELS = frozenset({"web", "terminal"})
OTHER_TOWN = "ほかの町"
#: How long after the message we still try LINE's reply token (LINE: "within 1 minute"); later, push.
REPLY_TOKEN_LIFE = dt.timedelta(seconds=50)


@dataclass(frozen=True, slots=True)
class Arrival:
    """One inbound event as a channel hands it in."""

    channel: str
    address: str  # the channel's opaque id for the person
    inbound: Inbound
    event_key: str | None = None  # the channel's idempotency key
    household_code: str | None = None  # a registered household's link, when the person came through one
    reply_token: str | None = None  # LINE: good for one reply call, for about a minute
    region: str | None = None  # a region chosen by the link the person came through (Telegram /start nemuro)


@dataclass(frozen=True, slots=True)
class Handled:
    duplicate: bool
    replies: tuple[Reply, ...] = ()  # what the person is told now: the bot's replies and any notice, in order
    case_id: int | None = None
    paged: bool = False


def deliver(engine: Engine, desk: Desk, arrival: Arrival) -> Handled:
    """Handle one arrival in its own transaction; a lost race on a unique key, or a dead connection, is retried once."""
    return deliver_then(engine, desk, arrival, lambda _session, handled: handled)


def deliver_then(engine: Engine, desk: Desk, arrival: Arrival, then: Callable[[Session, Handled], T]) -> T:
    """``deliver``, then ``then`` in the same transaction (the web chat reads its transcript there)."""
    for attempt in (1, 2):
        try:
            with session_scope(engine) as session:
                return then(session, receive(session=session, desk=desk, arrival=arrival, at=arrival.inbound.at))
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
    case = earlier_case = current_case(session, person)
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
    replies = list(outcome.replies)
    paged = False
    if case is not None:
        case.check_due_at = None  # any word from the person answers a pending check; the engine decides what it meant
    for effect in outcome.effects:
        if isinstance(effect, ForgetMe):
            privacy.forget(session=session, person=person, at=at)
            return _send(session, arrival, None, None, replies, at, desk)
        if isinstance(effect, RecordConsent):
            person.consent, person.consent_at = effect.granted, at
        elif isinstance(effect, AwaitAnswer):
            if case is not None and effect.page_on_silence and not case.urgent:
                case.check_due_at = at + desk.check_silence
        elif isinstance(effect, NoteReceived):
            if case is not None:
                cases.add_event(session=session, case_id=row_id(case), kind="received", at=at, what=effect.what)
        elif isinstance(effect, OpenCase | UpdateCase | Escalate):
            case = _case_for(session, desk, person, conversation, case, effect.summary, at)
            if isinstance(effect, Escalate):
                notice = _escalate(session, desk, case, effect, at)
                if notice is not None:
                    paged = True
                    text = desk.ctx.texts.say(notice, person.region, minutes=desk.deadline_minutes)
                    replies.insert(1, Reply(text))  # right after the number to call, before the questions
    session.add(person)
    session.add(conversation)
    session.flush()
    if case is not None and earlier_case is None:  # opened just now
        _attach(session, conversation, case)
    return _send(session, arrival, conversation, case, replies, at, desk, paged)


def _clean(arrival: Arrival) -> Arrival:
    """NUL characters out: PostgreSQL text cannot hold them, and no person means one."""
    inbound = arrival.inbound
    if "\x00" not in inbound.text and "\x00" not in (inbound.choice or ""):
        return arrival
    text, choice = inbound.text.replace("\x00", ""), inbound.choice.replace("\x00", "") if inbound.choice else None
    return replace(arrival, inbound=replace(inbound, text=text, choice=choice))


def current_case(session: Session, person: Person) -> Case | None:
    """The person's case that is not resolved yet, if any."""
    query = (
        select(Case)
        .where(Case.person_id == person.id, Case.status != CaseStatus.RESOLVED)
        .order_by(col(Case.id).desc())
        .with_for_update()
    )
    return session.exec(query).first()


def _seen(session: Session, key: str, at: dt.datetime) -> bool:
    # A concurrent twin waits on the key's row lock, then sees the conflict: it is a duplicate.
    return not inbound.first_time(session=session, key=key, at=at)


def _conversation(session: Session, desk: Desk, arrival: Arrival, at: dt.datetime) -> tuple[Conversation, Person]:
    conversation = session.exec(
        select(Conversation)
        .where(Conversation.channel == arrival.channel, Conversation.address == arrival.address)
        .with_for_update()
    ).first()
    household = _household(session, arrival.household_code)
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


def _household(session: Session, code: str | None) -> Household | None:
    if not code:
        return None
    return session.exec(select(Household).where(Household.code == code)).first()


def summary_json(summary: CaseSummary) -> dict[str, object]:
    return asdict(summary)


def _case_for(
    session: Session,
    desk: Desk,
    person: Person,
    conversation: Conversation,
    case: Case | None,
    summary: CaseSummary,
    at: dt.datetime,
) -> Case:
    """Open the person's case if needed, and bring it up to date with the summary."""
    if case is None:
        case = Case(
            person_id=person.id,
            conversation_id=conversation.id,
            household_id=person.household_id,
            region=person.region,
            channel=conversation.channel,
            opened_at=at,
        )
        session.add(case)
        session.flush()
        assert case.id is not None
        cases.add_event(session=session, case_id=case.id, kind="opened", at=at, channel=conversation.channel)
    answers = dict(summary.answers)
    case.summary = summary_json(summary)
    case.intents = list(summary.intents)
    case.urgent = case.urgent or summary.urgent
    case.town = _town(answers.get(SLOT_LABELS[Slot.TOWN]), desk.ctx.towns(person.region)) or case.town
    case.reporter = answers.get(SLOT_LABELS[Slot.ROLE], case.reporter)
    case.household_id = case.household_id or person.household_id
    case.rank = cases.rank_for(urgent=case.urgent, household=case.household_id is not None)
    case.updated_at = at
    session.add(case)
    return case


def _town(answer: str | None, towns: tuple[str, ...]) -> str | None:
    """The town as a statistic: one of the region's towns, or 「ほかの町」 for anything typed.

    What the person typed stays in the case summary for the coordinator; the
    column feeds reports and survives 「データを消して」, so it never holds free text.
    """
    if answer is None:
        return None
    return answer if answer in towns else OTHER_TOWN


def _escalate(session: Session, desk: Desk, case: Case, effect: Escalate, at: dt.datetime) -> Say | None:
    """Put the case in the queue; page for urgent news. Returns the notice for the person when paged."""
    assert case.id is not None
    first = case.escalated_at is None
    case.escalated_at = case.escalated_at or at
    cases.add_event(
        session=session, case_id=case.id, kind="escalated", at=at, urgent=effect.urgent, reasons=list(effect.reasons)
    )
    if not effect.urgent:
        return None
    if case.status == CaseStatus.CLAIMED and case.claimed_by is not None:
        paging.page_claimer(
            session=session, case=case, at=at, public_url=desk.public_url
        )  # news for the coordinator already on it
        return None
    if first or (case.next_page_at is None and case.page_level == 0):
        paged = paging.page(
            session=session, case=case, level=0, at=at, deadline=desk.page_deadline, public_url=desk.public_url
        )
        desk.metrics.pages.labels(str(paged.level)).inc()
        return paged.notice
    return None  # already paged and the ladder is running


def _attach(session: Session, conversation: Conversation, case: Case) -> None:
    """Messages of this conversation that came before the case opened belong to it too."""
    loose = session.exec(
        select(Message).where(Message.conversation_id == conversation.id, col(Message.case_id).is_(None))
    ).all()
    for message in loose:
        message.case_id = case.id
        session.add(message)


def _send(
    session: Session,
    arrival: Arrival,
    conversation: Conversation | None,
    case: Case | None,
    replies: list[Reply],
    at: dt.datetime,
    desk: Desk,
    paged: bool = False,
) -> Handled:
    inline = arrival.channel in INLINE_CHANNELS
    case_id = case.id if case else None
    ids: list[int | None] = [None] * len(replies)  # None once the person was forgotten: nothing of theirs is kept
    if conversation is not None and replies:
        stored = record_out(session, conversation, case_id, Direction.BOT, replies, at, delivered=inline)
        ids = [row_id(message) for message in stored]
    sent = list(zip(replies, ids, strict=True))
    if inline:
        desk.metrics.messages_out.labels(arrival.channel, "reply").inc(len(sent))
    elif sent:
        until = at + REPLY_TOKEN_LIFE if arrival.reply_token else None
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
        )
    return Handled(duplicate=False, replies=tuple(replies), case_id=case_id, paged=paged)
