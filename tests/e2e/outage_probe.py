"""A LINE outage against a real ``madoguchi serve``, in real time: what is lost, what goes twice (issue 10).

Not a test (it takes minutes): run it from a checkout to measure,

    PYTHONPATH=. .venv/bin/python -m tests.e2e.outage_probe [--people 22] [--down 150] [--throttled 30]

It starts the fake LINE API and a ``madoguchi serve`` on a fresh SQLite file,
has ``--people`` people write two messages each (one urgent) while LINE answers
500 for ``--down`` seconds and then 429 with ``Retry-After: 5`` for
``--throttled`` seconds, and waits until every reply is sent or given up. It
prints the counts: replies expected, delivered, lost, delivered twice; retries
that came sooner than a Retry-After; and when the last reply went out.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import itertools
import json
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from storage.db import make_engine
from storage.models import Conversation, Direction, Message, Outbox, OutboxStatus
from tests.builders import URGENT_TEXT
from tests.e2e.server import running_server
from tests.fakes.events import line_body, line_text
from tests.fakes.line_api import FakeLine
from tests.fakes.platform import Failure
from tests.fakes.serve import serve_in_thread

SECRET = "probe-line-channel-secret"
RETRY_AFTER = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=22)
    parser.add_argument("--down", type=float, default=150.0, help="seconds of 500s")
    parser.add_argument("--throttled", type=float, default=30.0, help="seconds of 429s after them")
    parser.add_argument("--limit", type=float, default=1800.0, help="give up waiting after this many seconds")
    args = parser.parse_args()
    line = FakeLine()
    start = time.monotonic()
    line.script.clock = lambda: time.monotonic() - start

    def outage(seconds: float) -> Failure | None:
        if seconds < args.down:
            return Failure(500)
        if seconds < args.down + args.throttled:
            return Failure(429, retry_after=RETRY_AFTER)
        return None

    line.script.outage = outage
    folder = Path(tempfile.mkdtemp(prefix="outage-probe-"))
    url = f"sqlite:///{folder / 'madoguchi.db'}"
    env = {"LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": "probe-token"}
    with serve_in_thread(line.app) as line_url:
        env["LINE_API_BASE_URL"] = line_url
        with running_server(url, log_dir=folder, env=env) as server:
            server.add_coordinator("tonight", password="probe-on-call-pass", on_call_rank=0)
            people = [f"U{n:032x}" for n in range(1, args.people + 1)]
            start = time.monotonic()  # the outage starts now
            whose: dict[str, str] = {}  # reply token -> person
            for person in people:
                for text in (URGENT_TEXT, "ひとりです"):
                    event = line_text(text, user=person)
                    whose[f"reply:{event['replyToken']}"] = person
                    raw = json.dumps(line_body(event), ensure_ascii=False).encode()
                    signature = base64.b64encode(hmac.new(SECRET.encode(), raw, hashlib.sha256).digest()).decode()
                    answer = httpx.post(
                        server.url("/webhooks/line"), content=raw, headers={"X-Line-Signature": signature}
                    )
                    answer.raise_for_status()
            engine = make_engine(url)
            while time.monotonic() - start < args.limit and _pending(engine):
                time.sleep(1.0)
            _report(engine, line, whose, time.monotonic() - start, args.down + args.throttled)


def _pending(engine: Engine) -> int:
    with Session(engine) as session:
        query = select(Outbox.id).where(Outbox.channel == "line", Outbox.status == OutboxStatus.PENDING)
        return len(session.exec(query).all())


def _report(engine: Engine, line: FakeLine, whose: dict[str, str], waited: float, recovered_at: float) -> None:
    """Counts of what each person saw (by push, or on the reply token of one of their messages) against the
    transcript of what they were to be told."""
    people = sorted(set(whose.values()))
    with Session(engine) as session:
        rows = session.exec(select(Outbox).where(Outbox.channel == "line")).all()
        expected: dict[str, list[str]] = defaultdict(list)
        query = (
            select(Conversation.address, Message.text)
            .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
            .where(Message.direction != Direction.IN)
            .order_by(col(Message.id))
        )
        for address, text in session.exec(query).all():
            expected[address].append(text or "")
    seen: dict[str, list[str]] = defaultdict(list)
    for target, text in line.delivered:
        seen[whose.get(target, target)].append(text)
    lost = twice = out_of_order = 0
    for person in people:
        counts, wanted = Counter(seen[person]), Counter(expected[person])
        lost += sum((wanted - counts).values())
        twice += sum((counts - wanted).values())
        out_of_order += seen[person] != expected[person] and counts == wanted
    early = _early_retries(line)
    sends = [call for call in line.script.calls if call.path.endswith(("/message/push", "/message/reply"))]
    last = max((call.at for call in sends if call.answer in (200, 409)), default=0.0)
    urgent_lost = sum(1 for row in rows if row.status == OutboxStatus.FAILED and row.urgent)
    print(f"replies expected {sum(len(v) for v in expected.values())} in {len(rows)} sends to {len(people)} people")
    print(f"sends: {Counter(str(row.status) for row in rows)}; urgent sends given up: {urgent_lost}")
    print(f"lost {lost}, delivered twice {twice}, out of order {out_of_order}")
    print(f"LINE sends {len(sends)} ({Counter(call.answer for call in sends)}); sooner than Retry-After: {early}")
    print(f"last delivery {last:.1f} s after the outage began ({last - recovered_at:.1f} s after LINE recovered)")
    print(f"waited {waited:.0f} s in all")


def _early_retries(line: FakeLine) -> int:
    """Tries of the same push (one retry key) that came sooner than the Retry-After of the 429 before them."""
    by_key: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for call in line.script.to("/message/push"):
        by_key[call.headers.get("x-line-retry-key", "")].append((call.at, call.answer))
    early = 0
    for tries in by_key.values():
        for (at, answer), (next_at, _) in itertools.pairwise(tries):
            early += answer == 429 and next_at < at + RETRY_AFTER
    return early


if __name__ == "__main__":
    main()
