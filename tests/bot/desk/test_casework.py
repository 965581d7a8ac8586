"""What coordinators do with cases, on SQLite and PostgreSQL; and forgetting a person on request."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.channels.web import WebSender
from bot.desk import Desk, casework
from bot.desk.inbox import Handled, deliver
from bot.runtime.dispatcher import Dispatcher
from storage.db import session_scope
from storage.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Conversation,
    Coordinator,
    Direction,
    Message,
    Outbox,
    Person,
    row_id,
)
from tests.builders import NIGHT, URGENT_TEXT, arrival, coordinator

LATER = NIGHT + dt.timedelta(minutes=3)


def _urgent_case(engine: Engine, desk: Desk, **kwargs: str) -> int:
    handled: Handled = deliver(engine, desk, arrival(URGENT_TEXT, **kwargs))
    assert handled.case_id is not None
    return handled.case_id


def _me(engine: Engine, login: str) -> Coordinator:
    with Session(engine) as session:
        return session.exec(select(Coordinator).where(Coordinator.login == login)).one()


def _events(engine: Engine, case_id: int) -> list[str]:
    with Session(engine) as session:
        query = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.id))
        return [event.kind for event in session.exec(query).all()]


def test_claiming_tells_the_person_and_measures_the_wait(engine: Engine, desk: Desk) -> None:
    coordinator(engine, "tonight", on_call=True)
    case_id = _urgent_case(engine, desk)
    with session_scope(engine) as session:
        assert casework.claim(session, desk, _me(engine, "tonight"), case_id, LATER)
    with Session(engine) as session:
        notice = session.exec(select(Message).where(Message.direction == Direction.SYSTEM)).one()
        assert "受けとりました" in (notice.text or "") and notice.delivered_at is None
    asyncio.run(Dispatcher(engine, {"web": WebSender()}, desk).run_once())
    with Session(engine) as session:
        notice = session.exec(select(Message).where(Message.direction == Direction.SYSTEM)).one()
        assert notice.delivered_at is not None
    assert desk.metrics.time_to_claim.labels("urgent")._sum.get() == pytest.approx(180.0)


def test_a_reply_needs_the_claim_and_reaches_the_person_through_their_channel(engine: Engine, desk: Desk) -> None:
    coordinator(engine, "tonight", on_call=True)
    case_id = _urgent_case(engine, desk, channel="line", address="U42")
    me = _me(engine, "tonight")
    with pytest.raises(casework.CaseworkError, match="先に"), session_scope(engine) as session:
        casework.reply(session, me, case_id, "すぐ 行きます", LATER)
    with session_scope(engine) as session:
        casework.claim(session, desk, me, case_id, LATER)
        casework.reply(session, me, case_id, "すぐ 行きます", LATER)
    with Session(engine) as session:
        row = session.exec(select(Outbox).where(Outbox.kind == "reply", Outbox.payload.is_not(None))).all()[-1]
        assert (row.channel, row.address, row.payload["messages"][0]["text"]) == ("line", "U42", "すぐ 行きます")
        message = session.get(Message, row.message_id)
        assert message is not None and message.direction == Direction.COORDINATOR and message.coordinator_id == me.id
    assert _events(engine, case_id)[-2:] == ["claimed", "replied"]


@pytest.mark.parametrize("text", ["", "   ", "あ" * (casework.REPLY_LIMIT + 1)])
def test_an_empty_or_huge_reply_is_refused(engine: Engine, desk: Desk, text: str) -> None:
    coordinator(engine, "tonight", on_call=True)
    case_id = _urgent_case(engine, desk)
    me = _me(engine, "tonight")
    with session_scope(engine) as session:
        casework.claim(session, desk, me, case_id, LATER)
    with pytest.raises(casework.CaseworkError), session_scope(engine) as session:
        casework.reply(session, me, case_id, text, LATER)


def test_a_coordinator_of_another_region_cannot_see_or_touch_the_case(engine: Engine, desk: Desk) -> None:
    coordinator(engine, "tonight", on_call=True)
    coordinator(engine, "shiroi-staff", regions=("shiroi",))
    case_id = _urgent_case(engine, desk)
    stranger = _me(engine, "shiroi-staff")
    with session_scope(engine) as session:
        for action in (
            lambda: casework.view(session, stranger, case_id, LATER),
            lambda: casework.claim(session, desk, stranger, case_id, LATER),
            lambda: casework.note(session, stranger, case_id, "x", LATER),
        ):
            with pytest.raises(casework.NotFound):
                action()


def test_every_view_notes_and_reassignment_are_in_the_history(engine: Engine, desk: Desk) -> None:
    coordinator(engine, "tonight", on_call=True)
    colleague = coordinator(engine, "colleague")
    case_id = _urgent_case(engine, desk)
    me = _me(engine, "tonight")
    with session_scope(engine) as session:
        casework.view(session, me, case_id, LATER)
        casework.view(session, me, case_id, LATER)
        casework.note(session, me, case_id, "母は 市立病院", LATER)
        casework.reassign(session, me, case_id, row_id(colleague), LATER)
    assert _events(engine, case_id)[3:] == ["viewed", "viewed", "note", "reassigned", "paged"]
    with Session(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None and case.claimed_by == colleague.id and case.status == CaseStatus.CLAIMED
        page = session.exec(select(Outbox).where(Outbox.kind == "page").order_by(col(Outbox.id).desc())).first()
        assert page is not None and page.address == str(colleague.id)


def test_resolving_gives_the_person_a_fresh_start(engine: Engine, desk: Desk) -> None:
    coordinator(engine, "tonight", on_call=True)
    case_id = _urgent_case(engine, desk)
    me = _me(engine, "tonight")
    with session_scope(engine) as session:
        casework.claim(session, desk, me, case_id, LATER)
        with pytest.raises(casework.CaseworkError):
            casework.resolve(session, me, case_id, "なんとなく", LATER)
        casework.resolve(session, me, case_id, casework.OUTCOMES[0], LATER)
    again = deliver(engine, desk, arrival(URGENT_TEXT, at=LATER + dt.timedelta(days=1)))
    assert again.case_id != case_id and again.paged
    with Session(engine) as session:
        first = session.get(Case, case_id)
        assert first is not None and first.status == CaseStatus.RESOLVED and first.outcome == casework.OUTCOMES[0]
        second = session.get(Case, again.case_id)
        assert second is not None
        assert [case.id for case in casework.earlier_cases(session, second)] == [case_id]


def test_forget_me_deletes_messages_and_personal_fields_but_keeps_anonymous_counts(engine: Engine, desk: Desk) -> None:
    coordinator(engine, "tonight", on_call=True)
    case_id = _urgent_case(engine, desk, channel="line", address="U7")
    deliver(engine, desk, arrival("中標津町", channel="line", address="U7", choice="town:中標津町"))
    me = _me(engine, "tonight")
    with session_scope(engine) as session:
        casework.claim(session, desk, me, case_id, LATER)
        casework.note(session, me, case_id, "長男は 090-0000-0000", LATER)
    deliver(engine, desk, arrival("データを消して", channel="line", address="U7"))
    done = deliver(engine, desk, arrival("消す", channel="line", address="U7", choice="yes"))
    assert "消しました" in done.replies[0].text or "消" in done.replies[0].text
    with Session(engine) as session:
        assert session.exec(select(Person)).all() == []
        assert session.exec(select(Conversation)).all() == []
        assert session.exec(select(Message)).all() == []
        case = session.get(Case, case_id)
        assert case is not None and case.person_id is None
        assert case.intents and case.urgent and case.town == "中標津町"  # anonymous statistics stay
        assert case.summary["opening"] is None and case.summary["answers"] == []
        assert case.status == CaseStatus.RESOLVED
        details = [event.detail for event in session.exec(select(CaseEvent)).all()]
        assert "090-0000-0000" not in repr(details) and "母が" not in repr(details)
        pending = session.exec(select(Outbox).where(Outbox.status == "pending", Outbox.kind != "page")).all()
        goodbye = [message["text"] for row in pending for message in row.payload["messages"]]
        assert goodbye == [reply.text for reply in done.replies]  # only the goodbye goes out
    with session_scope(engine) as session, pytest.raises(casework.CaseworkError, match="消されて"):
        casework.reply(session, me, case_id, "まだ いますか", LATER)
    fresh = deliver(engine, desk, arrival("こんにちは", channel="line", address="U7"))
    assert fresh.case_id is None and "こんにちは" in fresh.replies[0].text
