"""The background workers on SQLite and PostgreSQL: dispatch with retries, the paging ladder, retention."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.channels.base import Outgoing
from bot.channels.errors import DeliveryError
from bot.channels.web import WebSender
from bot.conversation import Context
from bot.desk import Desk, casework
from bot.desk.inbox import deliver
from bot.runtime.dispatcher import Dispatcher
from bot.runtime.purger import Purger
from bot.runtime.repager import Repager
from bot.web.coordinator import _event_label
from storage.db import session_scope
from storage.models import Case, CaseEvent, Coordinator, Direction, Message, Outbox, OutboxStatus
from tests.builders import NIGHT, URGENT_TEXT, arrival, coordinator


class Platform:
    """A stand-in for a platform API at the network edge: fails ``failures`` times, then accepts."""

    def __init__(self, failures: int = 0, *, permanent: bool = False, retry_after: float | None = None) -> None:
        self.failures, self.permanent, self.retry_after = failures, permanent, retry_after
        self.delivered: list[Outgoing] = []
        self.tries = 0

    async def send(self, item: Outgoing) -> None:
        self.tries += 1
        if self.tries <= self.failures:
            raise DeliveryError("HTTP 500", permanent=self.permanent, retry_after=self.retry_after)
        self.delivered.append(item)


def test_a_reply_that_fails_three_times_is_delivered_once(engine: Engine, desk: Desk) -> None:
    deliver(engine, desk, arrival("こんにちは", channel="line", address="U1"))
    platform = Platform(failures=3)
    now = [NIGHT]
    dispatcher = Dispatcher(engine, {"line": platform}, desk, clock=lambda: now[0])
    for _ in range(12):
        asyncio.run(dispatcher.run_once())
        now[0] += dt.timedelta(minutes=1)  # past any backoff
    with Session(engine) as session:
        rows = session.exec(select(Outbox)).all()
    assert platform.tries == 3 + len(rows)
    assert sorted(item.id for item in platform.delivered) == sorted(row.id for row in rows)  # each exactly once
    assert all(row.status == OutboxStatus.SENT for row in rows)
    assert desk.metrics.outbox_retries.labels("line")._value.get() == 3


def test_retry_after_is_honoured(engine: Engine, desk: Desk) -> None:
    deliver(engine, desk, arrival("ありがとう", channel="line", address="U1"))
    platform = Platform(failures=1, retry_after=30.0)
    now = [NIGHT]
    dispatcher = Dispatcher(engine, {"line": platform}, desk, clock=lambda: now[0])
    asyncio.run(dispatcher.run_once())
    now[0] = NIGHT + dt.timedelta(seconds=29)
    asyncio.run(dispatcher.run_once())
    assert platform.delivered == []  # asked to wait 30 s: not yet
    now[0] = NIGHT + dt.timedelta(seconds=31)
    asyncio.run(dispatcher.run_once())
    assert len(platform.delivered) == 1


def test_a_permanent_failure_stops_shows_on_the_case_and_pages_when_urgent(engine: Engine, desk: Desk) -> None:
    person_on_call = coordinator(engine, "tonight", on_call=True)
    handled = deliver(engine, desk, arrival(URGENT_TEXT, channel="line", address="U1"))
    platform = Platform(failures=99, permanent=True)
    dispatcher = Dispatcher(engine, {"line": platform, "web": WebSender()}, desk, clock=lambda: NIGHT)
    asyncio.run(dispatcher.run_once())
    asyncio.run(dispatcher.run_once())
    with Session(engine) as session:
        replies = session.exec(select(Outbox).where(Outbox.channel == "line")).all()
        assert replies and all(row.status == OutboxStatus.FAILED and row.attempts == 1 for row in replies)
        failed = session.exec(select(CaseEvent).where(CaseEvent.kind == "delivery_failed")).all()
        assert {event.case_id for event in failed} == {handled.case_id}
        pages = session.exec(select(Outbox).where(Outbox.kind == "page").order_by(col(Outbox.id))).all()
        assert [(page.status, page.address, page.payload.get("reason")) for page in pages] == [
            (OutboxStatus.SENT, str(person_on_call.id), None),  # the urgent case
            (OutboxStatus.SENT, str(person_on_call.id), "undelivered"),  # its numbers did not reach the person
        ]
        assert "緊急の 返事が 届いていません" in pages[1].payload["messages"][0]["text"]
    assert platform.tries == len(replies)


def _notices(session: Session) -> list[str]:
    query = select(Message).where(Message.direction == Direction.SYSTEM).order_by(col(Message.id))
    return [message.text or "" for message in session.exec(query).all()]


def test_the_ladder_pages_the_next_one_then_everyone_and_tells_the_person_each_time(engine: Engine, desk: Desk) -> None:
    first = coordinator(engine, "first", on_call=True, rank=0)
    second = coordinator(engine, "second", on_call=True, rank=1)
    third = coordinator(engine, "third")
    deliver(engine, desk, arrival(URGENT_TEXT))
    now = [NIGHT]
    repager = Repager(engine, desk, clock=lambda: now[0])
    assert asyncio.run(repager.run_once()) == 0  # deadline not reached
    now[0] = NIGHT + dt.timedelta(minutes=5)
    assert asyncio.run(repager.run_once()) == 1
    now[0] = NIGHT + dt.timedelta(minutes=10)
    assert asyncio.run(repager.run_once()) == 1
    now[0] = NIGHT + dt.timedelta(minutes=14)
    assert asyncio.run(repager.run_once()) == 0  # everyone was paged: the next round waits for its deadline
    with Session(engine) as session:
        pages = session.exec(select(Outbox).where(Outbox.kind == "page").order_by(col(Outbox.id))).all()
        assert [(row.payload["level"], row.address) for row in pages] == [
            (0, str(first.id)),
            (1, str(second.id)),
            (2, str(first.id)),
            (2, str(second.id)),
            (2, str(third.id)),
        ]
        notices = _notices(session)
        assert len(notices) == 2  # (the first, "being called", came with the bot's replies) the next one, everyone
        assert "ほかの 相談員にも" in notices[0] and "相談員 みんなに" in notices[1]


def test_the_ladder_never_ends_while_nobody_claims_and_the_person_hears_new_words_each_time(
    engine: Engine, desk: Desk
) -> None:
    on_call = coordinator(engine, "tonight", on_call=True)
    sleeping = coordinator(engine, "asleep")
    handled = deliver(engine, desk, arrival(URGENT_TEXT))
    now = [NIGHT]
    repager = Repager(engine, desk, clock=lambda: now[0])
    for n in range(1, 8):  # the first deadline pages everyone; six more rounds after it
        now[0] = NIGHT + n * desk.page_deadline
        assert asyncio.run(repager.run_once()) == 1, f"no page at deadline {n}"
        assert asyncio.run(repager.run_once()) == 0  # one round per deadline, not one per pass
    with Session(engine) as session:
        pages = session.exec(select(Outbox).where(Outbox.kind == "page").order_by(col(Outbox.id))).all()
        everyone = {str(on_call.id), str(sleeping.id)}
        rounds = [{row.address for row in pages if row.created_at == NIGHT + n * desk.page_deadline} for n in range(8)]
        assert rounds == [{str(on_call.id)}] + [everyone] * 7
        assert [row.payload.get("round", 0) for row in pages[1::2]] == [0, 1, 2, 3, 4, 5, 6]
        assert "（全員・7回目）" in pages[-1].payload["messages"][0]["text"]  # the phone says how often
        case = session.get_one(Case, handled.case_id)
        assert case.next_page_at == NIGHT + 8 * desk.page_deadline  # and the next round is due
        paged = session.exec(select(CaseEvent).where(CaseEvent.kind == "paged").order_by(col(CaseEvent.id))).all()
        assert "（全員・2回目: " in _event_label(session, paged[2])  # the case history counts the rounds too
        notices = _notices(session)
    assert len(notices) == 7  # the person is told at every deadline ...
    assert all(a != b for a, b in itertools.pairwise(notices))  # ... never in the same words twice
    assert len(set(notices[1:5])) == 4  # four rounds, four different messages
    assert all("119" in notice for notice in notices)  # and each gives the number to call
    # a claim ends it
    with session_scope(engine) as session:
        me = session.get_one(Coordinator, on_call.id)
        assert handled.case_id is not None
        assert casework.claim(session, desk, me, handled.case_id, NIGHT + 8 * desk.page_deadline)
    now[0] = NIGHT + 20 * desk.page_deadline
    assert asyncio.run(repager.run_once()) == 0


def test_a_claim_stops_the_ladder(engine: Engine, desk: Desk) -> None:
    coordinator(engine, "first", on_call=True)
    handled = deliver(engine, desk, arrival(URGENT_TEXT))
    assert handled.case_id is not None
    with session_scope(engine) as session:
        me = session.exec(select(Coordinator)).one()
        assert casework.claim(session, desk, me, handled.case_id, NIGHT + dt.timedelta(minutes=2))
    repager = Repager(engine, desk, clock=lambda: NIGHT + dt.timedelta(minutes=30))
    assert asyncio.run(repager.run_once()) == 0
    with Session(engine) as session:
        case = session.get(Case, handled.case_id)
        assert case is not None and case.page_level == 0


def test_old_message_text_is_purged_and_recent_text_kept(engine: Engine, desk: Desk) -> None:
    deliver(engine, desk, arrival("むかしの 話", key="old", at=NIGHT - dt.timedelta(days=400)))
    deliver(engine, desk, arrival("きょうの 話", key="new", at=NIGHT))
    purged = asyncio.run(Purger(engine, desk, clock=lambda: NIGHT).run_once())
    with Session(engine) as session:
        inbound = select(Message).where(Message.direction == Direction.IN).order_by(col(Message.id))
        texts = [message.text for message in session.exec(inbound).all()]
    assert purged >= 2  # the old message and the bot's replies to it
    assert texts == [None, "きょうの 話"]


def test_an_intake_the_person_stopped_answering_reaches_the_queue(engine: Engine, desk: Desk) -> None:
    deliver(engine, desk, arrival("グループホームの 体験を してみたい"))
    deliver(engine, desk, arrival("はい", choice="yes"))  # "may I ask a few questions?"
    with Session(engine) as session:
        case = session.exec(select(Case)).one()
        assert case.escalated_at is None  # the intake is running: not in the queue yet
    quiet = Repager(engine, desk, clock=lambda: NIGHT + dt.timedelta(minutes=29))
    assert asyncio.run(quiet.run_once()) == 0
    later = Repager(engine, desk, clock=lambda: NIGHT + dt.timedelta(minutes=31))
    assert asyncio.run(later.run_once()) == 1
    with Session(engine) as session:
        case = session.exec(select(Case)).one()
        assert case.escalated_at == NIGHT + dt.timedelta(minutes=31) and not case.urgent
        assert session.exec(select(Outbox).where(Outbox.kind == "page")).all() == []  # queued, nobody woken


CHECK_TEXT = "前は死にたいと思ってた時期もありました"  # a risk cue the context lowers to a check


def test_a_check_left_unanswered_after_a_risk_cue_pages_and_tells_the_person(engine: Engine, desk: Desk) -> None:
    on_call = coordinator(engine, "tonight", on_call=True)
    handled = deliver(engine, desk, arrival(CHECK_TEXT))
    with Session(engine) as session:
        case = session.get(Case, handled.case_id)
        assert case is not None and not case.urgent and case.escalated_at == NIGHT  # queued, nobody woken yet
        assert session.exec(select(Outbox).where(Outbox.kind == "page")).all() == []
    assert asyncio.run(Repager(engine, desk, clock=lambda: NIGHT + desk.check_silence / 2).run_once()) == 0
    assert asyncio.run(Repager(engine, desk, clock=lambda: NIGHT + desk.check_silence).run_once()) == 1
    with Session(engine) as session:
        case = session.get(Case, handled.case_id)
        assert case is not None and case.urgent and case.check_due_at is None
        pages = session.exec(select(Outbox).where(Outbox.kind == "page")).all()
        assert [row.address for row in pages] == [str(on_call.id)]
        notice = session.exec(select(Message).where(Message.direction == Direction.SYSTEM)).one()
        assert "相談員に" in (notice.text or "")
    assert asyncio.run(Repager(engine, desk, clock=lambda: NIGHT + desk.check_silence).run_once()) == 0  # once


def test_unanswered_web_checks_past_the_web_budget_join_one_grouped_page(engine: Engine, ctx: Context) -> None:
    desk = Desk(ctx, web_pages_per_hour=2)
    coordinator(engine, "tonight", on_call=True)
    for n in range(5):
        deliver(engine, desk, arrival(CHECK_TEXT, address=f"visitor-{n}"))
    assert asyncio.run(Repager(engine, desk, clock=lambda: NIGHT + desk.check_silence).run_once()) == 5
    with Session(engine) as session:
        pages = session.exec(select(Outbox).where(Outbox.kind == "page")).all()
        assert len(pages) == 2 + 1 and sum(page.payload.get("reason") == "grouped" for page in pages) == 1
        assert len(session.exec(select(Case).where(col(Case.urgent))).all()) == 5  # all red in the queue
        notices = session.exec(select(Message).where(Message.direction == Direction.SYSTEM)).all()
        assert len(notices) == 5 and sum("受付に 入れました" in (m.text or "") for m in notices) == 3


def test_an_answered_check_does_not_page_on_silence(engine: Engine, desk: Desk) -> None:
    coordinator(engine, "tonight", on_call=True)
    deliver(engine, desk, arrival(CHECK_TEXT))
    deliver(engine, desk, arrival("いいえ", choice="no", at=NIGHT + dt.timedelta(minutes=1)))
    assert asyncio.run(Repager(engine, desk, clock=lambda: NIGHT + dt.timedelta(minutes=30)).run_once()) == 0
    with Session(engine) as session:
        assert session.exec(select(Outbox).where(Outbox.kind == "page")).all() == []
        case = session.exec(select(Case)).one()
        assert not case.urgent and case.escalated_at is not None  # a human still sees it in the queue
