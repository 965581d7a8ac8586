"""Builders for rows the tests need (as the FastAPI template's tests/utils): real rows, no mocks."""

from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import Engine

from bot.channels.base import Arrival
from bot.conversation import Inbound
from bot.web.auth import hash_password
from storage.db import session_scope
from storage.models import Coordinator, RotaSlot, row_id

PASSWORD = "correct horse battery"
#: A Monday, 02:00 in Asia/Tokyo (Sunday 17:00 UTC): the middle of the night.
NIGHT = dt.datetime(2026, 11, 22, 17, 0, tzinfo=dt.UTC)


@functools.cache
def _password_hash() -> str:
    """One real argon2 hash of ``PASSWORD``, made once: hashing costs ~0.1 s by design, and tests make many accounts."""
    return hash_password(PASSWORD)


def coordinator(
    engine: Engine,
    login: str,
    regions: tuple[str, ...] = ("nemuro",),
    *,
    on_call: bool = False,
    rank: int = 0,
    name: str | None = None,
) -> Coordinator:
    """A coordinator account; ``on_call`` puts them on the rota of their first region around the clock."""
    with session_scope(engine) as session:
        person = Coordinator(
            login=login, name=name or login, password_hash=_password_hash(), regions=list(regions), created_at=NIGHT
        )
        session.add(person)
        session.flush()
        if on_call:
            session.add(RotaSlot(region=regions[0], coordinator_id=row_id(person), rank=rank))
    return person


URGENT_TEXT = "母が倒れて救急車で運ばれました。弟がひとりです"


def arrival(
    text: str,
    *,
    address: str = "person-1",
    channel: str = "web",
    at: dt.datetime = NIGHT,
    key: str | None = None,
    choice: str | None = None,
    household: str | None = None,
) -> Arrival:
    return Arrival(channel, address, Inbound(text, at, choice), key, household)
