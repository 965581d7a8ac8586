"""``madoguchi bench --part webhooks``: LINE and Telegram webhooks acknowledged under a steady load.

What is measured. A real ``madoguchi serve`` per database (SQLite in a temporary file, PostgreSQL in
a throwaway schema), with both channels configured and pointed at fake LINE and Telegram APIs
(``tools.bench.fakes``, a process of its own), so while the acknowledgements are timed the receiver
really turns every stored event into a conversation turn and the dispatcher really sends the replies.
Events are ``POST /webhooks/line`` (one event per body, signed with the channel secret: a 1:1 text
message with a fresh ``webhookEventId``, reply token and ``quoteToken``) and ``POST
/webhooks/telegram`` (a private-chat text message with a fresh ``update_id`` and the secret header),
alternately, from about 300 people in turn, texts drawn with a fixed seed from
``intents/data/dev.jsonl`` (without the two that ask for the person's data to be deleted: a
forgotten person's rows could not be checked). The ack latency of an event runs from its scheduled
send time to its 200.

How. Open loop, as ``tools.bench.web``: event *i* is scheduled at ``t0 + i / rate`` whatever happened
to the ones before it (a platform does not wait for our answers either), so a stall shows in every
event due during it. The generator is one asyncio process with one aiohttp connection pool (up to
1000 connections), not httpx: here httpx costs about 1 ms of CPU per request (httpcore tries
``import sniffio`` again on every call when sniffio is not installed) and its pool falls over near
700 requests/s, which would have made the floor and the probe measure the client. Its own send lag
(scheduled time to the request going out) is reported; a probe step where its p99 passes 5 ms
misses, and is marked GEN when the server still answered in time from the real send (the client
fell behind, at its own limit or because both cores were full). Warm-up events (not counted) go
first and are processed before the clock starts.

Checked afterwards, once ``inbound_events`` has no pending row and, on SQLite, the inbound journal
(``storage.db.journal_url``) no row either (or a timeout has passed): an event
answered 200 is *lost* unless its row is ``done``, its key is in ``seen_events`` and exactly its
one inbound message is stored (matched by channel, address and arrival time); it is *duplicated*
when that message is there twice or more (or a conversation holds more inbound messages than events
sent to it). Both must be 0. At the fake, every reply stored for a person must have arrived exactly
once, in order; ack -> reply is the time from the 200 to the first reply of that event's turn
reaching the fake (one monotonic clock for both processes). The time from the last 200 until the
receiver had processed everything (the backlog drained) is reported too.

The floor, in the same run: ``tools.bench.fakes floor``, a bare Starlette endpoint under uvicorn in
its own process that checks the signature (the SDK's ``SignatureValidator``) or the secret header and
inserts the raw body into one table (SQLite with the same pragmas, or PostgreSQL), driven by the
same generator. A short probe then tries rising rates for 5 s each, on every system, waiting after
each step until madoguchi has processed its backlog (the time is shown); a step misses with p99 >=
20 ms, errors, under 95% of the rate achieved, or GEN, and is then run once more (another tenant's
burst on a shared machine should not end the probe); the probe stops at a step that misses twice,
or whose backlog is not processed within ``probe_drain_timeout`` (30 s: past that the work, not the
acknowledgement, is what the next step would measure, and a run would last an hour).
The highest step passed is the sustained rate. The goals (issues #4 and #12): p99 at most 50 ms at
200 events/s (issue 4 asked 20), a sustained rate at least a third of the floor's, nothing lost or
duplicated, the backlog drained afterwards. ``madoguchi serve`` runs once per count in
``WORK_PROCESSES`` (``MADOGUCHI_WORK_PROCESSES``: one, then two ``madoguchi work`` processes; the
probe only with one): the work rate, events answered over the seconds from the first scheduled send
until none was pending, is the work's own speed whenever it is below the offered rate.
``--quick`` is a 2 s smoke run at 50 events/s with no probe: a check that everything
works, not a measurement.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import itertools
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import aiohttp
import httpx

from tools.bench.web import (
    BUSY,
    DATABASES,
    START_TIMEOUT,
    Echo,
    Server,
    _cell,
    _loadavg,
    _log_problems,
    _stop,
    _verdict,
    _wait_ready,
    database,
    free_port,
    machine_cpu_seconds,
    percentile,
    postgres_cpu_seconds,
    put_on_call,
    serve,
)

SEED = 3
P99_GOAL_MS = 50.0  # issue 12's done-when (issue 4 asked 20 ms)
WORK_PROCESSES = (1, 2)  # ``MADOGUCHI_WORK_PROCESSES`` of the runs per database: the work's rate with one and two
FLOOR_SHARE_GOAL = 1 / 3
ACHIEVED_SHARE = 0.95  # a probe step passes only if at least this share of its rate was answered in time
LAG_LIMIT_MS = 5.0  # a step whose generator send lag p99 passes this misses (GEN if the server was in time)
POLL = 0.1  # seconds between looks at the backlog
LINE_SECRET = uuid.uuid4().hex
TELEGRAM_SECRET = f"bench-{uuid.uuid4().hex}"
TELEGRAM_TOKEN = "7000001:bench-token"
_RUNS = itertools.count(1)  # each load gets fresh people, event ids and update ids


@dataclass(frozen=True, slots=True)
class Plan:
    rate: float  # events per second
    seconds: float
    people: int  # about half on LINE, half on Telegram; each writes every people / rate seconds
    warmup: int  # events sent (and processed) first, not counted
    probe_rates: tuple[int, ...]
    probe_seconds: float
    drain_timeout: float  # seconds to wait for the receiver (and the dispatcher) after the main run
    probe_drain_timeout: float


FULL = Plan(
    rate=200,
    seconds=15,
    people=300,
    warmup=200,
    probe_rates=(50, 100, 200, 400, 800, 1600, 3200, 6400),
    probe_seconds=5,
    drain_timeout=600,  # the work turns ~10-40 events/s into conversations: 3000 events may take minutes
    probe_drain_timeout=30,  # the next step starts with at most this much of a backlog behind it
)
QUICK = Plan(
    rate=50,
    seconds=2,
    people=50,
    warmup=20,
    probe_rates=(),
    probe_seconds=0,
    drain_timeout=30,
    probe_drain_timeout=0,
)


# --- the events -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Event:
    """One webhook request to send: one platform event, its body ready and signed."""

    at: float  # seconds after the start
    channel: str  # line or telegram
    key: str  # the inbound_events key: line:<webhookEventId> or telegram:<update_id>
    address: str  # the LINE userId or the Telegram chat id, as the server stores it
    text: str
    path: str
    body: bytes
    headers: Mapping[str, str]


def load_texts() -> list[str]:
    """Every dev example's text, except those that ask for the person's data to be deleted."""
    from bot.conversation.texts import Texts
    from intents.dataset import DEV_FILE, load_examples
    from knowledge.loader import load_knowledge

    texts = Texts.load(load_knowledge())
    return [e.text for e in load_examples(DEV_FILE) if not texts.means("forget", e.text)]


def line_signature(secret: str, body: bytes) -> str:
    """X-Line-Signature: base64 of the HMAC-SHA256 of the raw body under the channel secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def line_event(run: int, number: int, user: str, text: str, when: float) -> tuple[str, bytes]:
    """(webhookEventId, body) of a 1:1 text message as LINE sends it: one event per body."""
    event_id = f"01BENCH{run:05d}{number:014d}"  # 26 characters, as a ULID
    event = {
        "type": "message",
        "mode": "active",
        "timestamp": int(when * 1000),
        "source": {"type": "user", "userId": user},
        "webhookEventId": event_id,
        "deliveryContext": {"isRedelivery": False},
        "replyToken": uuid.uuid4().hex,
        "message": {"id": str(600_000_000_000 + run * 1_000_000 + number), "type": "text", "text": text,
                    "quoteToken": base64.urlsafe_b64encode(os.urandom(24)).decode()},
    }  # fmt: skip
    body = {"destination": "U" + "b" * 32, "events": [event]}
    return event_id, json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def telegram_update(update_id: int, chat: int, text: str, when: float) -> bytes:
    sender = {"id": chat, "is_bot": False, "first_name": "ベンチ", "language_code": "ja"}
    message = {
        "message_id": update_id % 1_000_000,
        "date": int(when),
        "chat": {"id": chat, "type": "private", "first_name": "ベンチ"},
        "from": sender,
        "text": text,
    }
    return json.dumps({"update_id": update_id, "message": message}, ensure_ascii=False).encode()


def plan_events(texts: Sequence[str], rate: float, count: int, people: int, seed: int) -> list[Event]:
    """``count`` events at a steady ``rate``: LINE and Telegram in turn, round each channel's people in turn."""
    run = next(_RUNS)
    rng = random.Random(seed)
    line_people, telegram_people = max(1, people // 2), max(1, people - people // 2)
    now = time.time()
    events = []
    for number in range(count):
        text = rng.choice(texts)
        at = number / rate
        person = number // 2
        if number % 2 == 0:
            user = f"U{run:08x}{person % line_people:024x}"
            event_id, body = line_event(run, number, user, text, now + at)
            headers = {"Content-Type": "application/json; charset=utf-8", "X-Line-Signature": ""}
            headers["X-Line-Signature"] = line_signature(LINE_SECRET, body)
            events.append(Event(at, "line", f"line:{event_id}", user, text, "/webhooks/line", body, headers))
        else:
            chat = 5_000_000_000 + run * 100_000 + person % telegram_people
            update_id = run * 10_000_000 + number
            body = telegram_update(update_id, chat, text, now + at)
            headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
            key = f"telegram:{update_id}"
            events.append(Event(at, "telegram", key, str(chat), text, "/webhooks/telegram", body, headers))
    return events


def reply_token(event: Event) -> str | None:
    if event.channel != "line":
        return None
    token: str = json.loads(event.body)["events"][0]["replyToken"]
    return token


# --- processes ------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (Linux /proc); NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _helper_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "tools.bench.fakes", *args]


def _checkout_path() -> dict[str, str]:
    """``PYTHONPATH`` with this checkout first: the helper runs in a temporary directory; tools/ is not installed."""
    checkout = str(Path(__file__).resolve().parents[2])
    return {"PYTHONPATH": os.pathsep.join(p for p in (checkout, os.environ.get("PYTHONPATH", "")) if p)}


@contextlib.contextmanager
def helper(args: Sequence[str], workdir: Path, name: str, env: Mapping[str, str] | None = None) -> Iterator[Server]:
    """A ``tools.bench.fakes`` process on a free port, started and stopped here."""
    port = free_port()
    log_file = workdir / f"{name}-{port}.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            _helper_command(*args, "--port", str(port)),
            env=os.environ | _checkout_path() | dict(env or {}),
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log_file)
    try:
        yield server
    finally:
        _stop(process)


@contextlib.contextmanager
def platform(workdir: Path) -> Iterator[Server]:
    """The fake LINE and Telegram APIs, ready."""
    with helper(["platform"], workdir, "platform") as server:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if server.process.poll() is not None:
                raise RuntimeError(f"the fake platform exited:\n{server.log()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(server.base_url + "/_bench/ready", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the fake platform did not start:\n{server.log()[-2000:]}")
            time.sleep(0.05)
        yield server


@contextlib.contextmanager
def floor(url: str, workdir: Path) -> Iterator[Server]:
    """The bare endpoint on ``url``'s database, ready."""
    env = {"LINE_CHANNEL_SECRET": LINE_SECRET, "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET}
    with helper(["floor", "--database", url], workdir, "floor", env) as server:
        _wait_ready(server, "sqlite" if url.startswith("sqlite") else "postgresql")
        yield server


def channel_env(fake: Server) -> dict[str, str]:
    """Both channels on, talking to the fake platform."""
    return {
        "LINE_CHANNEL_SECRET": LINE_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": "bench-access-token",
        "LINE_API_BASE_URL": fake.base_url,
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": fake.base_url,
    }


# --- the load -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ack:
    event: Event
    status: int  # the HTTP status; 0 when no answer came; -1 for a 200 that stored nothing
    latency: float  # seconds from the scheduled time to the end of the answer
    lag: float  # seconds the request went out after its scheduled time (the generator's own delay)
    acked: float  # time.monotonic() at the end of the answer


@dataclass(frozen=True, slots=True)
class Load:
    acks: list[Ack]
    wall: float  # seconds the CPU figures were counted over
    client_cpu: float  # CPU seconds of this process
    cpu: dict[str, float]  # CPU seconds of each watched process (server, fake APIs, PostgreSQL)
    machine_cpu: float  # CPU seconds used by everything on the machine meanwhile

    @property
    def ok(self) -> list[Ack]:
        return [a for a in self.acks if a.status == 200]

    @property
    def span(self) -> float:
        """Seconds from the first scheduled send to the last answer."""
        return max((a.event.at + a.latency for a in self.acks), default=0.0)

    @property
    def last_ack(self) -> float:
        return max((a.acked for a in self.acks), default=time.monotonic())

    @property
    def achieved(self) -> float:
        return len(self.ok) / self.span if self.span else math.nan

    def share(self, seconds: float) -> float:
        """CPU seconds as a % of one core over the run."""
        return 100 * seconds / self.wall if self.wall else math.nan


async def _send(http: aiohttp.ClientSession, event: Event, due: float, out: list[Ack]) -> None:
    start = time.perf_counter()
    status = 0
    with contextlib.suppress(aiohttp.ClientError, TimeoutError):
        async with http.post(event.path, data=event.body, headers=event.headers) as answer:
            text = await answer.read()
            status = answer.status
            if status == 200 and b'"stored":1' not in text:
                status = -1
    end = time.perf_counter()
    out.append(Ack(event, status, end - due, start - due, time.monotonic()))


async def _fire(base_url: str, events: Sequence[Event]) -> list[Ack]:
    out: list[Ack] = []
    connector = aiohttp.TCPConnector(limit=1000, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base_url, connector=connector, timeout=timeout) as http:
        running: set[asyncio.Task[None]] = set()
        t0 = time.perf_counter() + 0.05
        for event in events:
            due = t0 + event.at
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(_send(http, event, due, out))
            running.add(task)
            task.add_done_callback(running.discard)
        while running:
            await asyncio.wait(set(running))
    return out


def fire(base_url: str, events: Sequence[Event], watched: Mapping[str, int]) -> Load:
    """Send ``events`` open loop; CPU of this process and of each ``watched`` pid (and PostgreSQL) meanwhile."""
    before = {name: cpu_seconds(pid) for name, pid in watched.items()}
    postgres, machine, client = postgres_cpu_seconds(), machine_cpu_seconds(), time.process_time()
    start = time.perf_counter()
    acks = asyncio.run(_fire(base_url, events))
    wall = time.perf_counter() - start
    cpu = {name: cpu_seconds(pid) - before[name] for name, pid in watched.items()}
    cpu["postgres"] = postgres_cpu_seconds() - postgres
    return Load(acks, wall, time.process_time() - client, cpu, machine_cpu_seconds() - machine)


# --- the backlog and the checks in the database ---------------------------------------------


class Backlog:
    """Reads the server's database while it runs (on SQLite without taking the write lock)."""

    def __init__(self, url: str) -> None:
        from storage.db import journal_url, make_engine, reader

        self.engine = make_engine(url, pool_size=2)
        self.read = reader(self.engine)
        journal = journal_url(url)  # SQLite: events wait there until the work adopts them
        self.journal = make_engine(journal, pool_size=1) if journal else None

    def close(self) -> None:
        self.engine.dispose()
        if self.journal is not None:
            self.journal.dispose()

    def pending(self) -> tuple[int, int]:
        """(inbound events not yet processed, in the database or still in the journal; outbox rows not yet sent)."""
        from sqlmodel import Session, func, select

        from storage.db import reader
        from storage.models import InboundEvent, InboundStatus, Outbox, OutboxStatus

        waiting = 0
        if self.journal is not None:
            with Session(reader(self.journal)) as session:
                waiting = session.exec(select(func.count()).select_from(InboundEvent)).one()
        with Session(self.read) as session:
            inbound = session.exec(
                select(func.count()).select_from(InboundEvent).where(InboundEvent.status == InboundStatus.PENDING)
            ).one()
            outbox = session.exec(
                select(func.count()).select_from(Outbox).where(Outbox.status == OutboxStatus.PENDING)
            ).one()
        return int(inbound) + int(waiting), int(outbox)

    def wait(self, since: float, timeout: float) -> tuple[float, float]:
        """Seconds after ``since`` (monotonic) until no event was pending, and until no reply was: inf past timeout."""
        deadline = time.monotonic() + timeout
        processed = sent = math.inf
        while time.monotonic() < deadline:
            inbound, outbox = self.pending()
            now = time.monotonic()
            if inbound == 0 and math.isinf(processed):
                processed = now - since
            if inbound == 0 and outbox == 0:
                sent = now - since
                break
            time.sleep(POLL)
        return processed, sent

    def snapshot(self) -> Snapshot:
        """Everything the checks need, for every LINE and Telegram person in the database."""
        from sqlmodel import Session, col, select

        from storage.models import Conversation, Direction, InboundEvent, Message, Outbox, SeenEvent

        with Session(self.read) as session:
            inbound = session.exec(
                select(InboundEvent.key, InboundEvent.status, InboundEvent.received_at, InboundEvent.error)
            ).all()
            seen = set(session.exec(select(SeenEvent.key)).all())
            people = {
                number: (channel, address)
                for number, channel, address in session.exec(
                    select(Conversation.id, Conversation.channel, Conversation.address)
                ).all()
            }
            messages = session.exec(
                select(Message.conversation_id, Message.direction, Message.created_at, Message.text).order_by(
                    col(Message.id)
                )
            ).all()
            unsent = session.exec(
                select(Outbox.channel, Outbox.address).where(Outbox.kind == "reply", Outbox.status != "sent")
            ).all()
        rows: defaultdict[str, list[tuple[str, dt.datetime, str | None]]] = defaultdict(list)
        for key, status, received, error in inbound:
            rows[key].append((str(status), received, error))
        ins: Counter[tuple[str, str, dt.datetime]] = Counter()
        out: defaultdict[tuple[str, str], list[tuple[dt.datetime, str]]] = defaultdict(list)
        for conversation, direction, created, text in messages:
            channel, address = people[conversation]
            if channel not in ("line", "telegram"):
                continue
            if direction == Direction.IN:
                ins[(channel, address, created)] += 1
            else:
                out[(channel, address)].append((created, text or ""))
        return Snapshot(dict(rows), seen, ins, dict(out), Counter((c, a) for c, a in unsent))


@dataclass(frozen=True, slots=True)
class Snapshot:
    inbound: dict[str, list[tuple[str, dt.datetime, str | None]]]  # key -> (status, received_at, error) per row
    seen: set[str]  # seen_events keys
    ins: Counter[tuple[str, str, dt.datetime]]  # inbound messages per (channel, address, created_at)
    out: dict[tuple[str, str], list[tuple[dt.datetime, str]]]  # replies per person, in order: (created_at, text)
    unsent: Counter[tuple[str, str]]  # reply rows not sent, per person


def fake_calls(fake: Server) -> list[tuple[str, str, list[str], float]]:
    answer = httpx.get(fake.base_url + "/_bench/calls", timeout=30)
    answer.raise_for_status()
    return [(str(k), str(t), [str(x) for x in texts], float(at)) for k, t, texts, at in answer.json()["calls"]]


@dataclass
class Checked:
    lost: int = 0
    lost_samples: list[str] = field(default_factory=list)
    failed: int = 0  # of the lost: given up by the receiver (status failed)
    pending: int = 0  # of the lost: still pending when the wait ended (late rather than lost, maybe)
    duplicated: int = 0
    unreplied: int = 0  # processed events whose turn stored no reply
    replies: int = 0
    missing: int = 0  # replies stored but never at the fake
    twice: int = 0  # replies at the fake more often than stored
    unsent: int = 0
    reused_tokens: int = 0
    line_calls: Counter[str] = field(default_factory=Counter)
    reply_after: list[float] = field(default_factory=list)  # seconds from the 200 to the first reply at the fake


def check(acks: Sequence[Ack], stored: Snapshot, calls: Sequence[tuple[str, str, list[str], float]]) -> Checked:
    result = Checked()
    ok = [a for a in acks if a.status == 200]
    received: dict[str, dt.datetime] = {}
    for ack in ok:
        event = ack.event
        rows = stored.inbound.get(event.key, [])
        if len(rows) > 1:
            result.duplicated += 1
            continue
        status, at = (rows[0][0], rows[0][1]) if rows else ("not stored", None)
        inbound = 0 if at is None else stored.ins.get((event.channel, event.address, at), 0)
        if at is None or status != "done" or event.key not in stored.seen or inbound == 0:
            result.lost += 1
            result.failed += status == "failed"
            result.pending += status == "pending"
            if len(result.lost_samples) < 5:
                why = f"row {status}, in seen_events: {event.key in stored.seen}, inbound messages: {inbound}"
                result.lost_samples.append(f"{event.key}: {why}")
            continue
        if inbound > 1:
            result.duplicated += 1
            continue
        received[event.key] = at
    # a person with more inbound messages than events sent to them has one twice (whatever its time)
    sent_to = Counter((a.event.channel, a.event.address) for a in ok)
    ins_per_person: Counter[tuple[str, str]] = Counter()
    for (channel, address, _), count in stored.ins.items():
        if (channel, address) in sent_to:
            ins_per_person[(channel, address)] += count
    result.duplicated = max(result.duplicated, sum((ins_per_person - sent_to).values()))
    _check_replies(result, ok, received, stored, calls)
    return result


def _check_replies(
    result: Checked,
    ok: Sequence[Ack],
    received: Mapping[str, dt.datetime],
    stored: Snapshot,
    calls: Sequence[tuple[str, str, list[str], float]],
) -> None:
    """Each event one turn of replies, each reply at the fake once and in order; ack -> first reply there."""
    people = {(a.event.channel, a.event.address) for a in ok}
    tokens = {token: a.event.address for a in ok if (token := reply_token(a.event))}
    at_fake: defaultdict[tuple[str, str], list[tuple[str, float]]] = defaultdict(list)
    for kind, target, texts, at in calls:
        if kind == "line-reply" and target in tokens:
            at_fake[("line", tokens[target])] += [(text, at) for text in texts]
        elif kind == "line-push" and ("line", target) in people:
            at_fake[("line", target)] += [(text, at) for text in texts]
        elif kind == "telegram-send" and ("telegram", target) in people:
            at_fake[("telegram", target)] += [(text, at) for text in texts]
        if kind == "line-reply-reused" and target in tokens:
            result.reused_tokens += 1
        if kind.startswith("line-") and (target in tokens or ("line", target) in people):
            result.line_calls[kind] += 1
    events_of: defaultdict[tuple[str, str], dict[dt.datetime, Ack]] = defaultdict(dict)
    for ack in ok:
        if ack.event.key in received:
            events_of[(ack.event.channel, ack.event.address)][received[ack.event.key]] = ack
    for person in people:
        replies = stored.out.get(person, [])
        delivered = at_fake.get(person, [])
        result.replies += len(replies)
        result.unsent += stored.unsent.get(person, 0)
        wanted, got = Counter(text for _, text in replies), Counter(text for text, _ in delivered)
        result.missing += sum((wanted - got).values())
        result.twice += sum((got - wanted).values())
        turns = Counter(created for created, _ in replies)
        result.unreplied += sum(1 for at in events_of[person] if turns[at] == 0)
        first: dict[dt.datetime, float] = {}
        for (created, wanted_text), (got_text, at) in zip(replies, delivered, strict=False):
            if wanted_text != got_text:
                break  # out of step (counted above): no timings past this point for this person
            first.setdefault(created, at)
        for created, ack in events_of[person].items():
            if created in first:
                result.reply_after.append(first[created] - ack.acked)


# --- figures --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    rate: int
    sent: int
    errors: int
    achieved: float
    p99: float  # ms
    lag_p99: float  # ms
    sent_p99: float  # ms from the request really going out to its answer (the latency without the send lag)
    drained: float  # seconds after the last answer until nothing was pending (inf: not within the timeout)
    retried: bool = False  # the first try missed: this is the second

    @property
    def generator_bound(self) -> bool:
        """The client fell behind, and the server answered in time from when each request really went out."""
        return self.lag_p99 > LAG_LIMIT_MS and self.sent_p99 < P99_GOAL_MS

    @property
    def passed(self) -> bool:
        return (
            self.errors == 0
            and self.p99 < P99_GOAL_MS
            and self.achieved >= ACHIEVED_SHARE * self.rate
            and self.lag_p99 <= LAG_LIMIT_MS
        )


@dataclass
class HookFigures:
    """Everything printed for one system (madoguchi serve or the floor, on one database)."""

    system: str
    floor: bool = False
    work_processes: int = 1  # ``madoguchi work`` processes behind the server
    skipped: str = ""
    sent: int = 0
    errors: int = 0
    error_kinds: dict[int, int] = field(default_factory=dict)
    achieved: float = math.nan
    latency: dict[str, float] = field(default_factory=dict)  # p50, p90, p99, max in ms
    lag: dict[str, float] = field(default_factory=dict)  # p99, max in ms
    checked: Checked | None = None
    floor_rows: int = -1
    processed_after: float = math.nan  # s from the last answer until no event was pending
    work_rate: float = math.nan  # events processed per second, from the first scheduled send until none was pending
    sent_after: float = math.nan  # s from the last answer until no reply was pending either
    reply: dict[str, float] = field(default_factory=dict)  # ack -> first reply at the fake, p50, p99 in ms
    cpu: dict[str, float] = field(default_factory=dict)  # % of one core
    log_problems: dict[str, int] = field(default_factory=dict)
    log_samples: list[str] = field(default_factory=list)
    probe: list[Step] = field(default_factory=list)

    @property
    def best(self) -> int:
        """The highest probe rate that passed (0: none)."""
        return max((s.rate for s in self.probe if s.passed), default=0)

    @property
    def best_is_bound(self) -> bool:
        """The probe stopped because of the generator: the true highest rate is at least ``best``."""
        return bool(self.probe) and self.probe[-1].generator_bound


def _ms(values: Sequence[float], p: float) -> float:
    return percentile(values, p) * 1000


def _latencies(acks: Sequence[Ack]) -> dict[str, float]:
    seconds = [a.latency for a in acks]
    return {"p50": _ms(seconds, 50), "p90": _ms(seconds, 90), "p99": _ms(seconds, 99), "max": _ms(seconds, 100)}


def _load_figures(figures: HookFigures, load: Load, names: Mapping[str, str]) -> None:
    ok = load.ok
    figures.sent = len(load.acks)
    figures.errors = len(load.acks) - len(ok)
    figures.error_kinds = dict(Counter(a.status for a in load.acks if a.status != 200))
    figures.achieved = load.achieved
    figures.latency = _latencies(ok)
    lags = [a.lag for a in load.acks]
    figures.lag = {"p99": _ms(lags, 99), "max": _ms(lags, 100)}
    figures.cpu = {"client": load.share(load.client_cpu)}
    for name, label in names.items():
        figures.cpu[label] = load.share(load.cpu.get(name, math.nan))
    work = [figures.cpu.pop(label) for label in list(figures.cpu) if label.startswith("work ")]
    figures.cpu["work"] = sum(work) if work else math.nan
    watched = sum(v for v in load.cpu.values() if not math.isnan(v))
    figures.cpu["other"] = load.share(load.machine_cpu - load.client_cpu - watched)


def _step(rate: int, load: Load, drained: float) -> Step:
    ok = load.ok
    return Step(
        rate,
        len(load.acks),
        len(load.acks) - len(ok),
        load.achieved,
        _latencies(ok)["p99"],
        _ms([a.lag for a in load.acks], 99),
        _ms([a.latency - a.lag for a in ok], 99),
        drained,
    )


# --- one system -----------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    """The processes ``madoguchi serve`` started (its ``madoguchi work`` processes; Linux /proc)."""
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _measure_server(server: Server, fake: Server, url: str, plan: Plan, texts: Sequence[str], f: HookFigures) -> None:
    watched = {"server": server.process.pid, "fake": fake.process.pid}
    watched |= {f"work {n}": pid for n, pid in enumerate(_children(server.process.pid))}
    names = {name: name for name in watched} | {"postgres": "postgres"}
    backlog = Backlog(url)
    try:
        warm = fire(server.base_url, plan_events(texts, plan.rate, plan.warmup, plan.people, SEED + 1000), watched)
        backlog.wait(warm.last_ack, plan.drain_timeout)
        events = plan_events(texts, plan.rate, round(plan.rate * plan.seconds), plan.people, SEED)
        load = fire(server.base_url, events, watched)
        _load_figures(f, load, names)
        f.processed_after, f.sent_after = backlog.wait(load.last_ack, plan.drain_timeout)
        f.work_rate = len(load.ok) / (load.span + f.processed_after)
        f.checked = check(load.acks, backlog.snapshot(), fake_calls(fake))
        f.reply = {"p50": _ms(f.checked.reply_after, 50), "p99": _ms(f.checked.reply_after, 99)}

        def step(rate: int, seed: int) -> Step:
            events = plan_events(texts, rate, round(rate * plan.probe_seconds), plan.people, seed)
            load = fire(server.base_url, events, watched)
            processed, _ = backlog.wait(load.last_ack, plan.probe_drain_timeout)
            return _step(rate, load, processed)

        if f.work_processes == 1:  # the probe once per database: the acks do not depend on the work's processes
            f.probe = _probe(step, plan)
    finally:
        backlog.close()


def _measure_floor(server: Server, url: str, plan: Plan, texts: Sequence[str], f: HookFigures) -> None:
    from tools.bench.fakes import floor_rows

    watched = {"server": server.process.pid}
    names = {"server": "server", "postgres": "postgres"}
    fire(server.base_url, plan_events(texts, plan.rate, plan.warmup, plan.people, SEED + 1000), watched)
    before = floor_rows(url)
    load = fire(
        server.base_url, plan_events(texts, plan.rate, round(plan.rate * plan.seconds), plan.people, SEED), watched
    )
    _load_figures(f, load, names)
    f.floor_rows = floor_rows(url) - before

    def step(rate: int, seed: int) -> Step:
        events = plan_events(texts, rate, round(rate * plan.probe_seconds), plan.people, seed)
        return _step(rate, fire(server.base_url, events, watched), math.nan)

    f.probe = _probe(step, plan)


def _probe(step: Callable[[int, int], Step], plan: Plan) -> list[Step]:
    """Rising steady rates until one misses twice in a row (a single miss may be another tenant's burst)."""
    steps = []
    for number, rate in enumerate(plan.probe_rates):
        result = step(rate, SEED + 100 + number)
        if not result.passed:
            result = replace(step(rate, SEED + 200 + number), retried=True)
        steps.append(result)
        if not result.passed or math.isinf(result.drained):
            break
    return steps


def _skipped(exc: Exception) -> str:
    lines = str(exc).splitlines() or [""]
    return f"{type(exc).__name__}: {lines[0]}"


def bench_database(
    kind: str, plan: Plan, texts: Sequence[str], processes: Sequence[int] = WORK_PROCESSES
) -> list[HookFigures]:
    """``madoguchi serve`` on a fresh ``kind`` database with each count of work processes, then the floor."""
    figures = [HookFigures(_system(kind, n), work_processes=n) for n in processes]
    bare = HookFigures(f"floor {kind}", floor=True)
    with tempfile.TemporaryDirectory(prefix="madoguchi-bench-hooks-") as tmp:
        workdir = Path(tmp)
        for real in figures:
            _measure_serve(kind, plan, texts, real, workdir / f"work{real.work_processes}")
        (workdir / "floor").mkdir()
        try:
            with database(kind, workdir / "floor") as url, floor(url, workdir) as server:
                _measure_floor(server, url, plan, texts, bare)
                bare.log_problems, bare.log_samples = _log_problems(server.log())
        except Exception as exc:
            bare.skipped = _skipped(exc)
    return [*figures, bare]


def _system(kind: str, processes: int) -> str:
    return f"{kind}, {processes} work" if processes != 1 else kind


def _measure_serve(kind: str, plan: Plan, texts: Sequence[str], real: HookFigures, workdir: Path) -> None:
    workdir.mkdir()
    env = {"MADOGUCHI_WORK": "apart", "MADOGUCHI_WORK_PROCESSES": str(real.work_processes)}
    try:
        with database(kind, workdir) as url:
            put_on_call(url)
            with platform(workdir) as fake, serve(url, workdir, channel_env(fake) | env) as server:
                _measure_server(server, fake, url, plan, texts, real)
            real.log_problems, real.log_samples = _log_problems(server.log())
    except Exception as exc:  # PostgreSQL not there, a server that did not start: said in the table
        real.skipped = _skipped(exc)


# --- the tables -----------------------------------------------------------------------------

WIDTH = 40
COLUMN = 17


def _table(rows: Sequence[tuple[str, Sequence[str], str]], heads: Sequence[str]) -> list[str]:
    lines = [f"{'':{WIDTH}}" + "".join(f"{head:>{COLUMN}}" for head in heads)]
    for label, cells, note in rows:
        lines.append((f"{label:{WIDTH}}" + "".join(f"{cell:>{COLUMN}}" for cell in cells) + f"   {note}").rstrip())
    return lines


def _rows(figures: Sequence[HookFigures], plan: Plan) -> list[tuple[str, list[str], str]]:
    def each(get: Callable[[HookFigures], float | int | str], digits: int = 1, serve_only: bool = False) -> list[str]:
        cells = []
        for f in figures:
            value = get(f) if not (serve_only and f.floor) else "-"
            cells.append(value if isinstance(value, str) else _cell(value, digits))
        return cells

    def check_of(get: Callable[[Checked], int]) -> Callable[[HookFigures], int | str]:
        return lambda f: get(f.checked) if f.checked is not None else "-"

    serving = [f for f in figures if not f.floor]

    def goal(text: str, met: Callable[[HookFigures], bool]) -> str:
        return f"{text}: " + " / ".join(_verdict(met(f)) for f in serving) if serving else ""

    return [
        ("events sent", each(lambda f: f.sent), ""),
        ("errors (non-200, no answer, stored 0)", each(lambda f: f.errors), ""),
        ("achieved events/s", each(lambda f: f.achieved), ""),
        ("ack p50 ms", each(lambda f: f.latency["p50"]), ""),
        ("ack p90 ms", each(lambda f: f.latency["p90"]), ""),
        ("ack p99 ms", each(lambda f: f.latency["p99"]), goal(f"goal < {P99_GOAL_MS:.0f} ms", _p99_met)),
        ("ack max ms", each(lambda f: f.latency["max"]), ""),
        ("events lost", each(check_of(lambda c: c.lost), serve_only=True), goal("must be 0", _lost_met)),
        ("  of which still pending after the wait", each(check_of(lambda c: c.pending), serve_only=True), ""),
        ("events duplicated", each(check_of(lambda c: c.duplicated), serve_only=True), goal("must be 0", _dup_met)),
        ("bodies stored by the floor", each(lambda f: f.floor_rows if f.floor else "-"), ""),
        ("all processed, s after the last 200", each(lambda f: _seconds(f.processed_after, plan), serve_only=True), ""),
        ("all replies sent, s after the last 200", each(lambda f: _seconds(f.sent_after, plan), serve_only=True), ""),
        ("work processes", each(lambda f: f.work_processes, serve_only=True), ""),
        (
            "work rate, events/s (first send -> none pending)",
            each(lambda f: f.work_rate, serve_only=True),
            f"below {plan.rate:g}: the work's own speed",
        ),
        ("replies stored per event", each(_replies_per_event, 2, True), ""),
        ("  events whose turn stored no reply", each(check_of(lambda c: c.unreplied), serve_only=True), ""),
        ("  replies not at the fake API (yet)", each(check_of(lambda c: c.missing), serve_only=True), ""),
        ("  replies at the fake API twice", each(check_of(lambda c: c.twice), serve_only=True), ""),
        ("  reply rows unsent when the wait ended", each(check_of(lambda c: c.unsent), serve_only=True), ""),
        ("LINE reply / push / loading calls", each(_line_calls, serve_only=True), ""),
        ("ack -> first reply at the API p50 ms", each(lambda f: f.reply["p50"], 0, True), ""),
        ("ack -> first reply at the API p99 ms", each(lambda f: f.reply["p99"], 0, True), ""),
        ("generator send lag p99 ms", each(lambda f: f.lag["p99"]), ""),
        ("CPU, % of one core: bench client", each(lambda f: f.cpu["client"], 0), ""),
        ("  server (madoguchi serve / floor)", each(lambda f: f.cpu["server"], 0), ""),
        ("  madoguchi work (all its processes)", each(lambda f: f.cpu.get("work", math.nan), 0), ""),
        ("  fake LINE/Telegram APIs", each(lambda f: f.cpu.get("fake", math.nan), 0), ""),
        ("  PostgreSQL (all its processes)", each(lambda f: f.cpu["postgres"], 0), ""),
        ("  everything else on the machine", each(lambda f: f.cpu["other"], 0), ""),
        ("server log: 'database is locked'", each(lambda f: f.log_problems.get("database is locked", 0)), ""),
        ("server log: ERROR / WARNING lines", each(_log_errors), ""),
    ]


def _seconds(value: float, plan: Plan) -> str:
    """Seconds, or how long was waited when it did not happen."""
    return f"> {plan.drain_timeout:.0f}" if math.isinf(value) else _cell(value, 2)


def _replies_per_event(f: HookFigures) -> float:
    if f.checked is None or not f.sent:
        return math.nan
    return f.checked.replies / max(1, f.sent - f.errors)


def _line_calls(f: HookFigures) -> str:
    if f.checked is None:
        return "-"
    calls = f.checked.line_calls
    return f"{calls['line-reply']}/{calls['line-push']}/{calls['line-loading']}"


def _log_errors(f: HookFigures) -> str:
    return f"{f.log_problems.get('ERROR', 0)} / {f.log_problems.get('WARNING', 0)}"


def _p99_met(f: HookFigures) -> bool:
    return f.errors == 0 and f.latency["p99"] < P99_GOAL_MS


def _lost_met(f: HookFigures) -> bool:
    return f.checked is not None and f.checked.lost == 0


def _dup_met(f: HookFigures) -> bool:
    return f.checked is not None and f.checked.duplicated == 0 and f.checked.twice == 0


def _step_cell(step: Step, floor: bool) -> str:
    errors = f" {step.errors}err" if step.errors else ""
    drained = ""
    if not floor:
        drained = " drain>" if math.isinf(step.drained) else f" {step.drained:.1f}s"
    verdict = "GEN" if step.generator_bound else _verdict(step.passed)
    return f"{step.achieved:.0f} p99 {step.p99:.0f}{errors}{drained} {verdict}{'*' if step.retried else ''}"


def _probe_lines(figures: Sequence[HookFigures], plan: Plan) -> list[str]:
    rates = sorted({step.rate for f in figures for step in f.probe})
    if not rates:
        return []
    column = 26
    lines = [
        "",
        f"short probe: {plan.probe_seconds:g} s per step, fresh people; each cell: achieved/s, ack p99 ms, "
        "and for madoguchi the seconds",
        f"after the last 200 until every event was processed (drain> = not within {plan.probe_drain_timeout:g} s). "
        f"A step misses with p99 >= {P99_GOAL_MS:.0f} ms,",
        f"errors, under {ACHIEVED_SHARE:.0%} of the rate, or the generator's send lag p99 over {LAG_LIMIT_MS:g} ms "
        "(GEN when the server still answered in time",
        "from the real send: the client fell behind, at its own limit or with both cores full); a step that misses "
        "is run once",
        "more (*: the second try); the probe stops at the first step that misses twice",
        f"{'':10}" + "".join(f"{f.system:>{column}}" for f in figures),
    ]
    for rate in rates:
        cells = []
        for f in figures:
            step = next((s for s in f.probe if s.rate == rate), None)
            cells.append("-" if step is None else _step_cell(step, f.floor))
        lines.append(f"{f'{rate}/s':10}" + "".join(f"{cell:>{column}}" for cell in cells))
    best = [(f"{f.best}/s" if f.best else "none") + ("+" if f.best_is_bound else "") for f in figures]
    lines.append(f"{'highest':10}" + "".join(f"{b:>{column}}" for b in best))
    if any(f.best_is_bound for f in figures):
        lines.append("+ : the probe stopped where the generator fell behind: the server's own limit may be higher")
    return lines


def _goal_lines(figures: Sequence[HookFigures], plan: Plan) -> list[str]:
    serving = [f for f in figures if not f.floor]
    if not serving:
        return []
    column = 26
    rows: list[tuple[str, list[str]]] = [
        (f"ack p99 <= {P99_GOAL_MS:.0f} ms at {plan.rate:g} events/s (floor)", []),
        ("sustained >= 1/3 of the floor's", []),
        ("events lost 0, duplicated 0", []),
        ("backlog drained, s after the last 200", []),
        ("work rate, events/s", []),
    ]
    for f in serving:
        kind = f.system.split(",")[0]
        bare = next((g for g in figures if g.system == f"floor {kind}"), None)
        floor_p99 = f" ({_cell(bare.latency['p99'])})" if bare is not None and bare.latency else ""
        rows[0][1].append(f"{_cell(f.latency['p99'])}{floor_p99} ms {_verdict(_p99_met(f))}")
        if f.probe and bare is not None and bare.probe:
            ratio = f.best / bare.best if bare.best else math.nan
            plus = "+" if bare.best_is_bound else ""
            rows[1][1].append(f"{f.best}/{bare.best}{plus} = {_cell(ratio, 3)} {_verdict(ratio >= FLOOR_SHARE_GOAL)}")
        else:
            rows[1][1].append("no probe")
        rows[2][1].append(_verdict(_lost_met(f) and _dup_met(f)))
        rows[3][1].append(f"{_seconds(f.processed_after, plan)} {_verdict(not math.isinf(f.processed_after))}")
        rows[4][1].append(f"{_cell(f.work_rate)} ({f.work_processes} process{'es' if f.work_processes > 1 else ''})")
    lines = ["", f"{'goals (issues #4, #12)':{WIDTH}}" + "".join(f"{f.system:>{column}}" for f in serving)]
    lines += [f"{label:{WIDTH}}" + "".join(f"{cell:>{column}}" for cell in cells) for label, cells in rows]
    if any("+ =" in cell for cell in rows[1][1]):
        lines.append("+ : the floor's probe stopped where the generator fell behind: its rate may be higher")
    lines.append(
        f"work rate: events answered / seconds from the first scheduled send until none was pending; "
        f"under {plan.rate:g} it is the work's own speed"
    )
    return lines


def report(figures: Sequence[HookFigures], plan: Plan) -> list[str]:
    count = round(plan.rate * plan.seconds)
    lines = [
        "webhooks: POST /webhooks/line + /webhooks/telegram on a real `madoguchi serve` per database (receiver and "
        "dispatcher running,",
        "replies going to fake LINE/Telegram APIs in their own process); the floor: a bare endpoint that checks the "
        "signature and",
        "INSERTs the raw body (tools.bench.fakes floor), on the same database kind, driven by the same generator",
        f"open loop at {plan.rate:g} events/s for {plan.seconds:g} s: {count} events, LINE (signed, one event per "
        f"body) and Telegram in turn,",
        f"{plan.people} people (each every {plan.people / plan.rate:g} s), dev.jsonl texts (seed {SEED}); "
        f"{plan.warmup} warm-up events first, processed and not counted",
        "ack: from each event's scheduled send time to its 200",
    ]
    for f in figures:
        if f.skipped:
            lines.append(f"{f.system}: not measured: {f.skipped}")
    measured = [f for f in figures if not f.skipped]
    if measured:
        lines += ["", *_table(_rows(measured, plan), [f.system for f in measured]), *_probe_lines(measured, plan)]
        lines += _goal_lines(measured, plan)
    for f in measured:
        if f.checked is not None:
            lines += [f"{f.system} lost: {sample}" for sample in f.checked.lost_samples]
        if f.error_kinds:
            kinds = ", ".join(f"{_status_name(k)} x{n}" for k, n in sorted(f.error_kinds.items()))
            lines.append(f"{f.system} errors: {kinds}")
        lines += [f"{f.system} server log: {sample}" for sample in f.log_samples]
    if busy := [f.system for f in measured if f.cpu.get("other", 0) > BUSY]:
        lines.append(
            f"note: other work kept the machine busy during the {' and '.join(busy)} run "
            "('everything else' row): those figures are pessimistic"
        )
    lines.append(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {_loadavg()}")
    return lines


def _status_name(status: int) -> str:
    return {0: "no answer", -1: "200 but stored 0"}.get(status, f"HTTP {status}")


def run_webhook_bench(echo: Echo, *, quick: bool = False, databases: Sequence[str] = DATABASES) -> list[HookFigures]:
    """Measure each database in turn (madoguchi serve, then the floor), print the tables, return the figures."""
    plan = QUICK if quick else FULL
    texts = load_texts()
    figures: list[HookFigures] = []
    for kind in databases:  # each database's tables as soon as it is done: a long run shows its figures early
        measured = bench_database(kind, plan, texts)
        for line in report(measured, plan):
            echo(line)
        figures += measured
    return [f for f in figures if not f.floor] + [f for f in figures if f.floor]
