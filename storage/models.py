"""The tables. One class per table; the shapes the pages show live in ``bot.web``.

People are pseudonymous: a ``Conversation`` holds the channel's opaque id
(LINE user id, Telegram chat id, a random web-chat token), never a name.
Cases keep the reporter (who writes) apart from the person concerned, and keep
their whole history as ``CaseEvent`` rows. Times are aware UTC
(``UTCDateTime``); the pages show them in Asia/Tokyo.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


def _when(*, nullable: bool = True, index: bool = False) -> Any:
    """A UTC datetime column (a fresh Column object each time, as SQLAlchemy needs)."""
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def _json_dict() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


#: SQLite would hand a deleted row's id to the next row (rowid reuse); ids here feed dedupe and retry keys
#: (``reply:<message id>``, LINE's X-Line-Retry-Key from the outbox id), so an id must never come back.
#: PostgreSQL sequences never reuse ids anyway.
NEVER_REUSE_IDS: dict[str, Any] = {"sqlite_autoincrement": True}


class CaseStatus(StrEnum):
    OPEN = "open"  # intake running or waiting in the queue
    CLAIMED = "claimed"
    RESOLVED = "resolved"


class Direction(StrEnum):
    IN = "in"  # from the person
    BOT = "bot"  # the bot's reply
    COORDINATOR = "coordinator"  # a coordinator's reply
    SYSTEM = "system"  # a notice about waiting, claiming, ...


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # permanently: shown on the case
    PASSED = "passed"  # a page that failed on this channel and went out on the coordinator's next one


class Household(SQLModel, table=True):
    """A registered high-risk household (seed 003, 1-(3)): its first assessment, written ahead of time."""

    __tablename__ = "households"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    region: str = Field(index=True)
    code: str = Field(unique=True)  # the link a coordinator gives the family
    label: str  # pseudonymous, e.g. "中標津 A さん宅"
    town: str | None = None
    flags: list[str] = _json_list()  # 独居, 8050, 医療的ケア, 強度行動障害, ...
    assessment: str = ""
    created_at: dt.datetime = _created()
    updated_at: dt.datetime = _created()


class Person(SQLModel, table=True):
    """Someone who writes to the bot; ``state`` is the conversation engine's memory, as JSON."""

    __tablename__ = "people"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    region: str
    state: dict[str, Any] = _json_dict()
    consent: bool | None = None
    consent_at: dt.datetime | None = _when()
    household_id: int | None = Field(default=None, foreign_key="households.id")
    created_at: dt.datetime = _created()
    last_seen_at: dt.datetime = _created()


class Conversation(SQLModel, table=True):
    """One person on one channel: where replies to them go."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "address"), NEVER_REUSE_IDS)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="people.id", index=True)
    channel: str  # web, terminal, line, telegram
    address: str  # the channel's opaque id for this person
    started_at: dt.datetime = _created()
    last_message_at: dt.datetime = _created()


class Case(SQLModel, table=True):
    __tablename__ = "cases"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    person_id: int | None = Field(default=None, foreign_key="people.id", index=True)  # None once forgotten
    conversation_id: int | None = Field(default=None, foreign_key="conversations.id")
    household_id: int | None = Field(default=None, foreign_key="households.id")
    region: str = Field(index=True)
    channel: str
    town: str | None = None
    intents: list[str] = _json_list()
    urgent: bool = False
    rank: int = 2  # queue order: 0 urgent from a registered household, 1 urgent, 2 normal
    status: CaseStatus = Field(default=CaseStatus.OPEN, sa_type=String(16), index=True)
    reporter: str | None = None  # who writes: 本人, 家族, 支援者 (from the intake)
    summary: dict[str, Any] = _json_dict()  # bot.conversation.CaseSummary as JSON
    opened_at: dt.datetime = _created()
    escalated_at: dt.datetime | None = _when(index=True)  # entered the queue
    claimed_at: dt.datetime | None = _when()
    claimed_by: int | None = Field(default=None, foreign_key="coordinators.id")
    resolved_at: dt.datetime | None = _when()
    outcome: str | None = None
    page_level: int = 0  # 0 on call, 1 next in the rota, 2 everyone in the region, 3+ everyone again (rounds)
    next_page_at: dt.datetime | None = _when(index=True)
    check_due_at: dt.datetime | None = _when(index=True)  # a check question unanswered by then pages
    updated_at: dt.datetime = _created()


class SeenEvent(SQLModel, table=True):
    """Idempotency keys of inbound events (LINE webhookEventId, Telegram update_id, web message id).

    Kept apart from messages so a redelivery after 「データを消して」 still finds its key.
    """

    __tablename__ = "seen_events"

    key: str = Field(primary_key=True)
    at: dt.datetime = _created()


class InboundStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"  # could not be processed after every attempt: logged (without text) and kept for a look


class InboundEvent(SQLModel, table=True):
    """A platform event stored the moment it arrives, before the webhook answers 200; processed after.

    ``key`` is the platform's idempotency key (LINE ``webhookEventId``, Telegram
    ``update_id``): a redelivery finds its row and stores nothing. ``address`` is
    the sender, so one person's events are processed in the order they came.
    """

    __tablename__ = "inbound_events"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    channel: str
    key: str = Field(unique=True)
    address: str = Field(index=True)
    body: dict[str, Any] = _json_dict()
    status: InboundStatus = Field(default=InboundStatus.PENDING, sa_type=String(16), index=True)
    attempts: int = 0
    lease_until: dt.datetime | None = _when()
    received_at: dt.datetime = _created()
    processed_at: dt.datetime | None = _when()
    error: str | None = None


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    direction: Direction = Field(sa_type=String(16))
    text: str | None = None  # None once purged by the retention setting
    choices: list[dict[str, str]] = _json_list()  # quick-reply buttons offered with it
    coordinator_id: int | None = Field(default=None, foreign_key="coordinators.id")
    created_at: dt.datetime = _created()
    delivered_at: dt.datetime | None = _when()


class CaseEvent(SQLModel, table=True):
    """Everything that happened to a case: paged, viewed, claimed, replied, noted, reassigned, resolved."""

    __tablename__ = "case_events"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    kind: str
    coordinator_id: int | None = Field(default=None, foreign_key="coordinators.id")
    detail: dict[str, Any] = _json_dict()
    at: dt.datetime = _created()


class Coordinator(SQLModel, table=True):
    __tablename__ = "coordinators"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(unique=True)
    name: str
    password_hash: str
    regions: list[str] = _json_list()
    page_channel: str = "web"  # where pages reach them: web (the queue page); line, telegram later
    page_address: str | None = None
    active: bool = True
    created_at: dt.datetime = _created()


class PageLink(SQLModel, table=True):
    """A coordinator's own way to be paged, linked by themselves: a LINE or Telegram account, a browser's push.

    ``address`` is the LINE user id, the Telegram chat id or the Web Push endpoint;
    ``keys`` holds a push subscription's ``p256dh`` and ``auth`` (empty for LINE and Telegram).
    One address belongs to one coordinator: linking it again moves it.
    """

    __tablename__ = "page_links"
    __table_args__ = (UniqueConstraint("channel", "address"), NEVER_REUSE_IDS)

    id: int | None = Field(default=None, primary_key=True)
    coordinator_id: int = Field(foreign_key="coordinators.id", index=True)
    channel: str  # line, telegram, webpush
    address: str
    keys: dict[str, Any] = _json_dict()
    created_at: dt.datetime = _created()


class LinkCode(SQLModel, table=True):
    """A one-time code a coordinator sends to the bot to link that account: only its hash is kept, with an expiry."""

    __tablename__ = "link_codes"

    code_hash: str = Field(primary_key=True)
    coordinator_id: int = Field(foreign_key="coordinators.id", index=True)
    created_at: dt.datetime = _created()
    expires_at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: dt.datetime | None = _when()


class RotaSlot(SQLModel, table=True):
    """Who is on call when, in Asia/Tokyo time. ``start``/``end`` are minutes after midnight; end < start wraps."""

    __tablename__ = "rota_slots"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    region: str = Field(index=True)
    coordinator_id: int = Field(foreign_key="coordinators.id")
    weekdays: str = "0123456"  # Monday = 0, the day the slot starts on
    start: int = 0
    end: int = 1440
    rank: int = 0  # 0 is called first, then 1, ...


class LoginSession(SQLModel, table=True):
    """A coordinator's login: the cookie holds a random token; only its hash is stored."""

    __tablename__ = "login_sessions"

    token_hash: str = Field(primary_key=True)
    coordinator_id: int = Field(foreign_key="coordinators.id", index=True)
    csrf: str
    created_at: dt.datetime = _created()
    expires_at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False)


class Outbox(SQLModel, table=True):
    """Every message and page, stored before it is sent; a worker claims due rows and sends them."""

    __tablename__ = "outbox"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    kind: str  # reply, page, notice
    channel: str
    address: str
    payload: dict[str, Any] = _json_dict()
    dedupe_key: str | None = Field(default=None, unique=True)
    status: OutboxStatus = Field(default=OutboxStatus.PENDING, sa_type=String(16), index=True)
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
    lease_until: dt.datetime | None = _when()
    last_error: str | None = None
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    message_id: int | None = Field(default=None, foreign_key="messages.id")
    urgent: bool = False  # it carries the numbers to call now: undeliverable for good, it pages the coordinator
    created_at: dt.datetime = _created()
    requeued_at: dt.datetime | None = _when()  # put back by hand (madoguchi outbox retry): the schedule starts again
    not_before: dt.datetime | None = _when()  # the platform's Retry-After: no try before then, whatever happens
    sent_at: dt.datetime | None = _when()


class Secret(SQLModel, table=True):
    """Server secrets made on first start and shared by every instance (signing keys)."""

    __tablename__ = "secrets"

    name: str = Field(primary_key=True)
    value: str


class _Stored(Protocol):
    id: int | None


def row_id(row: _Stored) -> int:
    """The id of a row that has been flushed (mypy cannot know it is set)."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: flush the session first")
    return row.id
