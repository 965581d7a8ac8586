"""Leases: how a worker takes rows (outbox items, inbound events) so no other worker takes them too, in order.

A conditional UPDATE sets ``lease_until`` only if the row is still pending and
its lease is free, and counts an attempt; the row count says whether this
worker got it. A worker that dies leaves a lease that simply runs out; so
leases are short, and a worker whose work takes longer ``renew``s its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, CursorResult, and_, exists, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from storage.models import InboundEvent, Outbox

Leased = TypeVar("Leased", Outbox, InboundEvent)


def free(model: type[Leased], at: dt.datetime) -> ColumnElement[bool]:
    """The row's lease is not held at ``at``."""
    return or_(col(model.lease_until).is_(None), col(model.lease_until) < at)


def waits_in_line(model: type[Leased], pending: Any) -> ColumnElement[bool]:
    """An earlier row to the same (channel, address) is still pending: one person's rows go one at a time, in order."""
    earlier = aliased(model)
    return exists().where(
        and_(
            col(earlier.channel) == col(model.channel),
            col(earlier.address) == col(model.address),
            col(earlier.id) < col(model.id),
            col(earlier.status) == pending,
        )
    )


def renew(
    session: Session, model: type[Leased], row_id: int, pending: Any, at: dt.datetime, lease: dt.timedelta
) -> None:
    """Extend the lease of a row whose work is still running (nobody else takes it meanwhile)."""
    session.execute(
        update(model).where(col(model.id) == row_id, col(model.status) == pending).values(lease_until=at + lease)
    )


def take(
    session: Session, model: type[Leased], ids: Iterable[int], pending: Any, at: dt.datetime, lease: dt.timedelta
) -> list[Leased]:
    """Lease each of ``ids`` that is still pending and free; returns the rows this worker got."""
    taken: list[Leased] = []
    for row_id in ids:
        result = session.execute(
            update(model)
            .where(col(model.id) == row_id, col(model.status) == pending, free(model, at))
            .values(lease_until=at + lease, attempts=col(model.attempts) + 1)
        )
        assert isinstance(result, CursorResult)
        if result.rowcount == 1:
            row = session.get(model, row_id, populate_existing=True)
            assert row is not None
            taken.append(row)
    return taken
