"""The one interpreter of the engine's effects: each effect type has one handler here, and nothing else acts on them.

The engine (``bot.conversation``) decides; this module does, inside the
transaction ``bot.desk.inbox`` opened for the message: opening and updating
the case, escalating and paging, recording consent, noting what the bot cannot
read, forgetting the person. Effects are carried out in the engine's order;
after ``ForgetMe`` there is nobody left to act on, so the rest are dropped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from sqlmodel import Session

from bot.conversation import CaseSummary, Escalate, OpenCase, RecordConsent, Reply, UpdateCase
from bot.conversation.answers import UNKNOWN
from bot.conversation.effects import AskConsent, AwaitAnswer, Effect, ForgetMe, NoteReceived
from bot.conversation.model import Slot
from bot.conversation.summary import SLOT_LABELS
from bot.conversation.texts import Say
from bot.desk import paging
from bot.desk.desk import Desk
from storage import cases, privacy
from storage.models import Case, CaseStatus, Conversation, Person, row_id

OTHER_TOWN = "ほかの町"


@dataclass
class Turn:
    """One message's turn as the effects see it and change it: the person, their case and what they are told."""

    session: Session
    desk: Desk
    person: Person
    conversation: Conversation
    case: Case | None
    replies: list[Reply]
    at: dt.datetime
    paged: bool = False
    forgotten: bool = False
    may_page: Callable[[], bool] | None = None  # the channel's paging budget (``Arrival.may_page``)


def carry_out(turn: Turn, effects: Iterable[Effect]) -> None:
    """Act on ``effects`` in order; stop once the person is forgotten."""
    for effect in effects:
        HANDLERS[type(effect)](turn, effect)
        if turn.forgotten:
            return


def _forget(turn: Turn, effect: ForgetMe) -> None:
    privacy.forget(session=turn.session, person=turn.person, at=turn.at)
    turn.forgotten = True


def _record_consent(turn: Turn, effect: RecordConsent) -> None:
    turn.person.consent, turn.person.consent_at = effect.granted, turn.at


def _await_answer(turn: Turn, effect: AwaitAnswer) -> None:
    case = turn.case
    if case is not None and effect.page_on_silence and not case.urgent:
        case.check_due_at = turn.at + turn.desk.check_silence


def _note_received(turn: Turn, effect: NoteReceived) -> None:
    if turn.case is not None:
        cases.add_event(session=turn.session, case_id=row_id(turn.case), kind="received", at=turn.at, what=effect.what)


def _update_case(turn: Turn, effect: OpenCase | UpdateCase) -> None:
    turn.case = _case_for(turn, effect.summary)


def _escalate(turn: Turn, effect: Escalate) -> None:
    case = turn.case = _case_for(turn, effect.summary)
    notice = _queue_and_page(turn.session, turn.desk, case, effect, turn.at, turn.may_page)
    if notice is not None:
        turn.paged = notice is not Say.WAIT_QUEUED
        desk = turn.desk
        text = desk.ctx.texts.say(notice, turn.person.region, minutes=desk.deadline_minutes)
        turn.replies.insert(1, Reply(text))  # right after the number to call, before the questions


def _nothing(turn: Turn, effect: AskConsent) -> None:
    """Asking is in the replies already; the consent itself comes with ``RecordConsent``."""


HANDLERS: dict[type[Any], Callable[[Turn, Any], None]] = {
    ForgetMe: _forget,
    RecordConsent: _record_consent,
    AwaitAnswer: _await_answer,
    NoteReceived: _note_received,
    OpenCase: _update_case,
    UpdateCase: _update_case,
    Escalate: _escalate,
    AskConsent: _nothing,
}


def summary_json(summary: CaseSummary) -> dict[str, object]:
    return asdict(summary)


def _case_for(turn: Turn, summary: CaseSummary) -> Case:
    """Open the person's case if needed, and bring it up to date with the summary."""
    session, person, conversation, at = turn.session, turn.person, turn.conversation, turn.at
    case = turn.case
    if case is None:
        case = cases.open_new(session=session, person=person, conversation=conversation, at=at)
    answers = dict(summary.answers)
    case.summary = summary_json(summary)
    case.intents = list(summary.intents)
    case.urgent = case.urgent or summary.urgent
    case.town = _town(answers.get(SLOT_LABELS[Slot.TOWN]), turn.desk.ctx.towns(person.region)) or case.town
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
    「わからない」 is no town at all.
    """
    if answer is None or answer == UNKNOWN:
        return None
    return answer if answer in towns else OTHER_TOWN


def _queue_and_page(
    session: Session,
    desk: Desk,
    case: Case,
    effect: Escalate,
    at: dt.datetime,
    may_page: Callable[[], bool] | None = None,
) -> Say | None:
    """Put the case in the queue; page for urgent news. Returns the notice for the person when paged.

    Over the channel's paging budget (``may_page`` says no) the case stays in
    the queue, marked urgent, and joins a grouped page; the person is told
    honestly that it is queued, after the numbers to call they were given.
    """
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
        if may_page is not None and not may_page():
            return paging.hold(session=session, desk=desk, case=case, at=at)
        paged = paging.page(
            session=session, case=case, level=0, at=at, deadline=desk.page_deadline, public_url=desk.public_url
        )
        desk.metrics.pages.labels(str(paged.level)).inc()
        return paged.notice
    if effect.news:  # a second emergency mid-intake: those already paged hear of it now
        paging.page_news(session=session, case=case, at=at, public_url=desk.public_url)
    return None  # already paged and the ladder is running
