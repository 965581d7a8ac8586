"""The web chat's limits at the HTTP edge: a flood of urgent chats does not page a coordinator per chat,
and every visitor still gets the numbers to call; chat tokens are kept as hashes; a device can forget its chat."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from bot.web.app import Services
from bot.web.auth import digest
from storage.models import Case, CaseEvent, Conversation, Outbox, SeenEvent
from tests.bot.web.test_chat_api import _open_chat, _send
from tests.builders import URGENT_TEXT, coordinator

VISITORS = 100
PAGES_PER_HOUR, PAGES_PER_ADDRESS = 6, 2  # the shipped budget (bot.settings)


def _services(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


def _visit(app: FastAPI, address: str) -> list[str]:
    """A new visitor from ``address`` writes the urgent message; returns the texts shown to them."""
    visitor = TestClient(app, base_url="https://testserver", client=(address, 40000))
    shown = _send(visitor, _open_chat(visitor), URGENT_TEXT)["messages"]
    assert isinstance(shown, list)
    return [str(message["text"]) for message in shown if message["who"] != "me"]


def _pages(app: FastAPI) -> list[Outbox]:
    with Session(_services(app).engine) as session:
        return list(session.exec(select(Outbox).where(Outbox.kind == "page")).all())


def _urgent_cases(app: FastAPI) -> int:
    with Session(_services(app).engine) as session:
        return len(session.exec(select(Case).where(col(Case.urgent), col(Case.escalated_at).is_not(None))).all())


def test_a_hundred_urgent_chats_do_not_page_a_hundred_times(app: FastAPI) -> None:
    coordinator(_services(app).engine, "tonight", on_call=True)
    shown = [_visit(app, f"10.0.{n // 200}.{n % 200 + 1}") for n in range(VISITORS)]
    assert all(any("119" in text for text in texts) for texts in shown)  # every visitor got the number to call
    pages = _pages(app)
    grouped = [page for page in pages if page.payload.get("reason") == "grouped"]
    assert len(pages) == PAGES_PER_HOUR + 1 and len(grouped) == 1  # one per chat up to the budget, then one for all
    assert _urgent_cases(app) == VISITORS  # and every case is in the queue, marked urgent
    later = shown[-1]
    assert any("受付に 入れました" in text for text in later) and not any("連絡しています" in text for text in later)


def test_one_address_opening_many_chats_pages_twice_then_groups(app: FastAPI) -> None:
    coordinator(_services(app).engine, "tonight", on_call=True)
    shown = [_visit(app, "192.0.2.7") for _ in range(12)]
    assert all(any("119" in text for text in texts) for texts in shown)
    pages = _pages(app)
    assert len(pages) == PAGES_PER_ADDRESS + 1
    with Session(_services(app).engine) as session:
        grouped = session.exec(select(CaseEvent).where(CaseEvent.kind == "grouped")).all()
    assert len(grouped) == 12 - PAGES_PER_ADDRESS


def test_the_database_keeps_only_a_hash_of_the_chat_token(app: FastAPI, client: TestClient) -> None:
    _send(client, _open_chat(client), "こんにちは")
    token = client.cookies["madoguchi_chat"]
    with Session(_services(app).engine) as session:
        addresses = [row.address for row in session.exec(select(Conversation)).all()]
        keys = [row.key for row in session.exec(select(SeenEvent)).all()]
    assert addresses == [digest(token)]
    assert keys and not any(token in key for key in keys)


def test_the_chat_cookie_lives_two_weeks(client: TestClient) -> None:
    page = client.get("/chat/")
    cookie = next(v for k, v in page.headers.multi_items() if k == "set-cookie" and "madoguchi_chat" in v)
    assert f"Max-Age={14 * 86400}" in cookie


def test_forgetting_the_device_drops_the_cookie_but_the_hub_keeps_the_chat(app: FastAPI, client: TestClient) -> None:
    headers = _open_chat(client)
    _send(client, headers, URGENT_TEXT)
    assert client.post("/chat/api/forget-device").status_code == 403  # needs the page's CSRF header
    forgotten = client.post("/chat/api/forget-device", headers=headers)
    assert forgotten.status_code == 204 and "madoguchi_chat" not in client.cookies
    assert client.get("/chat/api/messages", headers=headers).status_code == 403
    assert _urgent_cases(app) == 1
