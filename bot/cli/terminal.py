"""``madoguchi chat``: talk to the bot in the terminal, as a person would, over the same engine and storage.

Each run is a new person on the ``terminal`` channel. Quick-reply buttons are
shown numbered; typing the number presses the button. Cases, pages and the
coordinator queue are real (the same database as ``madoguchi serve``), so a
coordinator's reply from the web shows up here after the next Enter.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable

from sqlalchemy import Engine
from sqlmodel import Session

from bot.channels.base import Arrival
from bot.channels.web import WebSender
from bot.conversation import Choice, Inbound, Reply
from bot.desk import Desk
from bot.desk.inbox import deliver
from bot.desk.labels import WORDS
from bot.runtime.dispatcher import Dispatcher
from storage import messages, people
from storage.models import Direction, row_id
from storage.types import utcnow

Printer = Callable[[str], None]
LATER = {Direction.COORDINATOR: WORDS.terminal.coordinator, Direction.SYSTEM: WORDS.terminal.system}


def _show(reply: Reply, echo: Printer, who: str = WORDS.terminal.bot) -> None:
    pad = " " * (len(who) * 2 + 2)
    echo(f"{who}> " + reply.text.replace("\n", "\n" + pad))
    if reply.choices:
        echo(pad + "  ".join(f"[{i}] {c.label}" for i, c in enumerate(reply.choices, start=1)))


def _inbound(text: str, choices: tuple[Choice, ...]) -> Inbound:
    now = utcnow()
    if text.isdigit() and 1 <= int(text) <= len(choices):
        choice = choices[int(text) - 1]
        return Inbound(choice.label, now, choice.value)
    return Inbound(text, now)


class _Later:
    """Messages that reach the person after their turn: notices and coordinators' replies."""

    def __init__(self, engine: Engine, desk: Desk, address: str) -> None:
        web = WebSender()
        self.dispatcher = Dispatcher(engine, {"terminal": web}, desk)
        self.engine, self.address, self.cursor = engine, address, ""

    def fetch(self) -> list[tuple[str, str]]:
        asyncio.run(self.dispatcher.run_once())
        with Session(self.engine) as session:
            conversation = people.conversation_for(session=session, channel="terminal", address=self.address)
            if conversation is None:
                return []
            rows, self.cursor = messages.shown_since(
                session=session, conversation_id=row_id(conversation), cursor=self.cursor
            )
            return [(LATER[Direction(row.direction)], row.text or "") for row in rows if row.direction in LATER]


def run_chat(desk: Desk, engine: Engine, read: Callable[[str], str], echo: Printer = print) -> None:
    """The loop; ``read`` is ``input`` in a terminal and a list in tests. Ends on EOF or Ctrl-C."""
    address = "terminal-" + secrets.token_hex(6)
    later = _Later(engine, desk, address)
    region = desk.ctx.kb.region(desk.region).name
    echo(WORDS.terminal.intro.format(region=region))
    choices: tuple[Choice, ...] = ()
    while True:
        try:
            text = read(f"{WORDS.terminal.you}> ")
        except (EOFError, KeyboardInterrupt):
            echo("")
            return
        if not text.strip():
            for who, said in later.fetch():
                _show(Reply(said), echo, who)
            continue
        handled = deliver(engine, desk, Arrival("terminal", address, _inbound(text.strip(), choices)))
        for reply in handled.replies:
            _show(reply, echo)
        if handled.paged:
            echo(f"  [coordinator PAGED NOW: case #{handled.case_id}]")
        elif handled.case_id is not None:
            echo(f"  [case #{handled.case_id}]")
        for who, said in later.fetch():
            _show(Reply(said), echo, who)
        choices = handled.replies[-1].choices if handled.replies else ()
