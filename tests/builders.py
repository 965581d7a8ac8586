"""Builders for rows the tests need (as the FastAPI template's tests/utils): real rows, no mocks."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from bot.web.auth import add_coordinator
from storage.db import session_scope
from storage.models import Coordinator, RotaSlot, row_id

PASSWORD = "correct horse battery"
#: A Monday, 02:00 in Asia/Tokyo (Sunday 17:00 UTC): the middle of the night.
NIGHT = dt.datetime(2026, 11, 22, 17, 0, tzinfo=dt.UTC)


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
        person = add_coordinator(
            session, login=login, name=name or login, password=PASSWORD, regions=list(regions), at=NIGHT
        )
        if on_call:
            session.add(RotaSlot(region=regions[0], coordinator_id=row_id(person), rank=rank))
    return person
