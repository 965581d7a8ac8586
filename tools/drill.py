"""``madoguchi drill``: a simulated night against the real service, and what it shows of paging.

What runs. A real ``madoguchi serve`` (``tools.bench.web.serve``: a process of its own, the work
inline, on a SQLite file in a temporary directory), both channels on and pointed at the fake LINE and
Telegram APIs of the benchmarks (``tools.bench.fakes``, a process of its own that records every call
with ``time.monotonic()``, one clock for every process on the machine). The paging deadline is
``--deadline`` seconds (``MADOGUCHI_PAGE_DEADLINE_MINUTES``), so a night of ladders fits in under a minute.

The rota. Four coordinators of the region, all paged on their phones: ``nemui`` is first on call (LINE)
and never answers; ``kenta`` is second on call (Telegram) and answers; ``rusu`` (LINE, not on the rota)
never answers; ``aiko`` (LINE, not on the rota) answers. Whoever answers presses 受ける on each page
they receive after a random delay (``--claim-after``, a range), as a signed LINE postback or a Telegram
callback to the webhooks, which is the phone's real way to claim. A page to someone already pressing
for that case is not pressed twice.

The people. ``--cases`` people (LINE and Telegram in turn) each write one urgent message (every text
is one the classifier pages on at once), at random times over ``--night`` seconds.

The figures, all counted from what happened (the fake's calls and the database), none assumed:

* paged within 2 s: the share of people whose first page reached a coordinator's phone (at the fake)
  within 2 s of their message being sent; time to page p50/p99 (nearest rank) over those paged;
* claimed: the share of cases claimed; time to claim p50/p99 (``claimed_at - escalated_at``);
* re-pages: pages after each case's first one (the ladder's later rungs and rounds), in all and the
  most for one case;
* people left without a message: those to whom nothing at all was delivered at the fake; and people
  not told of a re-page: those whose case climbed the ladder more often than waiting notices reached
  them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tools.bench.web import percentile, serve
from tools.bench.webhooks import (
    LINE_SECRET,
    TELEGRAM_SECRET,
    channel_env,
    line_event,
    line_signature,
    platform,
    telegram_update,
)

Echo = Callable[[str], None]
REGION = "nemuro"
#: Each of these pages at once (urgency ``now``), checked by tests/tools/test_drill.py.
URGENT_TEXTS = (
    "母が倒れて救急車で運ばれました。弟がひとりです",
    "父が倒れて動けません。障がいのある兄と二人です",
    "夫に殴られて家にいられません",
    "死にたい。もう薬を全部飲もうと思う",
    "今夜泊まるところがありません。外にいます",
    "介護している母が急に意識がなくなった",
    "息子が暴れて包丁を持っています",
    "母が救急車で運ばれて、知的障害の妹が家にひとり",
)
PAGE_TEXT = re.compile(r"【(?:緊急|相談)】まどぐち ケース #(\d+)")
WITHIN = 2.0  # seconds: the goal for a page to reach a phone
POLL = 0.1
_TELEGRAM_HEADERS = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}


@dataclass(frozen=True, slots=True)
class Coordinator:
    login: str
    channel: str  # line or telegram
    address: str
    rank: int | None  # place on the rota; None: not on it (paged only when everyone is)
    answers: bool


ROTA = (
    Coordinator("nemui", "line", "U" + "a1" * 16, 0, answers=False),
    Coordinator("kenta", "telegram", "7100002", 1, answers=True),
    Coordinator("rusu", "line", "U" + "c3" * 16, None, answers=False),
    Coordinator("aiko", "line", "U" + "d4" * 16, None, answers=True),
)


@dataclass(frozen=True, slots=True)
class Plan:
    cases: int = 30
    night: float = 20.0  # seconds over which the messages arrive
    deadline: float = 2.0  # seconds: the paging deadline
    claim_after: tuple[float, float] = (0.5, 5.0)  # seconds from a page to 受ける, uniformly
    seed: int = 7
    timeout: float = 40.0  # seconds after the last message before giving up on claims


@dataclass(frozen=True, slots=True)
class Person:
    at: float  # seconds after the start
    channel: str
    address: str  # LINE user id or Telegram chat id
    text: str
    reply_token: str | None  # LINE: where the first replies go


@dataclass
class Night:
    """What the drill saw while it ran (monotonic seconds)."""

    sent: dict[str, float] = field(default_factory=dict)  # address -> message sent
    presses: int = 0
    calls: list[tuple[str, str, list[str], float]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Figures:
    people: int
    paged: int
    paged_within: int
    page_p50: float | None
    page_p99: float | None
    claimed: int
    claim_p50: float | None
    claim_p99: float | None
    repages: int
    most_repages: int
    presses: int
    unreached: int  # people to whom nothing was delivered
    untold: int  # people told of fewer re-pages than their case had

    def lines(self, plan: Plan) -> list[str]:
        def share(n: int) -> str:
            return f"{n}/{self.people} ({100 * n / self.people:.0f}%)" if self.people else "0/0"

        def secs(value: float | None) -> str:
            return "—" if value is None else f"{value:.2f} s"

        return [
            f"madoguchi drill: {self.people} urgent messages over {plan.night:g} s, "
            f"paging deadline {plan.deadline:g} s",
            "  rota: " + ", ".join(_describe(c) for c in ROTA),
            f"  paged within {WITHIN:g} s:        {share(self.paged_within)}",
            f"  time to page p50 / p99:   {secs(self.page_p50)} / {secs(self.page_p99)} (paged: {share(self.paged)})",
            f"  claimed:                  {share(self.claimed)} ({self.presses} presses of 受ける)",
            f"  time to claim p50 / p99:  {secs(self.claim_p50)} / {secs(self.claim_p99)}",
            f"  re-pages:                 {self.repages} (at most {self.most_repages} for one case)",
            f"  people left without a message: {self.unreached}",
            f"  people not told of a re-page:  {self.untold}",
        ]


def _describe(person: Coordinator) -> str:
    where = f"rota {person.rank}" if person.rank is not None else "off the rota"
    return f"{person.login} ({person.channel}, {where}, {'answers' if person.answers else 'never answers'})"


def plan_people(plan: Plan) -> list[Person]:
    """Who writes when: LINE and Telegram in turn, at random times over the night (fixed seed)."""
    rng = random.Random(plan.seed)
    times = sorted(rng.uniform(0, plan.night) for _ in range(plan.cases))
    run = uuid.uuid4().int % 100_000
    people = []
    for n, at in enumerate(times):
        text = URGENT_TEXTS[n % len(URGENT_TEXTS)]
        if n % 2 == 0:
            people.append(Person(at, "line", f"U{run:08x}{n:024x}", text, uuid.uuid4().hex))
        else:
            people.append(Person(at, "telegram", str(6_000_000_000 + run * 1000 + n), text, None))
    return people


def prepare(url: str) -> None:
    """The schema, the four coordinators, their phones and the rota (on call around the clock)."""
    from bot.desk.rota import add_slot
    from bot.web.auth import add_coordinator
    from storage import people
    from storage.db import make_engine, session_scope, upgrade
    from storage.types import utcnow

    engine = make_engine(url)
    try:
        upgrade(engine)
        with session_scope(engine) as session:
            for person in ROTA:
                add_coordinator(
                    session,
                    login=person.login,
                    name=person.login,
                    password=uuid.uuid4().hex,
                    regions=[REGION],
                    at=utcnow(),
                )
                if person.rank is not None:
                    add_slot(
                        session, login=person.login, region=REGION, days="0123456", start="00:00", end="24:00",
                        rank=person.rank,
                    )  # fmt: skip
                row = people.coordinator_by_login(session=session, login=person.login)
                assert row is not None
                row.page_channel, row.page_address = person.channel, person.address
                session.add(row)
    finally:
        engine.dispose()


# --- the night ------------------------------------------------------------------------------


def _message(person: Person, number: int) -> tuple[str, bytes, dict[str, str]]:
    """(path, body, headers) of the person's one message, as their platform would post it."""
    if person.channel == "line":
        _, body = line_event(number, number, person.address, person.text, time.time())
        event = json.loads(body)
        event["events"][0]["replyToken"] = person.reply_token
        body = json.dumps(event, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "X-Line-Signature": line_signature(LINE_SECRET, body)}
        return "/webhooks/line", body, headers
    body = telegram_update(900_000_000 + number, int(person.address), person.text, time.time())
    return (
        "/webhooks/telegram",
        body,
        _TELEGRAM_HEADERS,
    )


def _press(person: Coordinator, case_id: int, number: int) -> tuple[str, bytes, dict[str, str]]:
    """受ける on a page: a LINE postback or a Telegram callback query, from the coordinator's phone."""
    data = f"claim:{case_id}"
    if person.channel == "line":
        event = {
            "type": "postback", "mode": "active", "timestamp": int(time.time() * 1000),
            "source": {"type": "user", "userId": person.address}, "webhookEventId": f"01DRILLPRESS{number:014d}",
            "deliveryContext": {"isRedelivery": False}, "replyToken": uuid.uuid4().hex, "postback": {"data": data},
        }  # fmt: skip
        body = json.dumps({"destination": "U" + "b" * 32, "events": [event]}).encode()
        headers = {"Content-Type": "application/json", "X-Line-Signature": line_signature(LINE_SECRET, body)}
        return "/webhooks/line", body, headers
    chat = int(person.address)
    sender = {"id": chat, "is_bot": False, "first_name": person.login}
    query = {
        "id": str(number), "from": sender, "chat_instance": "drill", "data": data,
        "message": {"message_id": number, "date": int(time.time()), "chat": {"id": chat, "type": "private"}},
    }  # fmt: skip
    body = json.dumps({"update_id": 950_000_000 + number, "callback_query": query}).encode()
    return (
        "/webhooks/telegram",
        body,
        _TELEGRAM_HEADERS,
    )


async def _post(http: httpx.AsyncClient, request: tuple[str, bytes, dict[str, str]]) -> None:
    path, body, headers = request
    answer = await http.post(path, content=body, headers=headers)
    answer.raise_for_status()


async def _write(http: httpx.AsyncClient, people: Sequence[Person], start: float, night: Night) -> None:
    async def one(number: int, person: Person) -> None:
        await asyncio.sleep(max(0.0, start + person.at - time.monotonic()))
        night.sent[person.address] = time.monotonic()
        await _post(http, _message(person, number))

    await asyncio.gather(*(one(n, p) for n, p in enumerate(people)))


async def _answer(http: httpx.AsyncClient, fake: str, plan: Plan, done: Callable[[], bool], night: Night) -> None:
    """The coordinators who answer: each page to their phone is pressed after a random delay."""
    rng = random.Random(plan.seed + 1)
    answering = {(c.channel, c.address): c for c in ROTA if c.answers}
    kinds = {"line-push": "line", "line-reply": "line", "telegram-send": "telegram"}
    pressing: set[tuple[str, int]] = set()
    seen, tasks = 0, []

    async def press_later(person: Coordinator, case_id: int, delay: float) -> None:
        await asyncio.sleep(delay)
        night.presses += 1
        await _post(http, _press(person, case_id, night.presses))

    async with httpx.AsyncClient(base_url=fake, timeout=30) as calls:
        while not done():
            answer = await calls.get("/_bench/calls")
            new = answer.json()["calls"][seen:]
            seen += len(new)
            for kind, target, texts, _ in new:
                person = answering.get((kinds.get(kind, ""), target))
                for text in texts if person else ():
                    found = PAGE_TEXT.search(text)
                    if person and found and (person.login, int(found.group(1))) not in pressing:
                        pressing.add((person.login, int(found.group(1))))
                        delay = rng.uniform(*plan.claim_after)
                        tasks.append(asyncio.create_task(press_later(person, int(found.group(1)), delay)))
            await asyncio.sleep(POLL)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _all_claimed(url: str, count: int) -> Callable[[], bool]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)

    def check() -> bool:
        with engine.connect() as connection:
            claimed = connection.execute(text("SELECT count(*) FROM cases WHERE claimed_at IS NOT NULL")).scalar_one()
        return int(claimed) >= count

    return check


async def _run_night(base_url: str, fake: str, url: str, plan: Plan, people: Sequence[Person]) -> Night:
    night = Night()
    all_claimed = _all_claimed(url, len(people))
    start = time.monotonic()
    give_up = start + plan.night + plan.timeout

    def done() -> bool:
        return time.monotonic() > give_up or (len(night.sent) == len(people) and all_claimed())

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        await asyncio.gather(_write(http, people, start, night), _answer(http, fake, plan, done, night))
    return night


def _settle(url: str, seconds: float = 10.0) -> None:
    """Wait until the outbox has sent what it holds (the last notices and claim answers)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    deadline = time.monotonic() + seconds
    with contextlib.closing(engine.connect()) as connection:
        while time.monotonic() < deadline:
            if not connection.execute(text("SELECT count(*) FROM outbox WHERE status = 'pending'")).scalar_one():
                return
            connection.rollback()
            time.sleep(POLL)


# --- the figures ----------------------------------------------------------------------------


def figures(url: str, people: Sequence[Person], night: Night) -> Figures:
    """Count what happened: pages and deliveries at the fake, cases and events in the database."""
    from sqlmodel import Session, select

    from bot.conversation.texts import Say, Texts
    from knowledge.loader import load_knowledge
    from storage.db import make_engine
    from storage.models import Case, CaseEvent, Conversation, Direction, Message

    phones = {(c.channel, c.address) for c in ROTA}
    kinds = {"line-push": "line", "telegram-send": "telegram"}
    tokens = {p.reply_token: p.address for p in people if p.reply_token}
    first_page: dict[int, float] = {}
    reached: set[str] = set()
    for kind, target, said, at in night.calls:
        channel = kinds.get(kind) or ("line" if kind == "line-reply" else "")
        if (channel, target) in phones:
            for text in said:
                if found := PAGE_TEXT.search(text):
                    first_page.setdefault(int(found.group(1)), at)
        elif said and kind in {"line-push", "line-reply", "telegram-send"}:
            reached.add(tokens.get(target, target))
    waits = {s for s in Say if s.value.startswith("wait_")}
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            case_of: dict[str, Case] = {}
            for row, conversation in session.exec(
                select(Case, Conversation).where(Case.conversation_id == Conversation.id)
            ).all():
                case_of[conversation.address] = row
            paged = Counter(
                event.case_id
                for event in session.exec(select(CaseEvent).where(CaseEvent.kind == "paged")).all()
                if "reason" not in event.detail
            )
            words = Texts.load(load_knowledge())
            # the waiting notices, whatever the {minutes} in them
            shapes = [words.say(key, REGION, minutes="\0").split("\0") for key in waits]
            notice = re.compile("|".join(".*?".join(re.escape(part) for part in shape) for shape in shapes), re.S)
            told: defaultdict[int, int] = defaultdict(int)
            for message in session.exec(select(Message).where(Message.direction == Direction.SYSTEM)).all():
                if (
                    message.case_id is not None
                    and message.delivered_at is not None
                    and notice.fullmatch(message.text or "")
                ):
                    told[message.case_id] += 1
    finally:
        engine.dispose()
    to_page: list[float] = []
    to_claim: list[float] = []
    repages: list[int] = []
    untold = 0
    for person in people:
        case = case_of.get(person.address)
        if case is None or case.id is None:
            continue
        if case.id in first_page:
            to_page.append(first_page[case.id] - night.sent[person.address])
        if case.claimed_at is not None and case.escalated_at is not None:
            to_claim.append((case.claimed_at - case.escalated_at).total_seconds())
        later = max(0, paged[case.id] - 1)
        repages.append(later)
        untold += told[case.id] < later
    return Figures(
        people=len(people),
        paged=len(to_page),
        paged_within=sum(seconds <= WITHIN for seconds in to_page),
        page_p50=percentile(to_page, 50) if to_page else None,
        page_p99=percentile(to_page, 99) if to_page else None,
        claimed=len(to_claim),
        claim_p50=percentile(to_claim, 50) if to_claim else None,
        claim_p99=percentile(to_claim, 99) if to_claim else None,
        repages=sum(repages),
        most_repages=max(repages, default=0),
        presses=night.presses,
        unreached=sum(person.address not in reached for person in people),
        untold=untold,
    )


@contextlib.contextmanager
def _service(url: str, workdir: Path, plan: Plan) -> Iterator[tuple[str, str]]:
    """The fake platforms and ``madoguchi serve`` against them: (service URL, fake URL)."""
    minutes = plan.deadline / 60
    with platform(workdir) as fake:
        env = channel_env(fake) | {"MADOGUCHI_PAGE_DEADLINE_MINUTES": f"{minutes:g}", "MADOGUCHI_WORK": "inline"}
        with serve(url, workdir, env) as server:
            yield server.base_url, fake.base_url


def run_drill(echo: Echo, plan: Plan | None = None) -> Figures:
    """Run one night and print its figures."""
    plan = plan or Plan()
    people = plan_people(plan)
    with tempfile.TemporaryDirectory(prefix="madoguchi-drill-") as tmp:
        workdir = Path(tmp)
        url = f"sqlite:///{workdir / 'drill.db'}"
        prepare(url)
        with _service(url, workdir, plan) as (base_url, fake_url):
            # in a thread of its own: the caller may already run an event loop (pytest with Playwright does)
            with ThreadPoolExecutor(1) as thread:
                night = thread.submit(lambda: asyncio.run(_run_night(base_url, fake_url, url, plan, people))).result()
            _settle(url)
            night.calls = fake_calls_at(fake_url)
        result = figures(url, people, night)
    for line in result.lines(plan):
        echo(line)
    return result


def fake_calls_at(base_url: str) -> list[tuple[str, str, list[str], float]]:
    answer = httpx.get(base_url + "/_bench/calls", timeout=30)
    answer.raise_for_status()
    return [(str(k), str(t), [str(x) for x in texts], float(at)) for k, t, texts, at in answer.json()["calls"]]


__all__ = ["Figures", "Plan", "run_drill"]
