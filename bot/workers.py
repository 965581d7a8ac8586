"""Background work that ``madoguchi serve`` runs beside the web app: dispatch, re-paging, retention.

Each worker has a ``run_once`` (what the tests and the terminal chat call) and a
``run`` loop. Every step claims its rows with a conditional UPDATE, so two
processes on one PostgreSQL share the work without doing anything twice.
Database calls run in threads; the sends themselves are async.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Mapping

from sqlalchemy import Engine, update
from sqlmodel import Session, col

from bot import paging, privacy
from bot.conversation import Reply
from bot.desk import Desk
from bot.outgoing import to_person
from bot.pump import Pump
from bot.senders import DeliveryError, Outgoing, Sender
from storage import cases, outbox
from storage.db import session_scope
from storage.models import Case, Direction, Message, Outbox, row_id
from storage.types import utcnow

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]


class Dispatcher:
    """Sends due outbox rows through their channel's sender; the one place that retries."""

    def __init__(self, engine: Engine, senders: Mapping[str, Sender], desk: Desk, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.senders = dict(senders)
        self.desk = desk
        self.clock = clock
        self.pump: Pump[Outgoing] = Pump("dispatch", self._claim_async, self._deliver)

    async def _claim_async(self, limit: int) -> list[Outgoing]:
        return await asyncio.to_thread(self._claim, limit)

    async def run_once(self, limit: int = 50) -> int:
        """One round, waiting for every send (tests and the terminal chat)."""
        items = await asyncio.to_thread(self._claim, limit)
        await asyncio.gather(*(self._deliver(item) for item in items))
        return len(items)

    async def run(self, stop: asyncio.Event, interval: float = 0.2) -> None:
        """Send as rows come due; each send is its own task, so a hung platform holds up only its own row."""
        await self.pump.run(stop, interval)

    def _claim(self, limit: int) -> list[Outgoing]:
        with session_scope(self.engine) as session:
            rows = outbox.claim_due(session=session, at=self.clock(), limit=limit)
            return [_outgoing(row) for row in rows]

    async def _deliver(self, item: Outgoing) -> None:
        sender = self.senders.get(item.channel)
        metrics = self.desk.metrics
        try:
            if sender is None:
                raise DeliveryError(f"no sender for channel {item.channel!r}")
            await sender.send(item)
        except DeliveryError as error:
            await asyncio.to_thread(self._failed, item, error)
            return
        await asyncio.to_thread(self._sent, item)
        metrics.messages_out.labels(item.channel, item.kind).inc()
        log.info("sent outbox=%s channel=%s kind=%s attempt=%s", item.id, item.channel, item.kind, item.attempts)

    def _sent(self, item: Outgoing) -> None:
        at = self.clock()
        with session_scope(self.engine) as session:
            outbox.mark_sent(session=session, row_id=item.id, at=at)
            ids = [int(i) for i in item.payload.get("message_ids", [])]
            if ids:  # shown to the person from now on (their transcript is ordered by this)
                session.execute(
                    update(Message)
                    .where(col(Message.id).in_(ids), col(Message.delivered_at).is_(None))
                    .values(delivered_at=at)
                )

    def _failed(self, item: Outgoing, error: DeliveryError) -> None:
        metrics = self.desk.metrics
        at = self.clock()
        with session_scope(self.engine) as session:
            row = session.get(Outbox, item.id)
            if row is None:  # deleted meanwhile (the person asked to be forgotten)
                return
            if error.permanent:
                outbox.mark_failed(session=session, row_id=item.id, error=str(error))
            elif outbox.mark_retry(session=session, row=row, error=str(error), at=at, retry_after=error.retry_after):
                metrics.outbox_retries.labels(item.channel).inc()
                log.warning("retry outbox=%s channel=%s attempt=%s: %s", item.id, item.channel, item.attempts, error)
                return
            # a permanent error, or every attempt spent: shown on the case
            metrics.outbox_failures.labels(item.channel).inc()
            log.error("gave up outbox=%s channel=%s kind=%s: %s", item.id, item.channel, item.kind, error)
            if row.case_id is not None:
                cases.add_event(
                    session=session,
                    case_id=row.case_id,
                    kind="delivery_failed",
                    at=at,
                    outbox=item.id,
                    error=str(error),
                )


def _outgoing(row: Outbox) -> Outgoing:
    return Outgoing(
        id=row_id(row),
        kind=row.kind,
        channel=row.channel,
        address=row.address,
        payload=dict(row.payload),
        attempts=row.attempts,
        message_id=row.message_id,
    )


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

    async def run_once(self) -> int:
        return await asyncio.to_thread(self.repage_due)

    async def run(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        await _loop(self.run_once, stop, interval, "repage")

    def repage_due(self) -> int:
        at = self.clock()
        done = 0
        with session_scope(self.engine) as session:
            for case in cases.due_for_repage(session=session, at=at):
                level = case.page_level
                if not cases.advance_page(session=session, case_id=row_id(case), level=level, at=at, next_at=None):
                    continue  # claimed or advanced meanwhile
                session.refresh(case)
                paged = paging.page(
                    session=session,
                    case=case,
                    level=level + 1,
                    at=at,
                    deadline=self.desk.page_deadline,
                    public_url=self.desk.public_url,
                )
                self.desk.metrics.pages.labels(str(paged.level)).inc()
                self._tell(session, case, paged, at)
                done += 1
            for case in cases.unanswered_checks(session=session, at=at):
                self._page_unanswered_check(session, case, at)
                done += 1
            for case in cases.stale_intakes(session=session, before=at - STALE_INTAKE):
                case.escalated_at = case.updated_at = at
                session.add(case)
                reasons = ["途中で 返事が なくなりました"]
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
        reasons = ["確認の 質問に 返事が ありません"]
        cases.add_event(session=session, case_id=row_id(case), kind="escalated", at=at, urgent=True, reasons=reasons)
        paged = paging.page(
            session=session,
            case=case,
            level=0,
            at=at,
            deadline=self.desk.page_deadline,
            public_url=self.desk.public_url,
        )
        self.desk.metrics.pages.labels(str(paged.level)).inc()
        self._tell(session, case, paged, at)

    def _tell(self, session: Session, case: Case, paged: paging.Paged, at: dt.datetime) -> None:
        text = self.desk.ctx.texts.say(paged.notice, case.region, minutes=self.desk.deadline_minutes)
        to_person(session, case, Reply(text), at, direction=Direction.SYSTEM, kind="notice")


class Purger:
    """Blanks message text older than the retention setting, once an hour."""

    def __init__(self, engine: Engine, desk: Desk, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.desk = desk
        self.clock = clock

    async def run_once(self) -> int:
        return await asyncio.to_thread(self.purge)

    def purge(self) -> int:
        with session_scope(self.engine) as session:
            return privacy.purge_text(session=session, before=self.clock() - self.desk.retention)

    async def run(self, stop: asyncio.Event, interval: float = 3600.0) -> None:
        await _loop(self.run_once, stop, interval, "purge")


async def _loop(step: Callable[[], object], stop: asyncio.Event, interval: float, name: str) -> None:
    """Run ``step`` until ``stop`` is set; an error is logged and the loop goes on (the rows stay for next time)."""
    while not stop.is_set():
        try:
            result = step()
            if asyncio.iscoroutine(result):
                await result
        except Exception:  # a worker must outlive one bad step: the database may be restarting
            log.exception("%s step failed; trying again in %.1f s", name, interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
