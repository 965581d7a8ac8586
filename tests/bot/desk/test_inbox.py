"""Inbound messages through the engine into storage, on SQLite and PostgreSQL: cases, pages, notices."""

from __future__ import annotations

import logging

import psycopg
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.conversation import Context
from bot.desk import Desk
from bot.desk.inbox import deliver
from storage.db import make_engine, session_scope, upgrade
from storage.models import Case, CaseEvent, Conversation, Direction, Household, Message, Outbox, Person, row_id
from tests.builders import NIGHT, URGENT_TEXT, arrival, coordinator
from tests.conftest import postgres_schema, postgres_url


def _pages(session: Session) -> list[Outbox]:
    return list(session.exec(select(Outbox).where(Outbox.kind == "page").order_by(col(Outbox.id))).all())


def test_an_urgent_message_opens_one_case_and_pages_the_coordinator_on_call(engine: Engine, desk: Desk) -> None:
    coordinator(engine, "off-duty")
    on_call = coordinator(engine, "tonight", on_call=True)
    handled = deliver(engine, desk, arrival(URGENT_TEXT, key="e1"))
    assert handled.paged and handled.case_id is not None
    texts = [reply.text for reply in handled.replies]
    assert "119" in texts[0]  # the number to call comes first
    assert "当番の 相談員に" in texts[1] and "5分ほど" in texts[1]  # then who is being called, and when
    with Session(engine) as session:
        case = session.get(Case, handled.case_id)
        assert case is not None and case.urgent and case.rank == 1 and case.escalated_at == NIGHT
        assert case.intents[0] == "caregiver_emergency"
        assert [(page.address, page.payload["level"]) for page in _pages(session)] == [(str(on_call.id), 0)]
        kinds = [event.kind for event in session.exec(select(CaseEvent).order_by(col(CaseEvent.id))).all()]
        assert kinds == ["opened", "escalated", "paged"]
        stored = session.exec(select(Message).where(Message.case_id == case.id).order_by(col(Message.id))).all()
        assert [m.direction for m in stored][:2] == [Direction.IN, Direction.BOT]
        assert stored[0].text == URGENT_TEXT


def test_a_redelivered_event_changes_nothing(engine: Engine, desk: Desk) -> None:
    coordinator(engine, "tonight", on_call=True)
    first = deliver(engine, desk, arrival(URGENT_TEXT, key="line:evt-1"))
    for _ in range(4):
        again = deliver(engine, desk, arrival(URGENT_TEXT, key="line:evt-1"))
        assert again.duplicate and again.replies == ()
    with Session(engine) as session:
        assert len(session.exec(select(Case)).all()) == 1
        assert len(_pages(session)) == 1
        assert len(session.exec(select(Message).where(Message.direction == Direction.IN)).all()) == 1
    assert not first.duplicate


def test_with_nobody_on_call_everyone_in_the_region_is_paged_and_the_person_is_told(engine: Engine, desk: Desk) -> None:
    ids = {row_id(coordinator(engine, login)) for login in ("a", "b")}
    coordinator(engine, "elsewhere", regions=("shiroi",))
    handled = deliver(engine, desk, arrival(URGENT_TEXT))
    assert "当番の 相談員が" in handled.replies[1].text and "決まっていない" in handled.replies[1].text
    with Session(engine) as session:
        assert {int(page.address) for page in _pages(session)} == ids
        case = session.exec(select(Case)).one()
        assert case.page_level == 2 and case.next_page_at == NIGHT + desk.page_deadline  # everyone, again then


def test_replies_on_a_push_channel_go_through_the_outbox_with_dedupe_keys(engine: Engine, desk: Desk) -> None:
    deliver(engine, desk, arrival("こんにちは", channel="line", address="U123"))
    with Session(engine) as session:
        replies = session.exec(select(Outbox).where(Outbox.kind == "reply")).all()
        assert replies and all(row.address == "U123" and row.channel == "line" for row in replies)
        assert all(row.dedupe_key == f"reply:{row.message_id}" for row in replies)
        bot = session.exec(select(Message).where(Message.direction == Direction.BOT)).all()
        assert all(message.delivered_at is None for message in bot)  # delivered only once sent


def test_the_web_chat_gets_its_replies_at_once_and_nothing_waits_in_the_outbox(engine: Engine, desk: Desk) -> None:
    handled = deliver(engine, desk, arrival("こんにちは"))
    assert handled.replies
    with Session(engine) as session:
        assert session.exec(select(Outbox)).all() == []
        assert all(m.delivered_at == NIGHT for m in session.exec(select(Message)).all())


def test_an_urgent_message_from_a_registered_household_goes_to_the_top(engine: Engine, desk: Desk) -> None:
    with session_scope(engine) as session:
        household = Household(region="nemuro", code="h-abc", label="A さん宅", flags=["独居"], assessment="…")
        session.add(household)
        session.flush()
        household_id = row_id(household)
    deliver(engine, desk, arrival(URGENT_TEXT, address="other", key="o1"))
    handled = deliver(engine, desk, arrival(URGENT_TEXT, key="h1", household="h-abc"))
    with Session(engine) as session:
        case = session.get(Case, handled.case_id)
        assert case is not None and case.household_id == household_id and case.rank == 0
        person = session.get(Person, case.person_id)
        assert person is not None and person.household_id == household_id


def test_a_new_person_in_the_intake_keeps_one_case_and_fills_its_summary(engine: Engine, desk: Desk) -> None:
    coordinator(engine, "tonight", on_call=True)
    deliver(engine, desk, arrival(URGENT_TEXT, key="1"))
    deliver(engine, desk, arrival("中標津町", key="2", choice="town:中標津町"))
    deliver(engine, desk, arrival("ひとり", key="3", choice="others:ひとり"))
    deliver(engine, desk, arrival("家族です", key="4", choice="role:家族"))
    with Session(engine) as session:
        case = session.exec(select(Case)).one()
        assert case.town == "中標津町" and case.reporter == "家族"
        assert dict(map(tuple, case.summary["answers"]))["町"] == "中標津町"
        assert len(_pages(session)) == 1  # answers are not news: no second page
        conversation = session.exec(select(Conversation)).one()
        assert conversation.channel == "web" and conversation.address == "person-1"


def test_a_second_emergency_mid_intake_pages_again_with_the_news(engine: Engine, desk: Desk) -> None:
    on_call = coordinator(engine, "tonight", on_call=True)
    deliver(engine, desk, arrival("母が倒れて救急車で運ばれました", key="1"))
    deliver(engine, desk, arrival("べつかいです", key="2"))  # an answer: not news
    handled = deliver(engine, desk, arrival("また父も具合が悪くて倒れそうです", key="3"))
    with Session(engine) as session:
        pages = _pages(session)
        case = session.exec(select(Case)).one()
        assert [page.address for page in pages] == [str(on_call.id)] * 2
        assert pages[1].payload.get("reason") == "news" and "新しい 知らせ" in pages[1].payload["messages"][0]["text"]
        assert case.town == "別海町"  # the news was not stored as an answer
    assert "119" in "\n".join(reply.text for reply in handled.replies)


def test_consent_is_recorded_on_the_person(engine: Engine, desk: Desk) -> None:
    deliver(engine, desk, arrival(URGENT_TEXT, key="1"))
    for i, (text, choice) in enumerate(
        [("根室市", "town:根室市"), ("ひとり", "others:ひとり"), ("家族です", "role:家族"), ("はい", "yes")]
    ):
        deliver(engine, desk, arrival(text, key=f"k{i}", choice=choice))
    with Session(engine) as session:
        person = session.exec(select(Person)).one()
        assert person.consent is True and person.consent_at == NIGHT


@pytest.mark.parametrize("channel", ["web", "line"])
def test_no_message_text_reaches_the_logs(
    engine: Engine, desk: Desk, caplog: pytest.LogCaptureFixture, channel: str
) -> None:
    coordinator(engine, "tonight", on_call=True)
    secret = "090-1234-5678"
    with caplog.at_level(logging.DEBUG):
        deliver(engine, desk, arrival(URGENT_TEXT, channel=channel, key="1"))
        deliver(engine, desk, arrival("電話が ほしい " + secret, channel=channel, key="2"))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert secret not in logged and "母が倒れ" not in logged


def test_a_typed_town_stays_in_the_summary_but_the_statistic_is_only_a_known_town(engine: Engine, desk: Desk) -> None:
    deliver(engine, desk, arrival(URGENT_TEXT, key="1"))
    deliver(engine, desk, arrival("釧路の 親戚の 家", key="2"))
    with Session(engine) as session:
        case = session.exec(select(Case)).one()
        assert case.town == "ほかの町"
        assert dict(map(tuple, case.summary["answers"]))["町"] == "釧路の 親戚の 家"


def test_a_town_written_in_a_sentence_is_the_town_and_unknown_is_no_town(engine: Engine, desk: Desk) -> None:
    deliver(engine, desk, arrival(URGENT_TEXT, key="1"))
    deliver(engine, desk, arrival("中標津の 東3条 山田さんの となり", key="2"))
    deliver(engine, desk, arrival(URGENT_TEXT, address="person-2", key="4"))
    deliver(engine, desk, arrival("わかんない", address="person-2", key="5"))
    with Session(engine) as session:
        towns = {case.id: case.town for case in session.exec(select(Case).order_by(Case.id))}
        assert list(towns.values()) == ["中標津町", None]


def test_a_message_survives_a_connection_the_database_dropped(ctx: Context) -> None:
    """No pre-ping on the pool: a dead pooled connection fails once, and the message is tried again."""
    with postgres_schema() as url:
        engine = make_engine(url + "&application_name=madoguchi-drop-test")
        upgrade(engine)
        desk = Desk(ctx)
        deliver(engine, desk, arrival("こんにちは", key="1"))  # the pool now holds an open connection
        with psycopg.connect(postgres_url(), autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                ("madoguchi-drop-test",),
            )
        handled = deliver(engine, desk, arrival("ありがとう", key="2"))
        assert handled.replies and not handled.duplicate
        with Session(engine) as session:
            inbound = session.exec(select(Message).where(Message.direction == Direction.IN)).all()
            assert sorted(m.text or "" for m in inbound) == ["ありがとう", "こんにちは"]
        engine.dispose()
