"""A message that could not be delivered for good: shown on its case, and paged when it carried the numbers to call.

The dispatcher gives up on a send only after a permanent error (the person
blocked the bot, a bad request) or after the retry schedule ran out (hours of
outage). Either way a human must learn of it: the person's case gets a
``delivery_failed`` event and enters the queue (a case is opened if the message
belonged to none, e.g. an answer to a first question), and when the lost message
came from an urgent turn (``Outbox.urgent``) the coordinator is paged, because the
person may not have the number to call. A failed page to a coordinator is
shown on its case too, but pages nobody (the ladder keeps going on its own).
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from bot.desk import paging
from bot.desk.desk import Desk
from storage import cases, outbox, people
from storage.models import Case, Outbox, Person, row_id

PERSON_KINDS = frozenset({"reply", "notice"})  # sends to the person; pages go to coordinators


def report(session: Session, desk: Desk, row: Outbox, error: str, at: dt.datetime) -> Case | None:
    """Show the lost send on its case (opening one if needed); page when it was urgent. None: nobody to show it to."""
    case = _case_of(session, row, at)
    if case is None:
        return None
    if row.case_id is None:
        row.case_id = case.id  # the case page lists its sends
        session.add(row)
    cases.add_event(
        session=session,
        case_id=row_id(case),
        kind="delivery_failed",
        at=at,
        outbox=row.id,
        error=error,
        urgent=row.urgent,
        what=row.kind,
    )
    if row.kind not in PERSON_KINDS:
        return case
    case.escalated_at = case.escalated_at or at  # in the queue, so a coordinator sees it
    case.updated_at = at
    session.add(case)
    if row.urgent:
        paging.page_undelivered(session=session, case=case, stamp=row.created_at, at=at, public_url=desk.public_url)
        desk.metrics.pages.labels("-1").inc()
    return case


def retry(session: Session, at: dt.datetime, case_id: int | None = None) -> int:
    """Put every failed send (of one case, if given) back in the queue, due now; noted on each case. Returns how many.

    The attempts keep counting, so LINE gets the same retry key and delivers a
    row it had accepted once at most.
    """
    rows = outbox.requeue_failed(session=session, at=at, case_id=case_id)
    for row in rows:
        if row.case_id is not None:
            cases.add_event(session=session, case_id=row.case_id, kind="delivery_retried", at=at, outbox=row.id)
    return len(rows)


def _case_of(session: Session, row: Outbox, at: dt.datetime) -> Case | None:
    """The row's case, else the person's open case, else a new one (None when the person was forgotten)."""
    if row.case_id is not None:
        return session.get(Case, row.case_id)
    if row.kind not in PERSON_KINDS:
        return None
    conversation = people.conversation_for(session=session, channel=row.channel, address=row.address)
    if conversation is None:
        return None
    person = session.get(Person, conversation.person_id)
    if person is None:
        return None
    case = cases.current_for(session=session, person_id=row_id(person))
    if case is not None:
        return case
    return cases.open_new(session=session, person=person, conversation=conversation, at=at)
