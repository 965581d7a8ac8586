"""``madoguchi bench --part web``: chat messages through the whole engine and storage, under a steady load.

What is measured. A real ``madoguchi serve`` (the web app, the outbox dispatcher and the re-pager in
one process) is started per database: SQLite in a temporary file, PostgreSQL in a throwaway schema
(dropped afterwards). One coordinator is on call in nemuro around the clock, so every urgent case
pages them. Each message is ``POST /chat/api/messages``: the engine and all its storage in one
transaction, then the transcript read back, exactly as the chat page does it.

How. Open loop: message *i* is *scheduled* at ``t0 + i / rate`` whatever happened to the ones before
it, and its latency runs from that scheduled time to the end of its response. A server that stalls
for 200 ms shows every message due during the stall as late; a closed loop would have sent them late
and timed them from the late send, hiding the stall ("coordinated omission"). Messages go round the
people in turn, so each person writes every few seconds (4 s); each person has their own cookie
and CSRF token from ``GET /chat/``, passes the cursor back as the page's script does, and never has
two messages in flight (a late reply delays their next message, and that delay is counted). Texts are
drawn with a fixed seed from ``intents/data/dev.jsonl``, about a third of them urgent.

Checked afterwards in the database: every urgent message's case has a page row in the outbox,
enqueued before its response came back (one without is a failure); the page enqueued -> sent
delay is the outbox's ``sent_at - created_at`` (``created_at`` is the message's arrival at the
server). A short probe then tries rising steady rates for a few seconds each, until p99 reaches the
goal. The client is one asyncio process with one httpx connection pool; its CPU time, the server's,
PostgreSQL's and everything else's are reported, since all share the machine's two cores, and the
generator's own send lag shows whether the client kept to its schedule. ``--quick`` is a 2 s smoke
run on fewer people with no probe: a check that everything works, not a measurement.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import math
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

Echo = Callable[[str], None]

DATABASES = ("sqlite", "postgresql")
#: This checkout, first on the server's path: the venv's editable install may point at another worktree.
CHECKOUT = str(Path(__file__).resolve().parents[2])
#: The web chat's paging budget lifted: the bench measures speed, not the limits (``tools.bench.limits`` does).
NO_CHAT_BUDGET = {
    "MADOGUCHI_CHAT_NEW_PER_ADDRESS": "1000000",
    "MADOGUCHI_CHAT_PAGES_PER_ADDRESS": "1000000",
    "MADOGUCHI_CHAT_PAGES_PER_HOUR": "1000000",
}
POSTGRES_URL = os.environ.get("MADOGUCHI_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REGION = "nemuro"
SEED = 3
P99_GOAL_MS = 50.0
PAGE_GOAL_MS = 1000.0
START_TIMEOUT = 180.0  # serve waits for its work processes to load the model, side by side
DISPATCH_WAIT = 5.0  # seconds to let the dispatcher send the last pages before the outbox is read
BUSY = 30.0  # % of one core used by unrelated processes that is worth a note under the table
LOG_PROBLEMS = ("database is locked", "QueuePool limit", "Traceback", "ERROR", "WARNING", "step failed")


@dataclass(frozen=True, slots=True)
class Plan:
    rate: float  # messages per second
    seconds: float
    gap: float  # seconds between one person's messages, so there are about rate x gap people
    warmup: int  # messages sent first and not counted
    probe_rates: tuple[int, ...]
    probe_seconds: float


FULL = Plan(
    rate=50, seconds=20, gap=4.0, warmup=40, probe_rates=(50, 60, 70, 80, 90, 100, 120, 150, 200), probe_seconds=5
)
QUICK = Plan(rate=50, seconds=2, gap=0.5, warmup=10, probe_rates=(), probe_seconds=0)


@dataclass(frozen=True, slots=True)
class Shot:
    """One message to send: who, when (seconds after the start) and what."""

    person: int
    at: float
    text: str
    urgent: bool


@dataclass(slots=True)
class Person:
    token: str  # the madoguchi_chat cookie
    csrf: str
    cursor: str = ""


@dataclass(frozen=True, slots=True)
class Done:
    shot: Shot
    status: int  # 0 when no response came (connection error, timeout)
    latency: float  # seconds from the scheduled time to the end of the response
    lag: float  # seconds the send started late, past both its time and the person's previous answer
    finished: dt.datetime  # wall clock (UTC) at the end of the response


@dataclass(frozen=True, slots=True)
class Run:
    done: list[Done]
    people: list[Person]
    wall: float  # seconds the CPU figures below were counted over
    client_cpu: float  # seconds of this process's CPU while driving
    server_cpu: float  # seconds of the server's CPU meanwhile
    postgres_cpu: float  # seconds of every postgres process's CPU meanwhile
    machine_cpu: float  # seconds of CPU used by everything on the machine meanwhile

    @property
    def ok(self) -> list[Done]:
        return [d for d in self.done if d.status == 200]

    @property
    def span(self) -> float:
        """Seconds from the first scheduled send to the last response."""
        return max((d.shot.at + d.latency for d in self.done), default=0.0)

    def cpu_share(self, seconds: float) -> float:
        """CPU seconds as a % of one core over the run."""
        return 100 * seconds / self.wall if self.wall else math.nan


@dataclass(frozen=True, slots=True)
class Step:
    rate: int
    sent: int
    errors: int
    achieved: float
    p99: float  # ms

    @property
    def passed(self) -> bool:
        return self.errors == 0 and self.p99 < P99_GOAL_MS


@dataclass
class WebFigures:
    """Everything printed for one database."""

    database: str
    skipped: str = ""
    sent: int = 0
    errors: int = 0
    achieved: float = math.nan
    latency: dict[str, float] = field(default_factory=dict)  # p50, p90, p99, max in ms
    urgent: int = 0
    unpaged: int = 0
    urgent_p99: float = math.nan
    page_sent: dict[str, float] = field(default_factory=dict)  # p50, p99 in ms
    unsent: int = 0
    client_cpu: float = math.nan  # % of one core
    server_cpu: float = math.nan
    postgres_cpu: float = math.nan
    other_cpu: float = math.nan  # every other process on the machine
    lag_p99: float = math.nan  # ms
    log_problems: dict[str, int] = field(default_factory=dict)
    log_samples: list[str] = field(default_factory=list)
    probe: list[Step] = field(default_factory=list)


# --- figures --------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _ms(values: Sequence[float], p: float) -> float:
    return percentile(values, p) * 1000


def _latencies(done: Sequence[Done]) -> dict[str, float]:
    seconds = [d.latency for d in done]
    return {"p50": _ms(seconds, 50), "p90": _ms(seconds, 90), "p99": _ms(seconds, 99), "max": _ms(seconds, 100)}


# --- the messages ---------------------------------------------------------------------------


def load_texts() -> list[tuple[str, bool]]:
    """(text, pages at once) of every dev example.

    Whether a message pages is what the classifier reads (``now``), not its label: the bench measures
    that every page the engine decides on is enqueued in time; the classifier's accuracy is
    ``madoguchi eval``'s to measure.
    """
    from intents.classifier import Classifier
    from intents.dataset import DEV_FILE, load_examples

    classifier = Classifier.load()
    return [(example.text, classifier.classify(example.text).urgent) for example in load_examples(DEV_FILE)]


def plan_shots(texts: Sequence[tuple[str, bool]], rate: float, count: int, people: int, seed: int) -> list[Shot]:
    """``count`` messages at a steady ``rate``, round the ``people`` in turn, texts drawn with ``seed``."""
    rng = random.Random(seed)
    shots = []
    for i in range(count):
        text, urgent = rng.choice(texts)
        shots.append(Shot(person=i % people, at=i / rate, text=text, urgent=urgent))
    return shots


def people_for(rate: float, count: int, gap: float) -> int:
    return max(1, min(count, round(rate * gap)))


# --- the database and the server ------------------------------------------------------------


@contextlib.contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """A URL for an empty database of ``kind``: a SQLite file in ``workdir``, or a fresh PostgreSQL schema."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def put_on_call(url: str) -> None:
    """The schema, and one coordinator on call in the region around the clock (as ``madoguchi rota add`` does)."""
    from bot.desk.rota import add_slot
    from bot.web.auth import add_coordinator
    from storage.db import make_engine, session_scope, upgrade
    from storage.types import utcnow

    engine = make_engine(url)
    try:
        upgrade(engine)
        with session_scope(engine) as session:
            add_coordinator(
                session, login="bench", name="bench", password="bench-password", regions=[REGION], at=utcnow()
            )
            add_slot(session, login="bench", region=REGION, days="0123456", start="00:00", end="24:00")
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


CHECKOUT = str(Path(__file__).resolve().parents[2])


def _serve_command() -> list[str]:
    script = Path(sys.executable).with_name("madoguchi")
    if script.exists():
        return [str(script), "serve"]
    return [sys.executable, "-c", "from bot.cli import main; main()", "serve"]


def postgres_cpu_seconds() -> float:
    """CPU seconds of every live ``postgres`` process (its backends included), from /proc; NaN elsewhere."""
    total = 0.0
    try:
        stats = list(Path("/proc").glob("[0-9]*/stat"))
    except OSError:
        return math.nan
    for stat in stats:
        with contextlib.suppress(OSError, IndexError, ValueError):
            head, rest = stat.read_text().rsplit(")", 1)
            if head.split("(", 1)[1] == "postgres":
                fields = rest.split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def machine_cpu_seconds() -> float:
    """CPU seconds used by every process since boot, all cores (Linux /proc/stat); NaN elsewhere."""
    try:
        ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return math.nan
    idle = ticks[3] + ticks[4]  # idle and iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    log_file: Path

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process so far (Linux /proc); NaN elsewhere."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return math.nan
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")


@contextlib.contextmanager
def serve(url: str, workdir: Path, extra_env: Mapping[str, str] | None = None) -> Iterator[Server]:
    """``madoguchi serve`` on a free port, ready (``/healthz`` answers for this database) or raising.

    ``extra_env`` adds settings (the webhook bench's channel secrets and fake API addresses).
    """
    port = free_port()
    env = os.environ | {"MADOGUCHI_DATABASE_URL": url, "MADOGUCHI_COOKIE_SECURE": "false", "MADOGUCHI_REGION": REGION}
    env |= NO_CHAT_BUDGET  # every bench visitor comes from 127.0.0.1, and each urgent one is to page
    env |= {"PYTHONPATH": os.pathsep.join(p for p in (CHECKOUT, os.environ.get("PYTHONPATH", "")) if p)}
    env |= dict(extra_env or {})
    log_file = workdir / f"serve-{port}.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [*_serve_command(), "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=workdir,  # not the checkout: no .env file there to mix in
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log_file)
    try:
        _wait_ready(server, "sqlite" if url.startswith("sqlite") else "postgresql")
        yield server
    finally:
        _stop(process)


def _wait_ready(server: Server, dialect: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:  # exited: a port taken meanwhile, a bad URL...
            raise RuntimeError(f"madoguchi serve exited ({server.process.returncode}):\n{server.log()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            answer = httpx.get(server.base_url + "/healthz", timeout=2)
            if answer.status_code == 200 and answer.json().get("database") == dialect:
                return
        time.sleep(0.1)
    raise RuntimeError(f"madoguchi serve not ready after {START_TIMEOUT:.0f} s:\n{server.log()[-2000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown: the workers stop, the pool closes
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the load -------------------------------------------------------------------------------

_CSRF = re.compile(r'data-csrf="([^"]+)"')
_COOKIE = re.compile(r"madoguchi_chat=([^;]+)")


def client(base_url: str) -> httpx.AsyncClient:
    """One pool for everyone; the cookie jar refuses all cookies, each person sends their own."""
    from http.cookiejar import CookieJar, DefaultCookiePolicy

    no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
    return httpx.AsyncClient(base_url=base_url, cookies=no_cookies, limits=limits, timeout=30)


async def open_person(http: httpx.AsyncClient) -> Person:
    """A new person: the chat page's cookie and the CSRF token in it."""
    page = await http.get("/chat/")
    page.raise_for_status()
    cookie = next(m for header in page.headers.get_list("set-cookie") if (m := _COOKIE.search(header)))
    csrf = _CSRF.search(page.text)
    if csrf is None:
        raise RuntimeError("no data-csrf on the chat page")
    return Person(token=cookie[1], csrf=csrf[1])


async def open_people(http: httpx.AsyncClient, count: int) -> list[Person]:
    gate = asyncio.Semaphore(4)

    async def one() -> Person:
        async with gate:
            return await open_person(http)

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def post(http: httpx.AsyncClient, person: Person, text: str, client_id: str) -> int:
    """Send one message as ``person``; the status (0 for no response). Keeps the cursor, as the page does."""
    headers = {"X-CSRF-Token": person.csrf, "Cookie": f"madoguchi_chat={person.token}"}
    body = {"text": text, "client_id": client_id, "cursor": person.cursor}
    try:
        answer = await http.post("/chat/api/messages", json=body, headers=headers)
    except httpx.HTTPError:
        return 0
    if answer.status_code == 200:
        person.cursor = answer.json()["cursor"]
    return answer.status_code


async def _talk(
    http: httpx.AsyncClient, person: Person, shots: list[tuple[int, Shot]], t0: float, out: list[Done]
) -> None:
    """One person's messages, each at its time or as soon as the previous one is answered."""
    end = t0
    for number, shot in shots:
        due = t0 + shot.at
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        sent = time.perf_counter()
        lag = sent - max(due, end)  # the generator's own delay (waiting for the person's last answer is not)
        status = await post(http, person, shot.text, f"bench-{t0:.0f}-{number:06d}")
        end = time.perf_counter()
        out.append(Done(shot, status, end - due, lag, dt.datetime.now(dt.UTC)))


async def drive(http: httpx.AsyncClient, people: list[Person], shots: list[Shot], server: Server) -> Run:
    """Send ``shots`` open loop; the people must be opened already."""
    by_person: dict[int, list[tuple[int, Shot]]] = defaultdict(list)
    for number, shot in enumerate(shots):
        by_person[shot.person].append((number, shot))
    done: list[Done] = []
    cpu, server_cpu, machine = time.process_time(), server.cpu_seconds(), machine_cpu_seconds()
    postgres = postgres_cpu_seconds()
    start = time.perf_counter()
    t0 = start + 0.05  # a moment to start every person's task
    await asyncio.gather(*(_talk(http, people[p], mine, t0, done) for p, mine in by_person.items()))
    return Run(
        done,
        people,
        wall=time.perf_counter() - start,
        client_cpu=time.process_time() - cpu,
        server_cpu=server.cpu_seconds() - server_cpu,
        postgres_cpu=postgres_cpu_seconds() - postgres,
        machine_cpu=machine_cpu_seconds() - machine,
    )


async def load(
    server: Server, texts: Sequence[tuple[str, bool]], rate: float, seconds: float, gap: float, seed: int
) -> Run:
    """A steady ``rate`` for ``seconds`` from fresh people (opened before the clock starts)."""
    count = max(1, round(rate * seconds))
    async with client(server.base_url) as http:
        people = await open_people(http, people_for(rate, count, gap))
        return await drive(http, people, plan_shots(texts, rate, count, len(people), seed), server)


# --- checks in the database -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    address: str
    created_at: dt.datetime
    sent_at: dt.datetime | None


def read_pages(url: str) -> list[Page]:
    """Every page row of a web-chat case, with the address (the cookie's hash) of the person it is about."""
    from sqlmodel import Session, col, select

    from storage.db import make_engine
    from storage.models import Case, Conversation, Outbox

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            rows = session.exec(
                select(Conversation.address, Outbox.created_at, Outbox.sent_at)
                .join(Case, col(Case.conversation_id) == col(Conversation.id))
                .join(Outbox, col(Outbox.case_id) == col(Case.id))
                .where(Outbox.kind == "page", Conversation.channel == "web")
            ).all()
    finally:
        engine.dispose()
    return [Page(address, created, sent) for address, created, sent in rows]


def chat_address(token: str) -> str:
    """The conversation address the server keeps for a chat cookie: its SHA-256 (``bot.web.chat``)."""
    return hashlib.sha256(token.encode()).hexdigest()


def wait_dispatched(url: str, addresses: set[str]) -> list[Page]:
    """The run's pages, once the dispatcher has sent them all (or ``DISPATCH_WAIT`` has passed)."""
    deadline = time.monotonic() + DISPATCH_WAIT
    while True:
        pages = [page for page in read_pages(url) if page.address in addresses]
        if all(page.sent_at is not None for page in pages) or time.monotonic() > deadline:
            return pages
        time.sleep(0.2)


def unpaged(run: Run, pages: Sequence[Page]) -> list[Done]:
    """Urgent messages answered 200 whose person has no page enqueued by the time the answer came."""
    first: dict[str, dt.datetime] = {}
    for page in pages:
        first[page.address] = min(page.created_at, first.get(page.address, page.created_at))
    missing = []
    for done in run.ok:
        address = chat_address(run.people[done.shot.person].token)
        if done.shot.urgent and not (address in first and first[address] <= done.finished):
            missing.append(done)
    return missing


# --- one database ---------------------------------------------------------------------------


def _log_problems(text: str) -> tuple[dict[str, int], list[str]]:
    counts = {needle.strip(): text.count(needle) for needle in LOG_PROBLEMS}
    samples = list(dict.fromkeys(line[:200] for line in text.splitlines() if any(n in line for n in LOG_PROBLEMS)))
    return counts, samples[:5]


def _main_figures(figures: WebFigures, run: Run, pages: Sequence[Page]) -> None:
    ok = run.ok
    figures.sent = len(run.done)
    figures.errors = len(run.done) - len(ok)
    figures.achieved = len(ok) / run.span if run.span else math.nan
    figures.latency = _latencies(ok)
    urgent = [d for d in ok if d.shot.urgent]
    missing = unpaged(run, pages)
    figures.urgent = sum(1 for d in run.done if d.shot.urgent)
    figures.unpaged = len(missing) + sum(1 for d in run.done if d.shot.urgent and d.status != 200)
    figures.urgent_p99 = _ms([d.latency for d in urgent if d not in missing], 99)
    delays = [(p.sent_at - p.created_at).total_seconds() for p in pages if p.sent_at is not None]
    figures.page_sent = {"p50": _ms(delays, 50), "p99": _ms(delays, 99)}
    figures.unsent = sum(1 for p in pages if p.sent_at is None)
    figures.client_cpu = run.cpu_share(run.client_cpu)
    figures.server_cpu = run.cpu_share(run.server_cpu)
    figures.postgres_cpu = run.cpu_share(run.postgres_cpu)
    figures.other_cpu = run.cpu_share(run.machine_cpu - run.client_cpu - run.server_cpu - run.postgres_cpu)
    figures.lag_p99 = _ms([d.lag for d in run.done], 99)


async def _probe(server: Server, texts: Sequence[tuple[str, bool]], plan: Plan) -> list[Step]:
    """Rising steady rates, a few seconds each, until one misses the p99 goal."""
    steps = []
    for number, rate in enumerate(plan.probe_rates):
        run = await load(server, texts, rate, plan.probe_seconds, plan.gap, SEED + 100 + number)
        ok = run.ok
        achieved = len(ok) / run.span if run.span else math.nan
        steps.append(Step(rate, len(run.done), len(run.done) - len(ok), achieved, _latencies(ok)["p99"]))
        if not steps[-1].passed:
            break
    return steps


async def _measure(server: Server, url: str, plan: Plan, figures: WebFigures) -> None:
    texts = load_texts()
    await load(server, texts, plan.rate, plan.warmup / plan.rate, plan.gap, SEED + 1000)  # warm-up: not counted
    run = await load(server, texts, plan.rate, plan.seconds, plan.gap, SEED)
    addresses = {chat_address(person.token) for person in run.people}
    pages = await asyncio.to_thread(wait_dispatched, url, addresses)
    _main_figures(figures, run, pages)
    figures.probe = await _probe(server, texts, plan)


def bench_database(kind: str, plan: Plan) -> WebFigures:
    figures = WebFigures(kind)
    with tempfile.TemporaryDirectory(prefix="madoguchi-bench-") as tmp:
        workdir = Path(tmp)
        try:
            with database(kind, workdir) as url:
                put_on_call(url)
                with serve(url, workdir) as server:
                    asyncio.run(_measure(server, url, plan, figures))
                figures.log_problems, figures.log_samples = _log_problems(server.log())
        except Exception as exc:  # PostgreSQL not there, a server that did not start: said in the table
            lines = str(exc).splitlines() or [""]
            figures.skipped = f"{type(exc).__name__}: {lines[0]}"
    return figures


# --- the table ------------------------------------------------------------------------------


def _cell(value: float | int, digits: int = 1) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def _rows(figures: Sequence[WebFigures]) -> list[tuple[str, list[str], str]]:
    """(label, one cell per database, goal and verdicts) for the main table."""

    def each(get: Callable[[WebFigures], float | int], digits: int = 1) -> list[str]:
        return [_cell(get(f), digits) for f in figures]

    def goal(text: str, met: Callable[[WebFigures], bool]) -> str:
        return f"{text}: " + " / ".join(_verdict(met(f)) for f in figures)

    return [
        ("messages sent", each(lambda f: f.sent), ""),
        ("errors (non-200 or no answer)", each(lambda f: f.errors), ""),
        ("achieved msgs/s", each(lambda f: f.achieved), ""),
        ("latency p50 ms", each(lambda f: f.latency["p50"]), ""),
        ("latency p90 ms", each(lambda f: f.latency["p90"]), ""),
        ("latency p99 ms", each(lambda f: f.latency["p99"]), goal("goal < 50 ms", _p99_met)),
        ("latency max ms", each(lambda f: f.latency["max"]), ""),
        ("urgent messages", each(lambda f: f.urgent), ""),
        ("  without a page enqueued", each(lambda f: f.unpaged), ""),
        ("  urgent -> page enqueued p99 ms", each(lambda f: f.urgent_p99), goal("goal < 1 s", _page_met)),
        ("page enqueued -> sent p50 ms", each(lambda f: f.page_sent["p50"], 0), ""),
        ("page enqueued -> sent p99 ms", each(lambda f: f.page_sent["p99"], 0), ""),
        (f"  pages unsent {DISPATCH_WAIT:.0f} s after the run", each(lambda f: f.unsent), ""),
        ("generator send lag p99 ms", each(lambda f: f.lag_p99), ""),
        ("CPU, % of one core: bench client", each(lambda f: f.client_cpu, 0), ""),
        ("  madoguchi serve", each(lambda f: f.server_cpu, 0), ""),
        ("  PostgreSQL (all its processes)", each(lambda f: f.postgres_cpu, 0), ""),
        ("  everything else on the machine", each(lambda f: f.other_cpu, 0), ""),
        ("server log: 'database is locked'", each(lambda f: f.log_problems.get("database is locked", 0)), ""),
        ("server log: ERROR / WARNING lines", [_log_errors(f) for f in figures], ""),
    ]


def _log_errors(figures: WebFigures) -> str:
    return f"{figures.log_problems.get('ERROR', 0)} / {figures.log_problems.get('WARNING', 0)}"


def _p99_met(figures: WebFigures) -> bool:
    return figures.errors == 0 and figures.latency["p99"] < P99_GOAL_MS


def _page_met(figures: WebFigures) -> bool:
    return figures.unpaged == 0 and figures.urgent_p99 < PAGE_GOAL_MS


def _table(rows: Sequence[tuple[str, Sequence[str], str]], heads: Sequence[str]) -> list[str]:
    width = 36
    lines = [f"{'':{width}}" + "".join(f"{head:>12}" for head in heads)]
    for label, cells, note in rows:
        lines.append((f"{label:{width}}" + "".join(f"{cell:>12}" for cell in cells) + f"   {note}").rstrip())
    return lines


def _probe_lines(figures: Sequence[WebFigures], plan: Plan) -> list[str]:
    rates = sorted({step.rate for f in figures for step in f.probe})
    if not rates:
        return []
    lines = [
        "",
        f"short probe: {plan.probe_seconds:.0f} s per step, fresh people, stop at the first step missing p99 < 50 ms",
        f"{'':36}" + "".join(f"{f.database:>24}" for f in figures),
    ]
    for rate in rates:
        cells = []
        for f in figures:
            step = next((s for s in f.probe if s.rate == rate), None)
            cells.append("-" if step is None else _step_cell(step))
        lines.append(f"{f'{rate}/s':36}" + "".join(f"{cell:>24}" for cell in cells))
    best = [max((s.rate for s in f.probe if s.passed), default=0) for f in figures]
    lines.append(f"{'highest steady rate, p99 < 50 ms':36}" + "".join(f"{f'{b}/s' if b else 'none':>24}" for b in best))
    return lines


def _step_cell(step: Step) -> str:
    errors = f" {step.errors} err" if step.errors else ""
    return f"{step.achieved:.0f}/s p99 {step.p99:.0f} ms{errors} {_verdict(step.passed)}"


def report(figures: Sequence[WebFigures], plan: Plan, urgent_share: float) -> list[str]:
    count = round(plan.rate * plan.seconds)
    lines = [
        "web chat: POST /chat/api/messages through the whole engine and storage (one `madoguchi serve` per database)",
        f"open loop at {plan.rate:g} msgs/s for {plan.seconds:g} s: {count} messages from "
        f"{people_for(plan.rate, count, plan.gap)} people ({plan.gap:g} s apart each, one at a time), "
        f"{urgent_share:.0%} urgent (dev.jsonl, seed {SEED})",
        f"latency: from each message's scheduled send time to its response; {plan.warmup} warm-up messages not counted",
    ]
    for f in figures:
        if f.skipped:
            lines.append(f"{f.database}: not measured: {f.skipped}")
    measured = [f for f in figures if not f.skipped]
    if measured:
        lines += ["", *_table(_rows(measured), [f.database for f in measured]), *_probe_lines(measured, plan)]
    for f in measured:
        for sample in f.log_samples:
            lines.append(f"{f.database} server log: {sample}")
    if busy := [f.database for f in measured if f.other_cpu > BUSY]:
        lines.append(
            f"note: other work kept the machine busy during the {' and '.join(busy)} run "
            "('everything else' row): those figures are pessimistic"
        )
    lines.append(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {_loadavg()}")
    return lines


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def _urgent_share(plan: Plan) -> float:
    count = round(plan.rate * plan.seconds)
    shots = plan_shots(load_texts(), plan.rate, count, people_for(plan.rate, count, plan.gap), SEED)
    return sum(shot.urgent for shot in shots) / len(shots)


def run_web_bench(echo: Echo, *, quick: bool = False, databases: Sequence[str] = DATABASES) -> list[WebFigures]:
    """Measure each database in turn, print the table, and return the figures."""
    plan = QUICK if quick else FULL
    figures = [bench_database(kind, plan) for kind in databases]
    for line in report(figures, plan, _urgent_share(plan)):
        echo(line)
    return figures
