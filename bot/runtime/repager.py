"""The re-pager: climbs the paging ladder for urgent cases nobody claimed, and tells the person each time.

Every step claims its case with a conditional UPDATE (``storage.cases.advance_page``),
so two processes on one PostgreSQL never page twice for one step.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

from sqlalchemy import Engine
from sqlmodel import Session

from bot.conversation import Reply
from bot.conversation.texts import Say
from bot.desk import Desk, paging
from bot.desk.labels import WORDS
from bot.desk.outgoing import to_person
from bot.limits import Window
from bot.runtime.pump import every
from storage import cases
from storage.db import session_scope
from storage.models import Case, Direction, row_id
from storage.types import utcnow

Clock = Callable[[], dt.datetime]

STALE_INTAKE = dt.timedelta(minutes=30)


class Repager:
    """Climbs the paging ladder for urgent cases nobody claimed, and tells the person each time.

    Also pages when a check question asked after a risk cue goes unanswered (``Desk.check_silence``),
    and puts an intake the person stopped answering into the queue after ``STALE_INTAKE``: what they
    told us is not lost in a half-finished form.
    """

    def __init__(self, engine: Engine, desk: Desk, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.desk = desk
        self.clock = clock
        #: Unanswered checks from the (anonymous) web chat page within the web chat's budget; past it they
        #: join the grouped page, as urgent web chats over the budget do (``bot.web.throttle``).
        self.web_checks = Window(desk.web_pages_per_hour, 3600, clock=lambda: self.clock().timestamp())

    async def run_once(self) -> int:
        return await asyncio.to_thread(self.repage_due)

    async def run(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        await every(self.run_once, stop, interval, "repage")

    def repage_due(self) -> int:
        at = self.clock()
        done = 0
        with session_scope(self.engine) as session:
            for case in cases.due_for_repage(session=session, at=at):
                level = case.page_level
                if not cases.advance_page(session=session, case_id=row_id(case), level=level, at=at, next_at=None):
                    continue  # claimed or advanced meanwhile
                session.refresh(case)
                self._page(session, case, level + 1, at)
                done += 1
            for case in cases.unanswered_checks(session=session, at=at):
                self._page_unanswered_check(session, case, at)
                done += 1
            for case in cases.stale_intakes(session=session, before=at - STALE_INTAKE):
                case.escalated_at = case.updated_at = at
                session.add(case)
                reasons = [WORDS.escalation_reasons.stale_intake]
                cases.add_event(
                    session=session, case_id=row_id(case), kind="escalated", at=at, urgent=False, reasons=reasons
                )
                done += 1
        return done

    def _page_unanswered_check(self, session: Session, case: Case, at: dt.datetime) -> None:
        """A person asked whether they are safe, after a risk cue, went quiet: that is not safe."""
        case.check_due_at = None
        case.urgent = True
        case.rank = cases.rank_for(urgent=True, household=case.household_id is not None)
        case.escalated_at = case.escalated_at or at
        case.updated_at = at
        session.add(case)
        reasons = [WORDS.escalation_reasons.unanswered_check]
        cases.add_event(session=session, case_id=row_id(case), kind="escalated", at=at, urgent=True, reasons=reasons)
        if case.channel == "web" and not self.web_checks.take("all"):
            self._group(session, case, at)
            return
        self._page(session, case, 0, at)

    def _group(self, session: Session, case: Case, at: dt.datetime) -> None:
        """Over the web chat's budget: the case stays urgent in the queue under the grouped page."""
        self._tell(session, case, paging.hold(session=session, desk=self.desk, case=case, at=at), at)

    def _page(self, session: Session, case: Case, level: int, at: dt.datetime) -> None:
        """Page at ``level``, count it, and tell the person who is being called."""
        paged = paging.page(
            session=session,
            case=case,
            level=level,
            at=at,
            deadline=self.desk.page_deadline,
            public_url=self.desk.public_url,
        )
        self.desk.metrics.pages.labels(str(paged.level)).inc()
        self._tell(session, case, paged.notice, at)

    def _tell(self, session: Session, case: Case, notice: Say, at: dt.datetime) -> None:
        """Tell the person, in the words for ``notice``, who is being called (or that they are queued).

        The notice repeats the numbers to call: lost for good on an urgent case, it pages."""
        text = self.desk.ctx.texts.say(notice, case.region, minutes=self.desk.deadline_minutes)
        to_person(session, case, Reply(text), at, direction=Direction.SYSTEM, kind="notice", urgent=case.urgent)
