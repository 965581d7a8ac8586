"""The case queue: order, atomic claims, re-paging, and each case's event history.

Claims are a conditional UPDATE (``... WHERE status = 'open' AND claimed_by IS
NULL``) whose row count says who won, as healthchecks' ``sendalerts`` does: on
PostgreSQL the row lock makes the second claimer wait and then match nothing; on
SQLite ``BEGIN IMMEDIATE`` queues writers. ``claim_next`` picks candidates with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so twenty claimers take twenty
different cases instead of queueing behind one. Functions take ``*, session``
and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import CursorResult, func, update
from sqlmodel import Session, col, select

from storage.models import Case, CaseEvent, CaseStatus, Conversation, Message, Outbox, OutboxStatus, Person

URGENT_HOUSEHOLD, URGENT, NORMAL = 0, 1, 2


def rank_for(*, urgent: bool, household: bool) -> int:
    """Queue order: urgent cases first, and among them registered households' first."""
    if urgent:
        return URGENT_HOUSEHOLD if household else URGENT
    return NORMAL


def add_event(
    *, session: Session, case_id: int, kind: str, at: dt.datetime, coordinator_id: int | None = None, **detail: Any
) -> CaseEvent:
    event = CaseEvent(case_id=case_id, kind=kind, coordinator_id=coordinator_id, detail=detail, at=at)
    session.add(event)
    return event


def waiting(*, session: Session, regions: Iterable[str]) -> Sequence[Case]:
    """The queue: escalated, unclaimed cases of these regions, most urgent first, then longest waiting."""
    query = (
        select(Case)
        .where(Case.status == CaseStatus.OPEN, col(Case.escalated_at).is_not(None), col(Case.region).in_(list(regions)))
        .order_by(col(Case.rank), col(Case.escalated_at), col(Case.id))
    )
    return session.exec(query).all()


def claim(*, session: Session, case_id: int, coordinator_id: int, at: dt.datetime) -> bool:
    """Claim one case; True for exactly one of any number of concurrent claimers."""
    result = session.execute(
        update(Case)
        .where(col(Case.id) == case_id, col(Case.status) == CaseStatus.OPEN, col(Case.claimed_by).is_(None))
        .values(status=CaseStatus.CLAIMED, claimed_by=coordinator_id, claimed_at=at, next_page_at=None, updated_at=at)
    )
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        return False
    add_event(session=session, case_id=case_id, kind="claimed", at=at, coordinator_id=coordinator_id)
    return True


def claim_next(*, session: Session, coordinator_id: int, regions: Iterable[str], at: dt.datetime) -> int | None:
    """Claim the case at the head of the queue; another claimer skips it and takes the next one."""
    regions = list(regions)
    while True:
        query = (
            select(Case.id)
            .where(Case.status == CaseStatus.OPEN, col(Case.escalated_at).is_not(None), col(Case.region).in_(regions))
            .order_by(col(Case.rank), col(Case.escalated_at), col(Case.id))
            .limit(1)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite serialises writers instead
        )
        case_id = session.exec(query).first()
        if case_id is None:
            return None
        if claim(session=session, case_id=case_id, coordinator_id=coordinator_id, at=at):
            return case_id


def _open_and_due(session: Session, deadline: Any, at: dt.datetime, limit: int) -> Sequence[Case]:
    """Open cases whose ``deadline`` column has passed, oldest first, locked for this worker only."""
    query = (
        select(Case)
        .where(Case.status == CaseStatus.OPEN, col(deadline).is_not(None), col(deadline) <= at)
        .order_by(col(deadline))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return session.exec(query).all()


def due_for_repage(*, session: Session, at: dt.datetime, limit: int = 20) -> Sequence[Case]:
    """Urgent cases nobody claimed by their deadline."""
    return _open_and_due(session, Case.next_page_at, at, limit)


def advance_page(*, session: Session, case_id: int, level: int, at: dt.datetime, next_at: dt.datetime | None) -> bool:
    """Move a case from page level ``level`` to the next; False when another worker (or a claim) got there first."""
    result = session.execute(
        update(Case)
        .where(col(Case.id) == case_id, col(Case.page_level) == level, col(Case.status) == CaseStatus.OPEN)
        .values(page_level=level + 1, next_page_at=next_at, updated_at=at)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


def events(*, session: Session, case_id: int) -> Sequence[CaseEvent]:
    query = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.at), col(CaseEvent.id))
    return session.exec(query).all()


def unanswered_checks(*, session: Session, at: dt.datetime, limit: int = 20) -> Sequence[Case]:
    """Open cases whose check question, asked after a risk cue, got no answer by its deadline."""
    return _open_and_due(session, Case.check_due_at, at, limit)


def stale_intakes(*, session: Session, before: dt.datetime, limit: int = 20) -> Sequence[Case]:
    """Cases whose intake stopped (no word since ``before``) and never reached the queue."""
    query = (
        select(Case)
        .where(Case.status == CaseStatus.OPEN, col(Case.escalated_at).is_(None), col(Case.updated_at) < before)
        .order_by(col(Case.updated_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return session.exec(query).all()


def current_for(*, session: Session, person_id: int) -> Case | None:
    """The person's case that is not resolved yet, if any (row-locked until the transaction ends)."""
    query = (
        select(Case)
        .where(Case.person_id == person_id, Case.status != CaseStatus.RESOLVED)
        .order_by(col(Case.id).desc())
        .with_for_update()
    )
    return session.exec(query).first()


def open_new(*, session: Session, person: Person, conversation: Conversation, at: dt.datetime) -> Case:
    """A new case for the person on this conversation, with its ``opened`` event."""
    case = Case(
        person_id=person.id,
        conversation_id=conversation.id,
        household_id=person.household_id,
        region=person.region,
        channel=conversation.channel,
        opened_at=at,
        updated_at=at,
    )
    session.add(case)
    session.flush()
    assert case.id is not None
    add_event(session=session, case_id=case.id, kind="opened", at=at, channel=conversation.channel)
    return case


def earlier_of_person(*, session: Session, case: Case) -> Sequence[Case]:
    """The same person's other cases, newest first."""
    if case.person_id is None:
        return ()
    query = select(Case).where(Case.person_id == case.person_id, Case.id != case.id).order_by(col(Case.id).desc())
    return session.exec(query).all()


def queue_depth(*, session: Session) -> dict[str, int]:
    """Cases waiting for a coordinator: ``{"urgent": n, "normal": m}``."""
    rows = session.exec(
        select(Case.urgent, func.count())
        .where(Case.status == CaseStatus.OPEN, col(Case.escalated_at).is_not(None))
        .group_by(col(Case.urgent))
    ).all()
    depth = {"urgent": 0, "normal": 0}
    for urgent, count in rows:
        depth["urgent" if urgent else "normal"] = int(count)
    return depth


def claimed_by(*, session: Session, coordinator_id: int) -> Sequence[Case]:
    """The cases this coordinator holds, longest held first."""
    query = select(Case).where(Case.status == CaseStatus.CLAIMED, Case.claimed_by == coordinator_id)
    return session.exec(query.order_by(col(Case.claimed_at))).all()


def opened_between(*, session: Session, regions: Sequence[str], start: dt.datetime, end: dt.datetime) -> Sequence[Case]:
    """Cases of these regions opened in [start, end), oldest first (the reports)."""
    if not regions:
        return []
    query = select(Case).where(
        col(Case.region).in_(list(regions)), col(Case.opened_at) >= start, col(Case.opened_at) < end
    )
    return session.exec(query.order_by(col(Case.opened_at), col(Case.id))).all()


def changes(*, session: Session) -> tuple[int, int, int]:
    """What the live pages watch: the newest case event, the newest message, and how many sends went out."""
    return (
        session.exec(select(func.max(CaseEvent.id))).one() or 0,
        session.exec(select(func.max(Message.id))).one() or 0,
        session.exec(select(func.count()).where(Outbox.status == OutboxStatus.SENT)).one() or 0,
    )
