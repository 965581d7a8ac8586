"""The local web chat over HTTP: identity cookie, CSRF header, idempotent posts, later messages."""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from bot.channels.web import WebSender
from bot.desk import casework
from bot.runtime.dispatcher import Dispatcher
from bot.web.app import Services
from storage.db import session_scope
from storage.models import Case, Coordinator, Direction, Message
from tests.builders import URGENT_TEXT, coordinator


def _open_chat(client: TestClient, query: str = "") -> dict[str, str]:
    page = client.get("/chat/" + query)
    assert page.status_code == 200 and "madoguchi_chat" in page.cookies
    token = re.search(r'data-csrf="([0-9a-f]+)"', page.text)
    assert token is not None
    return {"X-CSRF-Token": token[1]}


def _send(client: TestClient, headers: dict[str, str], text: str, **extra: object) -> dict[str, object]:
    body = {"text": text, "client_id": uuid.uuid4().hex, **extra}
    response = client.post("/chat/api/messages", json=body, headers=headers)
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()
    return data


def test_a_message_gets_the_bot_replies_in_the_response(client: TestClient) -> None:
    headers = _open_chat(client)
    data = _send(client, headers, "こんにちは")
    messages = data["messages"]
    assert isinstance(messages, list)
    assert messages[0]["who"] == "me" and messages[0]["text"] == "こんにちは"
    assert messages[1]["who"] == "bot" and messages[1]["choices"]  # the menu buttons


def test_without_the_page_csrf_header_nothing_is_stored(app: FastAPI, client: TestClient) -> None:
    _open_chat(client)
    body = {"text": URGENT_TEXT, "client_id": uuid.uuid4().hex}
    assert client.post("/chat/api/messages", json=body).status_code == 403
    assert client.post("/chat/api/messages", json=body, headers={"X-CSRF-Token": "0" * 64}).status_code == 403
    services: Services = app.state.services
    with Session(services.engine) as session:
        assert session.exec(select(Message)).all() == []


@pytest.mark.parametrize(
    "body",
    [
        {"text": "", "client_id": "abcdefgh12"},
        {"text": "   ", "client_id": "abcdefgh12"},
        {"text": "あ", "client_id": "short"},
        {"text": "あ", "client_id": "../../etc/passwd"},
        {"text": "あ" * 5001, "client_id": "abcdefgh12"},
        {"text": 42, "client_id": "abcdefgh12"},
    ],
)
def test_bad_messages_get_a_clear_4xx(client: TestClient, body: dict[str, object]) -> None:
    headers = _open_chat(client)
    response = client.post("/chat/api/messages", json=body, headers=headers)
    assert response.status_code == 422 and response.json()["detail"]


def test_a_retried_post_is_handled_once(app: FastAPI, client: TestClient) -> None:
    headers = _open_chat(client)
    body = {"text": URGENT_TEXT, "client_id": "same-id-123"}
    for _ in range(3):
        assert client.post("/chat/api/messages", json=body, headers=headers).status_code == 200
    services: Services = app.state.services
    with Session(services.engine) as session:
        assert len(session.exec(select(Case)).all()) == 1
        assert len(session.exec(select(Message).where(Message.direction == Direction.IN)).all()) == 1


def test_a_coordinators_reply_appears_after_the_cursor(app: FastAPI, client: TestClient) -> None:
    services: Services = app.state.services
    coordinator(services.engine, "tonight", on_call=True)
    headers = _open_chat(client)
    first = _send(client, headers, URGENT_TEXT)
    cursor = str(first["cursor"])
    assert client.get("/chat/api/messages", params={"cursor": cursor}, headers=headers).json()["messages"] == []
    with session_scope(services.engine) as session:
        me = session.exec(select(Coordinator)).one()
        case = session.exec(select(Case)).one()
        assert case.id is not None
        casework.claim(session, services.desk, me, case.id, case.opened_at)
        casework.reply(session, me, case.id, "いま 電話します", case.opened_at)
    dispatcher = Dispatcher(services.engine, {"web": WebSender()}, services.desk)
    while asyncio.run(dispatcher.run_once()):  # one message at a time per person, in order
        pass
    later = client.get("/chat/api/messages", params={"cursor": cursor}, headers=headers).json()
    assert [(m["who"], m["text"]) for m in later["messages"]][-1] == ("coordinator", "いま 電話します")
    assert later["messages"][0]["who"] == "system" and "受けとりました" in later["messages"][0]["text"]
    assert later["joined"] is True and first["joined"] is False  # the page shows the sign from now on


def test_the_page_opens_with_the_welcome_and_the_numbers_to_call(client: TestClient) -> None:
    page = client.get("/chat/").text
    assert 'id="welcome"' in page and "「データを消して」" in page and "119" in page and "0153-73-3178" in page


def test_deleting_the_data_answers_with_the_confirmation_and_forgotten(app: FastAPI, client: TestClient) -> None:
    headers = _open_chat(client)
    _send(client, headers, URGENT_TEXT)
    asked = _send(client, headers, "データを消して")
    assert asked["forgotten"] is False
    done = _send(client, headers, "消す", choice="yes")
    assert done["forgotten"] is True and done["cursor"] == ""
    assert [m["who"] for m in done["messages"]] == ["bot"] and "記録を 消しました" in done["messages"][0]["text"]
    services: Services = app.state.services
    with Session(services.engine) as session:
        assert session.exec(select(Message)).all() == []


def test_two_browsers_are_two_people(client: TestClient, app: FastAPI) -> None:
    headers = _open_chat(client)
    _send(client, headers, "こんにちは")
    with TestClient(app, base_url="https://testserver") as other:
        other_headers = _open_chat(other)
        assert other_headers != headers
        data = other.get("/chat/api/messages", headers=other_headers).json()
        assert data["messages"] == []  # the other person sees nothing of the first one's chat
