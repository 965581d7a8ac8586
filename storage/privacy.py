"""Privacy: forgetting a person on request, and purging old text by the retention setting.

「データを消して」 removes every copy of the person's words and identifiers:
their messages, conversations (the channel's id for them: LINE user id,
Telegram chat id, web-chat token) and state; the raw platform events they sent
(bodies blanked, sender id gone); the outbox rows to them (pending ones
deleted, the rest without address or text) and the pages about their cases
(which quote the first message: only the anonymous facts stay); and the free
text on their cases (summary, who is writing, event details). What stays is
anonymous: intents, town (a fixed list), urgency and times, for the hub's
statistics. The idempotency keys of their events stay (they hold no content;
web-chat keys, which contain the token, are hashed), so a redelivered event is
not mistaken for a new person. On SQLite the caller then runs ``db.scrub`` so
no old copy stays in the file either.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, false, or_, update
from sqlmodel import Session, col, select

from storage import cases
from storage.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Conversation,
    InboundEvent,
    InboundStatus,
    Message,
    Outbox,
    OutboxStatus,
    Person,
    SeenEvent,
)

#: What an anonymous case keeps of its summary.
ANONYMOUS_FIELDS = ("region", "intents", "urgent", "consent")
#: What a page keeps once the case it quotes was forgotten or purged: facts for the counts, no text.
PAGE_FACTS = ("case_id", "level", "urgent", "town", "region", "reason")


def anonymous(summary: dict[str, object]) -> dict[str, object]:
    return {key: summary[key] for key in ANONYMOUS_FIELDS if key in summary} | {
        "reasons": [],
        "evidence": [],
        "opening": None,
        "answers": [],
        "skipped": [],
    }


def page_facts(payload: dict[str, Any]) -> dict[str, Any]:
    return {key: payload[key] for key in PAGE_FACTS if key in payload}


def forget(*, session: Session, person: Person, at: dt.datetime) -> None:
    """Remove the person and every copy of their words and identifiers (see the module's docstring)."""
    session.flush()
    conversations = list(session.exec(select(Conversation).where(Conversation.person_id == person.id)).all())
    addresses = [(conversation.channel, conversation.address) for conversation in conversations]
    conversation_ids = [conversation.id for conversation in conversations]
    message_ids = list(session.exec(select(Message.id).where(col(Message.conversation_id).in_(conversation_ids))).all())
    their_cases = list(session.exec(select(Case).where(Case.person_id == person.id)).all())
    case_ids = [case.id for case in their_cases]
    _forget_sends(session, addresses, [i for i in message_ids if i is not None], [i for i in case_ids if i is not None])
    _forget_events(session, addresses, at)
    for case in their_cases:
        _forget_case(session, case, at)
    session.execute(delete(Message).where(col(Message.id).in_(message_ids)))
    session.execute(delete(Conversation).where(col(Conversation.id).in_(conversation_ids)))
    session.flush()
    session.delete(person)


def _to_any(addresses: Sequence[tuple[str, str]], model: type[Outbox] | type[InboundEvent]) -> ColumnElement[bool]:
    """Rows to or from one of these (channel, address) pairs."""
    pairs = [and_(col(model.channel) == channel, col(model.address) == address) for channel, address in addresses]
    return or_(false(), *pairs)


def _forget_sends(
    session: Session, addresses: Sequence[tuple[str, str]], message_ids: list[int], case_ids: list[int]
) -> None:
    """Pending sends to the person or about their cases are dropped; sent ones keep no address and no text."""
    to_person = or_(_to_any(addresses, Outbox), col(Outbox.message_id).in_(message_ids))
    about_case = col(Outbox.case_id).in_(case_ids)
    session.execute(delete(Outbox).where(or_(to_person, about_case), col(Outbox.status) == OutboxStatus.PENDING))
    session.execute(update(Outbox).where(to_person).values(address="", payload={}, message_id=None, dedupe_key=None))
    for row in session.exec(select(Outbox).where(about_case, Outbox.kind == "page")).all():
        row.payload = page_facts(row.payload)  # the page quoted the first message
        session.add(row)


def _forget_events(session: Session, addresses: Sequence[tuple[str, str]], at: dt.datetime) -> None:
    """The raw events the person sent (up to this one) keep their key and status, nothing else."""
    done_or_earlier = or_(col(InboundEvent.status) != InboundStatus.PENDING, col(InboundEvent.received_at) <= at)
    session.execute(
        update(InboundEvent)
        .where(_to_any(addresses, InboundEvent), done_or_earlier)
        .values(body={}, address="", error=None)
    )
    for channel, address in addresses:
        if channel == "web":  # the web chat's keys carry the chat token
            _hash_keys(session, f"web:{address}:")


def _hash_keys(session: Session, prefix: str) -> None:
    keys = session.exec(select(SeenEvent).where(col(SeenEvent.key).startswith(prefix, autoescape=True))).all()
    for seen in keys:
        hashed = "web:forgotten:" + hashlib.sha256(seen.key.encode()).hexdigest()
        session.execute(update(SeenEvent).where(col(SeenEvent.key) == seen.key).values(key=hashed))


def _forget_case(session: Session, case: Case, at: dt.datetime) -> None:
    """The case stays for the counts, anonymous and closed."""
    assert case.id is not None
    case.summary = anonymous(case.summary)
    case.reporter = None  # typed by the person as often as chosen from the buttons
    case.person_id = None
    case.conversation_id = None
    if case.status != CaseStatus.RESOLVED:
        case.status, case.resolved_at, case.outcome = CaseStatus.RESOLVED, at, "本人の希望で記録を削除"
        case.next_page_at = None
    session.add(case)
    session.execute(update(CaseEvent).where(col(CaseEvent.case_id) == case.id).values(detail={}))
    cases.add_event(session=session, case_id=case.id, kind="forgotten", at=at)


def purge_text(*, session: Session, before: dt.datetime) -> int:
    """Blank text older than ``before`` (the retention setting); returns how many messages were blanked.

    Message text, the raw platform events' bodies, the outbox's payloads (pages
    keep their anonymous facts), the conversation state of people silent since
    then, and the free text of cases resolved before then.
    """
    old = list(
        session.exec(select(Message.id).where(col(Message.created_at) < before, col(Message.text).is_not(None))).all()
    )
    if old:
        session.execute(update(Message).where(col(Message.id).in_(old)).values(text=None, choices=[]))
    session.execute(
        update(InboundEvent)
        .where(col(InboundEvent.received_at) < before, col(InboundEvent.status) != InboundStatus.PENDING)
        .values(body={}, error=None)
    )
    _purge_sends(session, before)
    # the engine's memory of someone silent since then (it holds their first message and answers): they start afresh
    session.execute(update(Person).where(col(Person.last_seen_at) < before).values(state={}))
    resolved = session.exec(
        select(Case).where(Case.status == CaseStatus.RESOLVED, col(Case.resolved_at) < before)
    ).all()
    for case in resolved:
        if case.summary.get("opening") or case.summary.get("answers") or case.reporter:
            case.summary = anonymous(case.summary)
            case.reporter = None
            session.add(case)
            session.execute(update(CaseEvent).where(col(CaseEvent.case_id) == case.id).values(detail={}))
    return len(old)


def _purge_sends(session: Session, before: dt.datetime) -> None:
    """Sent or failed rows older than ``before`` keep no text (pages keep their facts)."""
    old = session.exec(
        select(Outbox).where(col(Outbox.created_at) < before, col(Outbox.status) != OutboxStatus.PENDING)
    ).all()
    for row in old:
        if row.payload and row.payload != page_facts(row.payload):
            row.payload = page_facts(row.payload)
            session.add(row)
