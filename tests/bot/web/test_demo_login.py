"""``madoguchi serve --demo``: the same login at every start on one database, kept beside it, never in git."""

from __future__ import annotations

import stat
from pathlib import Path

from fastapi.testclient import TestClient

from bot.cli.demo import DEMO_LOGIN, make_demo, password_file
from bot.conversation import Context
from bot.settings import Settings
from bot.web.app import create_app
from tests.bot.web.conftest import log_in


def _start(url: str, ctx: Context) -> tuple[TestClient, str]:
    """One start of the demo: the app on ``url`` and the password it prints."""
    app = create_app(Settings(**{"MADOGUCHI_DATABASE_URL": url}), ctx=ctx, workers=False)
    login, password = make_demo(app.state.services.engine, "nemuro")
    assert login == DEMO_LOGIN
    return TestClient(app, base_url="https://testserver", follow_redirects=False), password


def test_two_starts_on_one_database_print_the_same_working_login(tmp_path: Path, ctx: Context) -> None:
    url = f"sqlite:///{tmp_path / 'madoguchi.db'}"
    first_client, first = _start(url, ctx)
    with first_client:
        log_in(first_client, DEMO_LOGIN, first)
    second_client, second = _start(url, ctx)
    assert second == first
    with second_client:
        log_in(second_client, DEMO_LOGIN, second)


def test_the_password_is_kept_beside_the_database_for_its_owner_only(tmp_path: Path, ctx: Context) -> None:
    url = f"sqlite:///{tmp_path / 'madoguchi.db'}"
    client, password = _start(url, ctx)
    kept = tmp_path / "madoguchi.db.demo-password"
    assert password_file(client.app.state.services.engine) == kept
    assert kept.read_text(encoding="utf-8").strip() == password
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def test_a_deleted_password_file_makes_a_new_password_that_works(tmp_path: Path, ctx: Context) -> None:
    url = f"sqlite:///{tmp_path / 'madoguchi.db'}"
    _, first = _start(url, ctx)
    (tmp_path / "madoguchi.db.demo-password").unlink()
    client, second = _start(url, ctx)
    assert second != first
    with client:
        log_in(client, DEMO_LOGIN, second)
