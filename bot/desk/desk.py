"""The desk: what every service behind the channels shares, built once by the app or the CLI.

Plain data and objects, no I/O of its own: the engine's context (classifier,
knowledge base, words), the default region, the paging deadline and the metrics.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.conversation import Context
from bot.metrics import Metrics
from bot.settings import Settings
from storage.outbox import Schedule


@dataclass
class Desk:
    ctx: Context
    region: str = "nemuro"
    page_deadline: dt.timedelta = dt.timedelta(minutes=5)
    retention: dt.timedelta = dt.timedelta(days=365)
    check_silence: dt.timedelta = dt.timedelta(minutes=3)  # an unanswered check after a risk cue pages then
    metrics: Metrics = field(default_factory=Metrics)
    public_url: str | None = None  # where the coordinator pages are reachable, for links in pages
    web_pages_per_hour: int = 6  # the web chat's paging budget in all; the re-pager keeps it for checks
    delivery: Schedule = field(default_factory=Schedule)  # the outbox's retries: when, and for how long
    page_fallback: dt.timedelta = dt.timedelta(seconds=60)  # a page failing this long goes on the next channel
    vapid_private_key: str | None = None  # Web Push: from the settings; else made once and kept in the database
    vapid_subject: str = "mailto:madoguchi@localhost"

    @staticmethod
    def schedule_from(settings: Settings) -> Schedule:
        return Schedule(
            base=settings.outbox_first_wait_seconds,
            cap=settings.outbox_max_wait_seconds,
            give_up_after=dt.timedelta(hours=settings.outbox_give_up_hours),
            lease=dt.timedelta(seconds=settings.outbox_lease_seconds),
        )

    @classmethod
    def build(cls, ctx: Context, settings: Settings) -> Desk:
        return cls(
            ctx=ctx,
            region=settings.region,
            page_deadline=dt.timedelta(minutes=settings.page_deadline_minutes),
            retention=dt.timedelta(days=settings.retention_days),
            check_silence=dt.timedelta(minutes=settings.check_silence_minutes),
            public_url=settings.public_url,
            web_pages_per_hour=settings.chat_pages_per_hour,
            delivery=cls.schedule_from(settings),
            page_fallback=dt.timedelta(seconds=settings.page_fallback_seconds),
            vapid_private_key=settings.vapid_private_key.get_secret_value() if settings.vapid_private_key else None,
            vapid_subject=settings.vapid_subject or _https(settings.public_url) or "mailto:madoguchi@localhost",
        )

    @property
    def deadline_minutes(self) -> str:
        return f"{self.page_deadline.total_seconds() / 60:g}"


def _https(url: str | None) -> str | None:
    """A VAPID subject must be ``mailto:`` or ``https:``: the public URL serves only when it is https."""
    return url if url and url.startswith("https://") else None
