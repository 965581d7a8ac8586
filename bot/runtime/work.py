"""The work behind the 200: the receiver, the dispatcher, the re-pager and the purger, run together.

Where it runs is the setting ``MADOGUCHI_WORK``: ``apart`` (the default) makes
``madoguchi serve`` start ``madoguchi work`` as a process of its own (or
``MADOGUCHI_WORK_PROCESSES`` of them), so a burst of events never shares the
acknowledging process's interpreter, nor on SQLite its write lock (the webhooks
store into the inbound journal, ``storage.db.open_journal``); ``inline`` runs
it inside the web app, in one process; ``elsewhere`` runs none, for a web-only
machine while ``madoguchi work`` runs on others (one PostgreSQL: every step
claims its rows with a conditional UPDATE, so several workers share the work).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import Engine

from bot.channels import Channel, Sender, registry, webpush
from bot.channels.web import WebSender
from bot.channels.webpush import WebPushSender
from bot.conversation import load_context
from bot.desk import Desk, linking
from bot.metrics import WRITE_EVERY
from bot.runtime.dispatcher import Dispatcher
from bot.runtime.pump import every
from bot.runtime.purger import Purger
from bot.runtime.receiver import Receiver
from bot.runtime.repager import Repager
from bot.settings import Settings
from storage.db import make_engine, open_journal, upgrade

log = logging.getLogger(__name__)
#: In a process of its own nothing wakes the receiver when a webhook stored an event: it looks this often.
APART_RECEIVE_INTERVAL = 0.1


class Work:
    """The four loops over one engine and desk; ``receiver.wake`` is what the webhooks set when in the same process."""

    def __init__(
        self,
        engine: Engine,
        desk: Desk,
        channels: Mapping[str, Channel],
        senders: Mapping[str, Sender] | None = None,
        *,
        receive_interval: float = 0.5,
        journal: Engine | None = None,
    ) -> None:
        shows = WebSender()
        inline: dict[str, Sender] = {row.name: shows for row in registry.ROWS if row.inline}
        self.engine, self.desk, self.receive_interval = engine, desk, receive_interval
        self.receiver = Receiver(engine, channels, desk, journal=journal)
        self.webpush = WebPushSender(linking.ensure_vapid(engine, desk), desk.vapid_subject)
        self.senders: dict[str, Sender] = {**inline, webpush.NAME: self.webpush, **channels, **(senders or {})}

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``; a loop that fails does not stop the others."""
        try:
            await asyncio.gather(
                self.receiver.run(stop, self.receive_interval),
                Dispatcher(self.engine, self.senders, self.desk).run(stop),
                Repager(self.engine, self.desk).run(stop),
                Purger(self.engine, self.desk).run(stop),
                return_exceptions=True,
            )
        finally:
            await self.webpush.close()


async def work_apart(settings: Settings, ready_fd: int | None = None, metrics_dir: Path | None = None) -> None:
    """``madoguchi work``: the loops without the web app, until SIGTERM or SIGINT.

    ``ready_fd``: a pipe to write one line to once everything is loaded (``madoguchi serve`` waits for it).
    ``metrics_dir``: where to write this process's counters for the web app's ``/metrics`` (``bot.metrics``).
    """
    if settings.work_nice:
        os.nice(settings.work_nice)  # the acknowledging process wins the CPU: the work only catches up later
    engine = make_engine(settings.database_url)
    upgrade(engine)
    desk = Desk.build(load_context(), settings)
    desk.ctx.faq(desk.region)  # built now, not by the first person's message
    channels = registry.build_channels(settings)
    journal = open_journal(engine)
    work = Work(engine, desk, channels, receive_interval=APART_RECEIVE_INTERVAL, journal=journal)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)
    for channel in channels.values():
        await channel.start()
    try:
        if ready_fd is not None:
            os.write(ready_fd, b"ready\n")
            os.close(ready_fd)
        log.info("work ready: database %s, channels %s", engine.dialect.name, ", ".join(sorted(channels)) or "none")
        if metrics_dir is None:
            await work.run(stop)
        else:
            write = functools.partial(desk.metrics.write_to, metrics_dir)
            await asyncio.gather(work.run(stop), every(write, stop, WRITE_EVERY, "metrics"))
            write()  # the last counts
    finally:
        for channel in channels.values():
            await channel.close()
        journal.dispose()
        engine.dispose()
