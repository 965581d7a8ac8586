"""What a coordinator does with a case: view, claim, reply, note, reassign, resolve.

Each action checks that the coordinator serves the case's region, writes an
event, and commits nothing itself (the caller owns the transaction). A reply
goes to the person through their own channel via the outbox. Resolving gives
the person a fresh start with the bot (their consent is kept).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence

from sqlmodel import Session

from bot.conversation import Reply
from bot.conversation.codec import decode, encode
from bot.conversation.engine import close, join
from bot.desk import Desk, paging
from bot.desk.labels import PHONE_CLAIM, PROBLEMS, WORDS
from bot.desk.outgoing import queue_out, to_person
from storage import cases, links, people
from storage.models import Case, CaseStatus, Coordinator, Direction, Household, Person, row_id

#: How a case can end, as the hub reports it (seed 000's 実績; ``labels.yaml``).
OUTCOMES = WORDS.outcomes
REPLY_LIMIT = 2000  # characters; the channels split longer texts, but a coordinator's reply this long is a mistake


class CaseworkError(Exception):
    """An action that cannot be done. ``code`` names it (a key of ``PROBLEMS``, safe in a URL); the
    message is its Japanese, shown to the coordinator."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(PROBLEMS[code].format(limit=REPLY_LIMIT))


class NotFound(CaseworkError):
    pass


def get_case(session: Session, coordinator: Coordinator, case_id: int) -> Case:
    """The case, if it exists and the coordinator serves its region (otherwise it does not exist for them)."""
    case = session.get(Case, case_id)
    if case is None or case.region not in coordinator.regions:
        raise NotFound("case_hidden")
    return case


def view(session: Session, coordinator: Coordinator, case_id: int, at: dt.datetime) -> Case:
    """Open the case page: every view is in the case's history."""
    case = get_case(session, coordinator, case_id)
    cases.add_event(session=session, case_id=case_id, kind="viewed", at=at, coordinator_id=coordinator.id)
    return case


def claim(
    session: Session, desk: Desk, coordinator: Coordinator, case_id: int, at: dt.datetime, *, named: bool = True
) -> bool:
    """Claim atomically; the person is told, once, who now reads (by name when ``named``, else by role),
    and the bot stops asking. False when someone else was first."""
    case = get_case(session, coordinator, case_id)
    if case.escalated_at is None:
        case.escalated_at = at  # picked up while the intake was still running
    if not cases.claim(session=session, case_id=case_id, coordinator_id=row_id(coordinator), at=at):
        return False
    session.refresh(case)
    urgency = "urgent" if case.urgent else "normal"
    desk.metrics.time_to_claim.labels(urgency).observe(max(0.0, (at - (case.escalated_at or at)).total_seconds()))
    _join(session, desk, case, coordinator.name if named else None, at)
    return True


def claim_next(session: Session, desk: Desk, coordinator: Coordinator, at: dt.datetime) -> int | None:
    case_id = cases.claim_next(session=session, coordinator_id=row_id(coordinator), regions=coordinator.regions, at=at)
    if case_id is not None:
        case = get_case(session, coordinator, case_id)
        urgency = "urgent" if case.urgent else "normal"
        waited = (at - (case.escalated_at or at)).total_seconds()
        desk.metrics.time_to_claim.labels(urgency).observe(max(0.0, waited))
        _join(session, desk, case, coordinator.name, at)
    return case_id


def reply(session: Session, coordinator: Coordinator, case_id: int, text: str, at: dt.datetime) -> None:
    case = get_case(session, coordinator, case_id)
    text = _plain(text)
    if not text:
        raise CaseworkError("reply_empty")
    if len(text) > REPLY_LIMIT:
        raise CaseworkError("reply_long")
    if case.conversation_id is None:
        raise CaseworkError("forgotten")
    if case.status != CaseStatus.CLAIMED or case.claimed_by != coordinator.id:
        raise CaseworkError("claim_first")
    message = to_person(
        session, case, Reply(text), at, direction=Direction.COORDINATOR, kind="reply", coordinator_id=coordinator.id
    )
    if message is None:
        raise CaseworkError("forgotten")
    cases.add_event(
        session=session, case_id=case_id, kind="replied", at=at, coordinator_id=coordinator.id, message=message.id
    )


def note(session: Session, coordinator: Coordinator, case_id: int, text: str, at: dt.datetime) -> None:
    get_case(session, coordinator, case_id)
    text = _plain(text)
    if not text:
        raise CaseworkError("note_empty")
    cases.add_event(session=session, case_id=case_id, kind="note", at=at, coordinator_id=coordinator.id, text=text)


def reassign(
    session: Session,
    coordinator: Coordinator,
    case_id: int,
    to_id: int,
    at: dt.datetime,
    public_url: str | None = None,
    reason: str = "",
) -> None:
    """Hand the case to another coordinator of the region, who is paged.

    Taking a case a colleague holds needs a reason, kept in the case's history,
    so nobody's case moves without a trace of why.
    """
    case = get_case(session, coordinator, case_id)
    other = session.get(Coordinator, to_id)
    if other is None or not other.active or case.region not in other.regions:
        raise CaseworkError("bad_colleague")
    if case.status == CaseStatus.RESOLVED:
        raise CaseworkError("case_resolved")
    before = case.claimed_by
    reason = reason.strip()
    if before is not None and before != coordinator.id and not reason:
        raise CaseworkError("reason_needed")
    case.status, case.claimed_by, case.next_page_at = CaseStatus.CLAIMED, to_id, None
    case.claimed_at = case.claimed_at or at  # time to claim counts the first pick-up, not the hand-over
    case.escalated_at = case.escalated_at or at
    case.updated_at = at
    session.add(case)
    detail: dict[str, object] = {"src": before, "to": to_id} | ({"reason": reason} if reason else {})
    cases.add_event(session=session, case_id=case_id, kind="reassigned", at=at, coordinator_id=coordinator.id, **detail)
    paging.page_claimer(session=session, case=case, at=at, reason="reassigned", public_url=public_url)


def resolve(
    session: Session, coordinator: Coordinator, case_id: int, outcome: str, at: dt.datetime, closing: str = ""
) -> None:
    """Close the case; ``closing`` (the kind default the page offers, edited or emptied) goes to the person.

    The person's conversation with the bot starts afresh: they can always come back.
    """
    case = get_case(session, coordinator, case_id)
    if outcome not in OUTCOMES:
        raise CaseworkError("no_outcome")
    if case.status == CaseStatus.RESOLVED:
        raise CaseworkError("already_resolved")
    case.status, case.resolved_at, case.outcome, case.next_page_at = CaseStatus.RESOLVED, at, outcome, None
    case.claimed_by = case.claimed_by or coordinator.id
    case.updated_at = at
    session.add(case)
    cases.add_event(
        session=session, case_id=case_id, kind="resolved", at=at, coordinator_id=coordinator.id, outcome=outcome
    )
    closing = _plain(closing)
    if closing and len(closing) <= REPLY_LIMIT:
        by, said = coordinator.id, Reply(closing)
        message = to_person(session, case, said, at, direction=Direction.COORDINATOR, kind="reply", coordinator_id=by)
        if message is not None:
            cases.add_event(session=session, case_id=case_id, kind="closing_sent", at=at, coordinator_id=coordinator.id)
    person = _person(session, case)
    if person is not None:  # a fresh start with the bot, keeping what they agreed to
        person.state = encode(close(decode(person.state, person.region)))
        session.add(person)


def claim_by_phone(session: Session, desk: Desk, channel: str, address: str, case_id: int, at: dt.datetime) -> bool:
    """A coordinator pressed 受ける on a page sent to their phone: claim, and tell the phone how it went.

    False when the address is no coordinator's (nothing is done then).
    """
    person = links.coordinator_linked_at(session=session, channel=channel, address=address)
    person = person or people.coordinator_paged_at(session=session, channel=channel, address=address)
    if person is None:
        return False
    try:
        won = claim(session, desk, person, case_id, at)
        text = (PHONE_CLAIM.won if won else PHONE_CLAIM.taken).format(case=case_id)
    except CaseworkError:
        text = PHONE_CLAIM.not_yours.format(case=case_id)
    if desk.public_url and text:
        text += f"\n{desk.public_url.rstrip('/')}/coordinator/cases/{case_id}"
    queue_out(session, channel, address, [(Reply(text), None)], at, case_id, kind="notice")
    return True


def _plain(text: str) -> str:
    """Form text as stored: browsers send textarea line breaks as CRLF."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def earlier_cases(session: Session, case: Case) -> Sequence[Case]:
    return cases.earlier_of_person(session=session, case=case)


def named_to_person(session: Session, case: Case) -> bool:
    """Whether the person was told a coordinator's name when the case was claimed (not only 「相談員」)."""
    person = _person(session, case)
    return person is not None and bool(decode(person.state, person.region).human)


def _person(session: Session, case: Case) -> Person | None:
    return session.get(Person, case.person_id) if case.person_id is not None else None


def _join(session: Session, desk: Desk, case: Case, name: str | None, at: dt.datetime) -> None:
    """The engine hears that a person has the case (it stops asking); the person is told who reads now."""
    person = _person(session, case)
    if person is None:
        return  # forgotten: nobody to tell
    outcome = join(decode(person.state, person.region), desk.ctx, name)
    person.state = encode(outcome.state)
    session.add(person)
    for reply in outcome.replies:
        to_person(session, case, reply, at, direction=Direction.SYSTEM, kind="notice")


# --- registered households ------------------------------------------------------------------

FLAGS = WORDS.household_flags


def save_household(
    session: Session,
    coordinator: Coordinator,
    *,
    household_id: int | None,
    region: str,
    label: str,
    town: str | None,
    flags: Sequence[str],
    assessment: str,
    at: dt.datetime,
) -> Household:
    if region not in coordinator.regions:
        raise NotFound("household_region")
    label = label.strip()
    if not label:
        raise CaseworkError("household_label")
    if household_id is None:
        household = Household(region=region, code=secrets.token_urlsafe(9), label=label, created_at=at)
    else:
        found = session.get(Household, household_id)
        if found is None or found.region not in coordinator.regions:
            raise NotFound("household_hidden")
        household = found
    household.label, household.town = label, town or None
    household.flags = [flag for flag in flags if flag in FLAGS]
    household.assessment = assessment.strip()
    household.updated_at = at
    session.add(household)
    session.flush()
    return household
