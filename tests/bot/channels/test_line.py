"""LINE end to end in one process: signed webhooks in, the SDK out to a fake LINE API, nothing of ours mocked."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from storage.db import session_scope
from storage.models import Case, CaseStatus, Coordinator, Message, Outbox, OutboxStatus
from tests.bot.channels.conftest import Platforms, line_signature
from tests.builders import URGENT_TEXT, coordinator
from tests.fakes.events import USER, line_body, line_event, line_postback, line_text

PAYLOADS = Path(__file__).parents[2] / "payloads" / "line"  # copies of the documentation's samples


def test_a_signed_text_is_stored_then_answered_with_the_reply_token(platforms: Platforms) -> None:
    event = line_text("こんにちは")
    response = platforms.post_line(line_body(event))
    assert response.status_code == 200 and response.json()["stored"] == 1
    assert platforms.line.delivered == []  # acknowledged before anything was sent
    platforms.settle()
    replies = platforms.line.script.to("/message/reply")
    assert len(replies) == 1 and replies[0].body["replyToken"] == event["replyToken"]
    assert "まどぐち" in replies[0].body["messages"][0]["text"]
    items = replies[0].body["messages"][-1]["quickReply"]["items"]
    assert items[0]["action"]["type"] == "postback" and items[0]["action"]["data"] == "menu:urgent"
    assert platforms.line.script.to("/chat/loading/start")[0].body["chatId"] == USER


def test_a_wrong_or_missing_signature_stores_nothing(platforms: Platforms) -> None:
    body = line_body(line_text(URGENT_TEXT))
    assert platforms.post_line(body, signature="d3Jvbmc=").status_code == 401
    assert platforms.post_line(body, signature="").status_code == 401
    raw = b'{"events": []}'
    assert platforms.post_line(raw, signature=line_signature(raw, "another-secret")).status_code == 401
    assert platforms.stored() == []


def test_the_console_verify_requests_are_answered_without_a_send(platforms: Platforms) -> None:
    assert platforms.post_line({"destination": "xxxxxxxxxx", "events": []}).status_code == 200
    raw = (PAYLOADS / "legacy_verify_dummy_tokens.json").read_bytes()
    assert platforms.post_line(raw).status_code == 200
    platforms.settle()
    assert platforms.line.script.calls == []


def test_a_redelivered_event_opens_no_second_case_and_sends_no_second_reply(platforms: Platforms) -> None:
    coordinator(platforms.services.engine, "tonight", on_call=True)
    event = line_text(URGENT_TEXT)
    for attempt in range(5):
        again = dict(event, deliveryContext={"isRedelivery": attempt > 0})
        assert platforms.post_line(line_body(again)).status_code == 200
        platforms.settle()
    with Session(platforms.services.engine) as session:
        assert len(session.exec(select(Case)).all()) == 1
    assert len(platforms.line.script.to("/message/reply")) == 1
    assert platforms.line.script.to("/message/push") == []


def test_a_postback_answers_the_intake_question(platforms: Platforms) -> None:
    coordinator(platforms.services.engine, "tonight", on_call=True)
    platforms.post_line(line_body(line_text(URGENT_TEXT)))
    platforms.settle()
    platforms.post_line(line_body(line_postback("town:中標津町")))
    platforms.settle()
    with Session(platforms.services.engine) as session:
        assert session.exec(select(Case)).one().town == "中標津町"


def test_a_sticker_gets_a_kind_reply_and_the_case_notes_it(platforms: Platforms) -> None:
    coordinator(platforms.services.engine, "tonight", on_call=True)
    platforms.post_line(line_body(line_text(URGENT_TEXT)))
    sticker = {"id": "1", "type": "sticker", "packageId": "1", "stickerId": "1", "stickerResourceType": "STATIC"}
    platforms.post_line(line_body(line_event(message=sticker | {"quoteToken": "q"})))
    platforms.settle()
    texts = [m["text"] for call in platforms.line.script.to("/message/reply") for m in call.body["messages"]]
    assert any("ことばで 書いて" in text for text in texts)
    with Session(platforms.services.engine) as session:
        kinds = [m.text for m in session.exec(select(Message)).all()]
        assert "（スタンプ）" in kinds


def test_a_group_message_gets_the_one_to_one_note_and_standby_sends_nothing(platforms: Platforms) -> None:
    group = line_text("母が倒れた")
    group["source"] = {"type": "group", "groupId": "Cgroup1", "userId": USER}
    platforms.post_line(line_body(group))
    platforms.post_line(line_body(line_text("こんにちは", user="Ustandby", mode="standby")))
    platforms.settle()
    replies = platforms.line.script.to("/message/reply")
    assert len(replies) == 1 and "1対1" in replies[0].body["messages"][0]["text"]


def test_a_follow_greets_and_explains_what_is_kept(platforms: Platforms) -> None:
    platforms.post_line(line_body(line_event("follow", follow={"isUnblocked": False})))
    platforms.post_line(line_body(line_event("unfollow")))
    platforms.settle()
    replies = platforms.line.script.to("/message/reply")
    assert len(replies) == 1 and "データを消して" in replies[0].body["messages"][0]["text"]


def test_a_stale_reply_token_falls_back_to_push_with_a_retry_key(platforms: Platforms) -> None:
    event = line_text("こんにちは")
    platforms.line.used_tokens.add(event["replyToken"])  # as if it had expired
    platforms.post_line(line_body(event))
    platforms.settle()
    pushes = platforms.line.script.to("/message/push")
    assert len(pushes) == 1 and pushes[0].body["to"] == USER and pushes[0].headers["x-line-retry-key"]
    with Session(platforms.services.engine) as session:
        assert all(row.status == OutboxStatus.SENT for row in session.exec(select(Outbox)).all())


def test_a_message_this_sdk_cannot_read_still_gets_an_answer(platforms: Platforms) -> None:
    odd = line_event(message={"id": "9", "type": "text", "text": "こんにちは"})  # no quoteToken: the SDK refuses it
    brand_new = line_event(message={"id": "10", "type": "hologram", "quoteToken": "q"}, user="Unew")
    platforms.post_line(line_body(odd, brand_new))
    platforms.settle()
    texts = [m["text"] for call in platforms.line.script.to("/message/reply") for m in call.body["messages"]]
    assert any("まどぐち" in text for text in texts) and any("ことばで 書いて" in text for text in texts)


def test_a_coordinator_paged_on_line_claims_with_the_postback_button(platforms: Platforms) -> None:
    person = coordinator(platforms.services.engine, "tonight", on_call=True)
    with session_scope(platforms.services.engine) as session:
        row = session.get(Coordinator, person.id)
        assert row is not None
        row.page_channel, row.page_address = "line", "Ucoordinator"
    platforms.post_line(line_body(line_text(URGENT_TEXT)))
    platforms.settle()
    page = next(call for call in platforms.line.script.to("/message/push") if call.body["to"] == "Ucoordinator")
    assert page.headers["x-line-retry-key"] and "【緊急】" in page.body["messages"][0]["text"]
    action = page.body["messages"][0]["quickReply"]["items"][0]["action"]
    platforms.post_line(line_body(line_postback(action["data"], user="Ucoordinator")))
    platforms.settle()
    with Session(platforms.services.engine) as session:
        case = session.exec(select(Case)).one()
        assert case.status == CaseStatus.CLAIMED and case.claimed_by == person.id
    assert any("受けました" in text for text in platforms.line.texts())
