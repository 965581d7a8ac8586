"""Login throttling at the HTTP edge: guesses stop after a handful, and a login flood does not stall the webhooks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.conversation import Context
from bot.desk.labels import FLASH
from bot.settings import Settings
from bot.web.app import Services, create_app
from tests.bot.channels.conftest import LINE_SECRET, line_signature
from tests.bot.web.conftest import CSRF
from tests.builders import PASSWORD, coordinator
from tests.fakes.events import line_body, line_text
from tests.fakes.line_api import FakeLine
from tests.fakes.serve import serve_in_thread


def _services(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


def _try(client: httpx.Client | TestClient, login: str, password: str) -> httpx.Response:
    """One login through the form, as a browser does: the page (its CSRF cookie), then the post."""
    found = CSRF.search(client.get("/coordinator/login").text)
    assert found is not None
    return client.post("/coordinator/login", data={"csrf": found[1], "login": login, "password": password})


def test_guesses_stop_after_five_and_the_right_password_waits_too(app: FastAPI, client: TestClient) -> None:
    coordinator(_services(app).engine, "tonight")
    answers = [_try(client, "tonight", f"wrong guess {n}") for n in range(7)]
    assert [a.status_code for a in answers] == [303] * 5 + [429] * 2
    refused = answers[-1]
    assert FLASH["slow"] in refused.text and int(refused.headers["Retry-After"]) > 0
    right = _try(client, "tonight", PASSWORD)
    assert right.status_code == 429 and "madoguchi_session" not in right.cookies


def test_another_account_is_not_locked_out_by_guesses_at_one(app: FastAPI, client: TestClient) -> None:
    engine = _services(app).engine
    coordinator(engine, "tonight")
    coordinator(engine, "morning")
    for n in range(6):
        _try(client, "tonight", f"wrong guess {n}")
    assert _try(client, "morning", PASSWORD).headers["location"] == "/coordinator/"


def test_one_address_guessing_many_accounts_is_stopped_too(database_url: str, ctx: Context) -> None:
    settings = Settings(**{"MADOGUCHI_DATABASE_URL": database_url, "MADOGUCHI_LOGIN_TRIES_PER_ADDRESS": "8"})
    app = create_app(settings, ctx=ctx, workers=False)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        codes = [_try(client, f"nobody{n}", "wrong guess").status_code for n in range(10)]
    assert codes == [303] * 8 + [429] * 2


# --- the flood, against a real server (uvicorn, the work inline as ``madoguchi serve`` runs it on SQLite) -----

FLOODERS = 16
TRIES = 2  # per account here, to keep the test short (5 as shipped)
GUESSES = TRIES + 1


@dataclass
class Flood:
    base_url: str
    statuses: list[int] = field(default_factory=list)
    acks: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def flood_server(tmp_path: Path, ctx: Context) -> Iterator[Flood]:
    line = FakeLine()
    with serve_in_thread(line.app) as line_url:
        settings = Settings(
            **{
                "MADOGUCHI_DATABASE_URL": f"sqlite:///{tmp_path / 'flood.db'}",
                "MADOGUCHI_COOKIE_SECURE": "false",
                "MADOGUCHI_LOGIN_TRIES_PER_ADDRESS": "1000",  # every flooder's guesses reach the hashing
                "MADOGUCHI_LOGIN_TRIES_PER_ACCOUNT": str(TRIES),
                "LINE_CHANNEL_SECRET": LINE_SECRET,
                "LINE_CHANNEL_ACCESS_TOKEN": "test-access-token",
                "LINE_API_BASE_URL": line_url,
            }
        )
        app = create_app(settings, ctx=ctx, workers=True)
        for n in range(FLOODERS):
            coordinator(_services(app).engine, f"sato{n}")
        with serve_in_thread(app) as base_url:
            yield Flood(base_url)


def _guess(flood: Flood, n: int) -> None:
    with httpx.Client(base_url=flood.base_url, follow_redirects=False, timeout=60) as client:
        for guess in range(GUESSES):
            status = _try(client, f"sato{n}", f"wrong guess {guess}").status_code
            with flood.lock:
                flood.statuses.append(status)


def _webhooks(flood: Flood, stop: threading.Event) -> None:
    with httpx.Client(base_url=flood.base_url, timeout=60) as client:
        while not stop.is_set():
            raw = json.dumps(line_body(line_text("こんにちは")), ensure_ascii=False).encode()
            answer = client.post("/webhooks/line", content=raw, headers={"X-Line-Signature": line_signature(raw)})
            flood.acks.append(answer.status_code)


def test_a_login_flood_is_refused_after_the_limit_and_never_locks_the_database(flood_server: Flood) -> None:
    stop = threading.Event()
    hooks = threading.Thread(target=_webhooks, args=(flood_server, stop))
    hooks.start()
    try:
        with ThreadPoolExecutor(FLOODERS) as pool:
            list(pool.map(lambda n: _guess(flood_server, n), range(FLOODERS)))
    finally:
        stop.set()
        hooks.join()
    assert sorted(set(flood_server.statuses)) == [303, 429]  # no 500 "database is locked"
    assert flood_server.statuses.count(429) == FLOODERS  # each account's last guess was refused
    assert flood_server.acks and set(flood_server.acks) == {200}
    with httpx.Client(base_url=flood_server.base_url, follow_redirects=False) as client:
        assert _try(client, "sato0", PASSWORD).status_code == 429
