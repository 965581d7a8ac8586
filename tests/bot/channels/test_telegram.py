"""Telegram end to end in one process: updates in through the secret-checked webhook, PTB out to a fake Bot API."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.channels.telegram import TelegramChannel
from bot.web.app import Services
from storage.db import session_scope
from storage.models import Case, CaseStatus, Coordinator, Household, Outbox, OutboxStatus, Person
from tests.bot.channels.conftest import TELEGRAM_SECRET, Platforms
from tests.builders import URGENT_TEXT, coordinator
from tests.fakes.events import CHAT, telegram_callback, telegram_message


def _sent(platforms: Platforms, chat: int = CHAT) -> list[str]:
    return platforms.telegram.texts(chat)


def test_a_message_is_stored_then_answered_with_buttons(platforms: Platforms) -> None:
    response = platforms.post_telegram(telegram_message("こんにちは"))
    assert response.status_code == 200 and response.json()["stored"] == 1
    assert platforms.telegram.delivered == []
    platforms.settle()
    sends = platforms.telegram.script.to("/sendMessage")
    assert sends and "まどぐち" in sends[0].body["text"]
    keyboard = sends[-1].body["reply_markup"]["inline_keyboard"]
    assert keyboard[0][0]["callback_data"] == "menu:urgent"


def test_a_wrong_or_missing_secret_is_refused_and_nothing_stored(platforms: Platforms) -> None:
    assert platforms.post_telegram(telegram_message(URGENT_TEXT), secret="wrong").status_code == 403
    assert platforms.post_telegram(telegram_message(URGENT_TEXT), secret="").status_code == 403
    assert platforms.stored() == []


def test_an_update_the_sdk_cannot_read_is_answered_200_and_dropped(platforms: Platforms) -> None:
    no_sender = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 1}, "text": "x"}}
    for body in (b"not json", b"[]", b'{"update_id": "x"}', no_sender):
        assert platforms.post_telegram(body).status_code == 200
    platforms.settle()
    assert platforms.telegram.script.to("/sendMessage") == []


def test_the_same_update_five_times_is_one_case_and_one_answer(platforms: Platforms) -> None:
    coordinator(platforms.services.engine, "tonight", on_call=True)
    update = telegram_message(URGENT_TEXT)
    for _ in range(5):
        assert platforms.post_telegram(update).status_code == 200
        platforms.settle()
    with Session(platforms.services.engine) as session:
        assert len(session.exec(select(Case)).all()) == 1
    first_reply = [text for text in _sent(platforms) if text.startswith("たいへんな 中")]
    assert len(first_reply) == 1


def test_a_button_press_is_answered_and_read_as_the_choice(platforms: Platforms) -> None:
    coordinator(platforms.services.engine, "tonight", on_call=True)
    platforms.post_telegram(telegram_message(URGENT_TEXT))
    platforms.settle()
    platforms.post_telegram(telegram_callback("town:根室市"))
    platforms.settle()
    assert len(platforms.telegram.script.to("/answerCallbackQuery")) == 1
    with Session(platforms.services.engine) as session:
        assert session.exec(select(Case)).one().town == "根室市"


def test_start_with_a_household_link_and_delete_to_be_forgotten(platforms: Platforms) -> None:
    with session_scope(platforms.services.engine) as session:
        session.add(Household(region="nemuro", code="hh-Link_1", label="A さん宅"))
    platforms.post_telegram(telegram_message("/start hh-Link_1"))
    platforms.post_telegram(telegram_message(URGENT_TEXT))
    platforms.settle()
    assert any("データを消して" in text for text in _sent(platforms))  # the welcome says how to delete
    with Session(platforms.services.engine) as session:
        case = session.exec(select(Case)).one()
        assert case.household_id is not None and case.rank == 0
    platforms.post_telegram(telegram_message("/delete"))
    platforms.settle()
    platforms.post_telegram(telegram_callback("yes"))
    platforms.settle()
    with Session(platforms.services.engine) as session:
        assert session.exec(select(Case)).one().person_id is None


def test_photos_stickers_groups_and_edits(platforms: Platforms) -> None:
    photo = telegram_message("", photo=[{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}])
    platforms.post_telegram(photo)
    group = telegram_message("母が倒れた", chat=-100123)
    group["message"]["chat"] = {"id": -100123, "type": "supergroup", "title": "g"}
    platforms.post_telegram(group)
    edited = telegram_message("こんにちは", chat=555)
    edited["edited_message"] = edited.pop("message") | {"edit_date": 1}
    platforms.post_telegram(edited)
    platforms.settle()
    assert any("ことばで 書いて" in text for text in _sent(platforms))
    assert any("1対1" in text for text in _sent(platforms, -100123))
    assert any("まどぐち" in text for text in _sent(platforms, 555))


def test_429_is_waited_for_and_a_blocked_bot_is_a_permanent_failure(platforms: Platforms) -> None:
    platforms.telegram.script.fail(429, retry_after=30)
    platforms.post_telegram(telegram_message("こんにちは"))
    platforms.settle()
    with Session(platforms.services.engine) as session:
        waiting = session.exec(select(Outbox).where(Outbox.status == OutboxStatus.PENDING)).all()
        assert waiting and all(row.last_error == "telegram: 429 Too Many Requests" for row in waiting[:1])
        first = waiting[0]
        assert (first.next_attempt_at - first.created_at).total_seconds() >= 30
    platforms.telegram.script.fail(403, times=10)
    platforms.post_telegram(telegram_message("こんにちは", chat=777))
    platforms.settle()
    with Session(platforms.services.engine) as session:
        failed = session.exec(select(Outbox).where(Outbox.address == "777")).all()
        assert failed and all(row.status == OutboxStatus.FAILED for row in failed)


def test_a_coordinator_paged_on_telegram_claims_with_the_button(platforms: Platforms) -> None:
    services: Services = platforms.services
    person = coordinator(services.engine, "tonight", on_call=True)
    with session_scope(services.engine) as session:
        row = session.get(Coordinator, person.id)
        assert row is not None
        row.page_channel, row.page_address = "telegram", "9001"
    platforms.post_telegram(telegram_message(URGENT_TEXT))
    platforms.settle()
    page = next(call for call in platforms.telegram.script.to("/sendMessage") if call.body["chat_id"] == "9001")
    assert "【緊急】" in page.body["text"] and "介護者の 急病" in page.body["text"]
    button = page.body["reply_markup"]["inline_keyboard"][0][0]
    platforms.post_telegram(telegram_callback(button["callback_data"], chat=9001))
    platforms.settle()
    with Session(services.engine) as session:
        case = session.exec(select(Case)).one()
        assert case.status == CaseStatus.CLAIMED and case.claimed_by == person.id
    assert any("受けました" in text for text in platforms.telegram.texts(9001))
    assert any("受けとりました" in text for text in _sent(platforms))  # the person hears who reads now


def test_start_with_a_region_link_puts_the_person_in_that_region(platforms: Platforms) -> None:
    platforms.post_telegram(telegram_message("/start shiroi", chat=31))
    platforms.post_telegram(telegram_message("/start nowhere", chat=32))
    platforms.settle()
    with Session(platforms.services.engine) as session:
        regions = {p.region for p in session.exec(select(Person)).all()}
    assert regions == {"shiroi", "nemuro"}  # an unknown payload keeps the default region


def test_set_webhook_registers_the_url_with_the_secret(platforms: Platforms) -> None:
    channel = platforms.services.channels["telegram"]
    assert isinstance(channel, TelegramChannel)
    assert platforms.client.portal.call(channel.set_webhook, "https://madoguchi.example/webhooks/telegram")  # type: ignore[union-attr]
    assert platforms.telegram.webhook["url"] == "https://madoguchi.example/webhooks/telegram"
    assert platforms.telegram.webhook["secret_token"] == TELEGRAM_SECRET
