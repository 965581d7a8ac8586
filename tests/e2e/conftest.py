"""Fixtures for the browser tests: real servers, one headless Chromium, phone-sized contexts.

One server per test module (SQLite in a temporary folder; PostgreSQL in a fresh
schema when a test asks for it), each with three coordinator accounts made by
the CLI. The browser is launched once per session; every test gets fresh
contexts (so fresh cookies) from the factories below, closed after the test.
When a test fails, the log of every running server is added to its report.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, expect, sync_playwright
from sqlalchemy import Engine
from sqlmodel import Session, select

from storage.db import make_engine
from storage.models import Coordinator
from tests.conftest import postgres_schema
from tests.e2e.server import Server, coordinator_add, rota_add, running_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: An iPhone-sized screen (CSS pixels), as most families will hold it.
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}}
#: Every explicit wait in these tests is at most this long (milliseconds).
WAIT_MS = 10_000

expect.set_options(timeout=WAIT_MS)


@dataclass(frozen=True)
class Account:
    login: str
    name: str
    password: str


#: On call around the clock (rank 0): every urgent case pages them.
ONCALL = Account("tobe", "戸部 当番", "tobe-on-call-pass")
#: Two colleagues in the same region, not on call.
KIMURA = Account("kimura", "木村", "kimura-long-pass")
SUZUKI = Account("suzuki", "鈴木", "suzuki-long-pass")


@dataclass
class Site:
    """A running server with its accounts, and an engine on its database for checking what happened."""

    server: Server
    engine: Engine

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def coordinator_id(self, account: Account) -> int:
        with Session(self.engine) as session:
            person = session.exec(select(Coordinator).where(Coordinator.login == account.login)).one()
            assert person.id is not None
            return person.id


#: Servers running now, whose logs go into the report of a failing test.
_LIVE: list[Server] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        for server in _LIVE:
            state = "running" if server.running else f"exited {server.process and server.process.returncode}"
            report.sections.append((f"madoguchi serve {server.database_url.split(':')[0]} ({state})", server.log(200)))
    return report


@contextlib.contextmanager
def reported(server: Server) -> Iterator[Server]:
    """While the block runs, the report of a failing test carries this server's log (as for the sites below)."""
    _LIVE.append(server)
    try:
        yield server
    finally:
        _LIVE.remove(server)


def _start_site(database_url: str, log_dir: Path) -> Iterator[Site]:
    with running_server(database_url, log_dir=log_dir, extra_args=["--access-log"]) as server:
        accounts = (ONCALL, KIMURA, SUZUKI)
        server.cli_parallel([coordinator_add(one.login, name=one.name, password=one.password) for one in accounts])
        server.cli(*rota_add(ONCALL.login, rank=0))
        engine = make_engine(database_url)
        _LIVE.append(server)
        try:
            yield Site(server, engine)
        finally:
            _LIVE.remove(server)
            engine.dispose()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The module's server, on SQLite."""
    folder = tmp_path_factory.mktemp("e2e-sqlite")
    yield from _start_site(f"sqlite:///{folder / 'madoguchi.db'}", folder)


@pytest.fixture(scope="module")
def postgres_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The module's server, on a fresh PostgreSQL schema (dropped afterwards)."""
    folder = tmp_path_factory.mktemp("e2e-postgres")
    with postgres_schema() as url:
        yield from _start_site(url, folder)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Playwright for one test module only.

    Its sync API keeps an event loop running in the main thread while it is alive, so any later test
    in the same process that calls ``asyncio.run`` (the purge, the benches) would fail: the driver
    stops when the module's last test is done, whatever order or worker the tests run in.
    """
    with sync_playwright() as driver:
        yield driver


def japanese_fonts() -> list[str]:
    """The fonts fontconfig offers for Japanese (``fc-list :lang=ja``); none when fontconfig is missing."""
    if shutil.which("fc-list") is None:
        return []
    listed = subprocess.run(["fc-list", ":lang=ja", "family"], capture_output=True, text=True, check=False)
    return [line for line in listed.stdout.splitlines() if line.strip()]


def missing_browser_tools(chromium: Path, fonts: list[str]) -> str | None:
    """What the browser tests cannot run without, in one line (None when nothing is missing).

    Without a Japanese font every Japanese word is drawn as tofu, and layout tests would pass on
    boxes of the wrong width: that is a failure, not a skip.
    """
    if not chromium.exists():
        return f"browser tests need Chromium at {chromium}: apt-get install chromium"
    if not fonts:
        return "browser tests need a Japanese font (fc-list :lang=ja lists none): apt-get install fonts-noto-cjk"
    return None


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    missing = missing_browser_tools(CHROMIUM, japanese_fonts())
    if missing:
        pytest.fail(missing, pytrace=False)
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


NewContext = Callable[..., BrowserContext]


@dataclass
class PageErrors:
    """Uncaught script errors and CSP refusals of every page a test opened; a test fails if there were any."""

    errors: list[str]

    def watch(self, context: BrowserContext) -> None:
        context.on("page", self._watch_page)

    def _watch_page(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        page.on("console", lambda message: self._blocked(page, message))

    def _blocked(self, page: Page, message: ConsoleMessage) -> None:
        """What the Content-Security-Policy refused (an inline script or style): an error of the page too."""
        if message.type == "error" and "Content Security Policy" in message.text:
            self.errors.append(f"{page.url}: {message.text}")


@pytest.fixture
def page_errors() -> Iterator[PageErrors]:
    found = PageErrors([])
    yield found
    assert not found.errors, "script errors on the pages:\n" + "\n".join(found.errors)


@pytest.fixture
def new_context(browser: Browser, page_errors: PageErrors) -> Iterator[NewContext]:
    """``new_context(site, phone=True)``: a fresh browser context (own cookies) on the site; closed after the test."""
    opened: list[BrowserContext] = []

    def make(site: Site, *, phone: bool = True) -> BrowserContext:
        context = browser.new_context(base_url=site.base_url, locale="ja-JP", **(PHONE if phone else DESKTOP))
        context.set_default_timeout(WAIT_MS)
        page_errors.watch(context)
        opened.append(context)
        return context

    yield make
    for context in opened:
        context.close()


@pytest.fixture
def phone_context(new_context: NewContext) -> Callable[[Site], BrowserContext]:
    """``phone_context(site)``: a 390x844 touch-screen context, as a family member's phone."""
    return lambda site: new_context(site, phone=True)


CoordinatorPage = Callable[..., Page]


@pytest.fixture
def coordinator_page(new_context: NewContext) -> CoordinatorPage:
    """``coordinator_page(site, account, phone=False)``: a page of a new context, logged in, on the queue (live)."""

    def make(site: Site, account: Account, *, phone: bool = False) -> Page:
        page = new_context(site, phone=phone).new_page()
        log_in(page, account)
        return page

    return make


#: Where ``shoot`` saves its screenshots (``make screenshots`` sets it to docs/screenshots); unset: none are kept.
SCREENSHOTS = os.environ.get("MADOGUCHI_SCREENSHOTS", "")


def shoot(page: Page, name: str) -> None:
    """Save what the screen shows now as ``NAME.png`` for the README, when ``MADOGUCHI_SCREENSHOTS`` is set."""
    if SCREENSHOTS:
        folder = Path(SCREENSHOTS)
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"), animations="disabled", caret="hide")


def log_in(page: Page, account: Account) -> None:
    """Log in through the login form, as a person would; ends on the queue page."""
    page.goto("/coordinator/login")
    page.locator("input[name=login]").fill(account.login)
    page.locator("input[name=password]").fill(account.password)
    with page.expect_navigation():
        page.locator("main button[type=submit]").click()
    assert "m=login" not in page.url, f"{account.login} could not log in"
    page.wait_for_url("**/coordinator/")
    expect(page.locator("header .who")).to_have_text(account.name)
