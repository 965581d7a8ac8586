"""The app on a real database (SQLite and PostgreSQL), driven over HTTPS by Starlette's TestClient.

HTTPS so the Secure cookies are sent back, as a browser does. Workers are off:
tests run the dispatcher themselves when they need a delivery.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.conversation import Context
from bot.settings import Settings
from bot.web.app import create_app
from tests.builders import PASSWORD

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def app(database_url: str, ctx: Context) -> FastAPI:
    return create_app(Settings(**{"MADOGUCHI_DATABASE_URL": database_url}), ctx=ctx, workers=False)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        yield client


def log_in(client: TestClient, login: str, password: str = PASSWORD) -> str:
    """Log in through the form, as a person would; returns the session's CSRF token for later forms."""
    page = client.get("/coordinator/login")
    token = CSRF.search(page.text)
    assert token is not None
    response = client.post("/coordinator/login", data={"csrf": token[1], "login": login, "password": password})
    assert response.status_code == 303
    queue = client.get("/coordinator/")
    assert queue.status_code == 200, f"login as {login} failed"
    found = CSRF.search(queue.text)
    assert found is not None
    return found[1]
