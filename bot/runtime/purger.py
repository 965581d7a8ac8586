"""The purger: blanks text older than the retention setting, once an hour (``storage.privacy``).

Message text, raw event bodies, outbox payloads and resolved cases' free text.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

from sqlalchemy import Engine

from bot.desk import Desk
from bot.runtime.pump import every
from storage import db, privacy
from storage.db import session_scope
from storage.types import utcnow

Clock = Callable[[], dt.datetime]


class Purger:
    """Blanks message text older than the retention setting, once an hour."""

    def __init__(self, engine: Engine, desk: Desk, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.desk = desk
        self.clock = clock

    async def run_once(self) -> int:
        return await asyncio.to_thread(self.purge)

    def purge(self) -> int:
        with session_scope(self.engine) as session:
            purged = privacy.purge_text(session=session, before=self.clock() - self.desk.retention)
        db.scrub(self.engine)  # no old copy of the blanked text left in the database file
        return purged

    async def run(self, stop: asyncio.Event, interval: float = 3600.0) -> None:
        await every(self.run_once, stop, interval, "purge")
