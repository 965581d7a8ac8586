"""Privacy: forgetting a person on request, and purging old message text.

「データを消して」 deletes the person's messages, conversations and state, and
strips the personal fields from their cases (the first message, intake answers,
evidence, notes and replies); what stays is anonymous: intents, town, urgency
and times, for the hub's statistics. Pending sends to them are dropped. The
idempotency keys of their events stay (they hold no content), so a redelivered
event is not mistaken for a new person.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from storage import cases
from storage.models import Case, CaseEvent, CaseStatus, Conversation, Message, Outbox, OutboxStatus, Person

#: What an anonymous case keeps of its summary.
ANONYMOUS_FIELDS = ("region", "intents", "urgent", "consent")


def anonymous(summary: dict[str, object]) -> dict[str, object]:
    return {key: summary[key] for key in ANONYMOUS_FIELDS if key in summary} | {
        "reasons": [],
        "evidence": [],
        "opening": None,
        "answers": [],
        "skipped": [],
    }


def forget(*, session: Session, person: Person, at: dt.datetime) -> None:
    session.flush()
    conversation_ids = list(session.exec(select(Conversation.id).where(Conversation.person_id == person.id)).all())
    message_ids = list(session.exec(select(Message.id).where(col(Message.conversation_id).in_(conversation_ids))).all())
    session.execute(
        delete(Outbox).where(col(Outbox.message_id).in_(message_ids), col(Outbox.status) == OutboxStatus.PENDING)
    )
    session.execute(
        update(Outbox)
        .where(col(Outbox.message_id).in_(message_ids))
        .values(message_id=None, payload={}, dedupe_key=None)
    )
    for case in session.exec(select(Case).where(Case.person_id == person.id)).all():
        assert case.id is not None
        case.summary = anonymous(case.summary)
        case.person_id = None
        case.conversation_id = None
        if case.status != CaseStatus.RESOLVED:
            case.status, case.resolved_at, case.outcome = CaseStatus.RESOLVED, at, "本人の希望で記録を削除"
            case.next_page_at = None
        session.add(case)
        session.execute(update(CaseEvent).where(col(CaseEvent.case_id) == case.id).values(detail={}))
        cases.add_event(session=session, case_id=case.id, kind="forgotten", at=at)
    session.execute(delete(Message).where(col(Message.id).in_(message_ids)))
    session.execute(delete(Conversation).where(col(Conversation.id).in_(conversation_ids)))
    session.flush()
    session.delete(person)


def purge_text(*, session: Session, before: dt.datetime) -> int:
    """Blank message text older than ``before`` (the retention setting); returns how many were blanked."""
    old = list(
        session.exec(select(Message.id).where(col(Message.created_at) < before, col(Message.text).is_not(None))).all()
    )
    if old:
        session.execute(update(Message).where(col(Message.id).in_(old)).values(text=None, choices=[]))
    resolved = session.exec(
        select(Case).where(Case.status == CaseStatus.RESOLVED, col(Case.resolved_at) < before)
    ).all()
    for case in resolved:
        if case.summary.get("opening") or case.summary.get("answers"):
            case.summary = anonymous(case.summary)
            session.add(case)
    return len(old)
