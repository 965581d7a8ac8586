"""Inbound events: stored before the webhook answers, then processed by a worker, in order per person.

``store`` is an insert that does nothing when the key is already there (``ON
CONFLICT DO NOTHING`` on both databases), so a platform's redelivery stores
nothing and is still answered 200. ``claim`` leases pending events as the
outbox does, skipping any event whose sender has an earlier event still pending:
one person's messages are handled one at a time, in the order they came, while
different people's run side by side (and across processes on PostgreSQL).

On SQLite the webhook stores into the inbound journal, a file of its own
(``storage.db.journal_url``), and the work ``adopt``s what it holds into the
database's table, then ``drop``s those rows from the journal. The database's
table stays the one record: its unique key makes a second adoption (two
workers, a crash between the two steps) store nothing, and its ``done`` mark
is committed with the event's turn. A redelivery that comes after its event
left the journal is stored there again and dropped at adoption.
Functions take ``*, session`` and never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from storage import leases
from storage.models import InboundEvent, InboundStatus, SeenEvent

LEASE = dt.timedelta(seconds=20)  # renewed every third of it while the event is handled (``renew``)
MAX_ATTEMPTS = 5


def store(*, session: Session, channel: str, key: str, address: str, body: dict[str, Any], at: dt.datetime) -> bool:
    """Store one event; False when its key was already stored (a redelivery)."""
    values = {
        "channel": channel,
        "key": key,
        "address": address,
        "body": body,
        "status": InboundStatus.PENDING,
        "attempts": 0,
        "received_at": at,
    }
    return _insert_if_new(session, InboundEvent, values)


#: The columns an adoption copies from the journal (the database gives the row its own id).
_ADOPTED = ("channel", "key", "address", "body", "status", "attempts", "received_at")


def waiting(*, session: Session, limit: int = 500) -> list[dict[str, Any]]:
    """The journal's oldest events, in the order they came (each as the columns an adoption copies, and its id)."""
    rows = session.exec(select(InboundEvent).order_by(col(InboundEvent.id)).limit(limit)).all()
    return [{"id": row.id, **{name: getattr(row, name) for name in _ADOPTED}} for row in rows]


def adopt(*, session: Session, events: Sequence[dict[str, Any]]) -> int:
    """Store journal events in the database's table, in their order; a key already there stores nothing."""
    if not events:
        return 0
    values = [{name: event[name] for name in _ADOPTED} for event in events]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(InboundEvent).values(values).on_conflict_do_nothing(index_elements=["key"])
    return len(session.execute(statement.returning(col(InboundEvent.key))).all())


def drop(*, session: Session, ids: Sequence[int]) -> None:
    """Remove adopted events from the journal (``secure_delete`` zeroes their bodies in the file)."""
    if ids:
        session.execute(delete(InboundEvent).where(col(InboundEvent.id).in_(ids)))


def journal_keys(*, session: Session) -> dict[str, int]:
    """Every event the journal holds: key -> its id there."""
    return {key: row_id for row_id, key in session.exec(select(InboundEvent.id, InboundEvent.key)).all() if row_id}


def known_keys(*, session: Session, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` the database's table holds (adopted events)."""
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        found.update(session.exec(select(InboundEvent.key).where(col(InboundEvent.key).in_(chunk))).all())
    return found


def first_time(*, session: Session, key: str, at: dt.datetime) -> bool:
    """Remember an idempotency key; False when it was seen before (the web chat's retried posts, a redelivery)."""
    return _insert_if_new(session, SeenEvent, {"key": key, "at": at})


def _insert_if_new(session: Session, model: type[InboundEvent] | type[SeenEvent], values: dict[str, Any]) -> bool:
    """One INSERT ... ON CONFLICT (key) DO NOTHING; True when the row is new."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(model).values(**values).on_conflict_do_nothing(index_elements=["key"])
    # RETURNING, not rowcount: psycopg reports no row count for this insert; both databases return the key.
    return session.execute(statement.returning(col(model.key))).first() is not None


def claim(*, session: Session, at: dt.datetime, limit: int = 20, lease: dt.timedelta = LEASE) -> list[InboundEvent]:
    """Lease up to ``limit`` events that are next in line for their sender."""
    candidates = session.exec(
        select(InboundEvent.id)
        .where(
            InboundEvent.status == InboundStatus.PENDING,
            leases.free(InboundEvent, at),
            ~leases.waits_in_line(InboundEvent, InboundStatus.PENDING),
        )
        .order_by(col(InboundEvent.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    ids = [i for i in candidates if i is not None]
    return leases.take(session, InboundEvent, ids, InboundStatus.PENDING, at, lease)


def renew(*, session: Session, event_id: int, at: dt.datetime, lease: dt.timedelta = LEASE) -> None:
    """Extend the lease of an event still being handled: a slow platform call keeps it, a dead worker does not."""
    leases.renew(session, InboundEvent, event_id, InboundStatus.PENDING, at, lease)


def mark_done(*, session: Session, event_id: int, at: dt.datetime) -> None:
    session.execute(
        update(InboundEvent)
        .where(col(InboundEvent.id) == event_id)
        .values(status=InboundStatus.DONE, processed_at=at, lease_until=None, error=None)
    )


def mark_error(*, session: Session, event: InboundEvent, error: str, at: dt.datetime) -> bool:
    """Record a failed attempt; True when it will be tried again, False once it is given up."""
    given_up = event.attempts >= MAX_ATTEMPTS
    session.execute(
        update(InboundEvent)
        .where(col(InboundEvent.id) == event.id)
        .values(
            status=InboundStatus.FAILED if given_up else InboundStatus.PENDING,
            lease_until=None if given_up else at + dt.timedelta(seconds=2**event.attempts),
            error=error[:500],
            processed_at=at if given_up else None,
        )
    )
    return not given_up


def pending(*, session: Session) -> Sequence[InboundEvent]:
    query = select(InboundEvent).where(InboundEvent.status == InboundStatus.PENDING).order_by(col(InboundEvent.id))
    return session.exec(query).all()
