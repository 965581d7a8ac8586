"""``madoguchi bench --part limits``: floods against a real ``madoguchi serve`` on SQLite, with their figures.

* **A login flood beside the webhooks**: 16 clients send wrong passwords as fast as
  they get answers, each at an account of its own, while LINE webhooks arrive at a
  steady 20 per second. Printed: webhook acknowledgement p50/p99/max (from each
  webhook's scheduled time, so a stall is not hidden by the sender waiting), the
  login answers by status, and any 500 or "database is locked" in the server log.
  Three runs: the webhooks alone (the baseline on this machine), with the login
  limits as shipped (the sixth guess at an account is refused before any hashing),
  and with the limits lifted, where every guess is hashed: that run shows the
  hashing itself no longer holds SQLite's write lock.
* **A flood of urgent web chats**: 100 new visitors write an urgent message at
  once, all from one address, with the paging budget as shipped. Printed: how many
  pages went out (individual and grouped), and how many visitors were shown 119.

Figures are printed, not asserted: timing on a shared machine is not a test.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tools.bench.run import Echo
from tools.bench.web import REGION, Server, database, put_on_call, serve
from tools.bench.webhooks import LINE_SECRET, channel_env, line_event, line_signature, platform

FLOODERS = 16
RATE = 20.0  # webhooks per second
SECONDS = 15.0
VISITORS = 100
URGENT = "母が倒れて救急車で運ばれました。弟がひとりです"
SHIPPED_BUDGET = {  # the defaults of bot.settings, over the web bench's lifted budget
    "MADOGUCHI_CHAT_NEW_PER_ADDRESS": "10",
    "MADOGUCHI_CHAT_PAGES_PER_ADDRESS": "2",
    "MADOGUCHI_CHAT_PAGES_PER_HOUR": "6",
}
LIFTED_LOGINS = {"MADOGUCHI_LOGIN_TRIES_PER_ACCOUNT": "1000000", "MADOGUCHI_LOGIN_TRIES_PER_ADDRESS": "1000000"}
SHIPPED_LOGINS = {"MADOGUCHI_LOGIN_TRIES_PER_ADDRESS": "1000000"}  # one machine floods; per account as shipped
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Flood:
    acks: list[float] = field(default_factory=list)  # seconds from schedule to answer, 200s only
    ack_errors: dict[int, int] = field(default_factory=dict)
    logins: dict[int, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, table: dict[int, int], status: int) -> None:
        with self.lock:
            table[status] = table.get(status, 0) + 1


def add_accounts(url: str, count: int) -> None:
    """The schema, a coordinator on call, and ``count`` accounts to guess at (flood0, flood1, ...)."""
    from bot.web.auth import add_coordinator
    from storage.db import make_engine, session_scope
    from storage.types import utcnow

    put_on_call(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            for n in range(count):
                add_coordinator(
                    session,
                    login=f"flood{n}",
                    name=f"flood{n}",
                    password="the-right-one",
                    regions=[REGION],
                    at=utcnow(),
                )
    finally:
        engine.dispose()


def _guess(base_url: str, account: str, stop: threading.Event, flood: Flood) -> None:
    with httpx.Client(base_url=base_url, timeout=60, follow_redirects=False) as http:
        guess = 0
        while not stop.is_set():
            page = http.get("/coordinator/login")
            csrf = _CSRF.search(page.text)
            data = {"csrf": csrf[1] if csrf else "", "login": account, "password": f"wrong guess {guess}"}
            flood.count(flood.logins, http.post("/coordinator/login", data=data).status_code)
            guess += 1


def _webhook(http: httpx.Client, number: int, due: float, flood: Flood) -> None:
    time.sleep(max(0.0, due - time.monotonic()))
    _, body = line_event(9, number, f"U{number:032x}", "こんにちは", time.time())
    answer = http.post("/webhooks/line", content=body, headers={"X-Line-Signature": line_signature(LINE_SECRET, body)})
    if answer.status_code == 200:
        with flood.lock:
            flood.acks.append(time.monotonic() - due)
    else:
        flood.count(flood.ack_errors, answer.status_code)


def login_flood(server: Server, flooders: int = FLOODERS) -> Flood:
    flood, stop = Flood(), threading.Event()
    guessers = [
        threading.Thread(target=_guess, args=(server.base_url, f"flood{n}", stop, flood)) for n in range(flooders)
    ]
    limits = httpx.Limits(max_connections=64)
    with httpx.Client(base_url=server.base_url, timeout=60, limits=limits) as http, ThreadPoolExecutor(64) as pool:
        for thread in guessers:
            thread.start()
        start = time.monotonic() + 0.5
        count = int(RATE * SECONDS)
        list(pool.map(lambda n: _webhook(http, n, start + n / RATE, flood), range(count)))
        stop.set()
    for thread in guessers:
        thread.join()
    return flood


def _ms(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else float("nan")


def _report_flood(echo: Echo, label: str, flood: Flood, log: str) -> None:
    locked = log.count("database is locked")
    errors = log.count(" 500 ") + sum(n for status, n in flood.logins.items() if status >= 500)
    echo(
        f"{label:38} acks {len(flood.acks):4}  p50 {_ms(flood.acks, 0.5):6.0f} ms  p99 {_ms(flood.acks, 0.99):6.0f} ms"
        f"  max {max(flood.acks, default=0) * 1000:6.0f} ms  (goal p99 < 500 ms)"
    )
    logins = "  ".join(f"{status}: {n}" for status, n in sorted(flood.logins.items()))
    echo(f"{'':38} logins {logins}  webhook errors {flood.ack_errors or 0}  500s {errors}  locked {locked}")


@contextlib.contextmanager
def _server(url: str, workdir: Path, env: Mapping[str, str]) -> Iterator[Server]:
    with serve(url, workdir, extra_env=env) as server:
        yield server


def _visit(http: httpx.Client) -> bool:
    """One new visitor (own cookie jar) writes the urgent message; whether they were shown 119."""
    page = http.get("/chat/")
    csrf = re.search(r'data-csrf="([^"]+)"', page.text)
    body = {"text": URGENT, "client_id": f"{threading.get_ident():x}{time.monotonic_ns():x}"[:60]}
    answer = http.post("/chat/api/messages", json=body, headers={"X-CSRF-Token": csrf[1] if csrf else ""})
    http.cookies.clear()
    return answer.status_code == 200 and any("119" in m["text"] for m in answer.json()["messages"])


def chat_flood(server: Server, url: str) -> tuple[int, int, int]:
    """(visitors shown 119, pages in all, of which grouped) after ``VISITORS`` urgent chats at once."""
    from sqlmodel import Session, select

    from storage.db import make_engine
    from storage.models import Outbox

    def one(_: int) -> bool:
        with httpx.Client(base_url=server.base_url, timeout=60) as http:
            return _visit(http)

    with ThreadPoolExecutor(FLOODERS) as pool:
        shown = sum(pool.map(one, range(VISITORS)))
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            pages = session.exec(select(Outbox).where(Outbox.kind == "page")).all()
    finally:
        engine.dispose()
    return shown, len(pages), sum(1 for page in pages if page.payload.get("reason") == "grouped")


def run_limits_bench(echo: Echo) -> None:
    echo(f"login flood: {FLOODERS} clients guessing, LINE webhooks at {RATE:.0f}/s for {SECONDS:.0f} s, SQLite")
    with tempfile.TemporaryDirectory(prefix="madoguchi-limits-") as tmp, platform(Path(tmp)) as fake:
        runs = (
            ("no logins (the webhooks alone)", SHIPPED_LOGINS, 0),
            ("limits as shipped (5 per account)", SHIPPED_LOGINS, FLOODERS),
            ("limits lifted (every guess hashed)", LIFTED_LOGINS, FLOODERS),
        )
        for number, (label, env, flooders) in enumerate(runs):
            workdir = Path(tmp) / f"run{number}"
            workdir.mkdir()
            with database("sqlite", workdir) as url:
                add_accounts(url, FLOODERS)
                with _server(url, workdir, channel_env(fake) | env) as server:
                    flood = login_flood(server, flooders)
                    _report_flood(echo, label, flood, server.log())
        workdir = Path(tmp) / "chat"
        workdir.mkdir()
        with database("sqlite", workdir) as url:
            put_on_call(url)
            with _server(url, workdir, SHIPPED_BUDGET) as server:
                shown, pages, grouped = chat_flood(server, url)
        echo("")
        echo(f"web chat flood: {VISITORS} new visitors, one address, urgent, at once ({FLOODERS} in flight)")
        echo(f"  shown the number to call: {shown}/{VISITORS}")
        echo(f"  pages: {pages} ({pages - grouped} single, {grouped} grouped)")
