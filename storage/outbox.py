"""The outbox: every outgoing message and page is a row before it is sent.

A worker claims due rows by taking a short lease (``lease_until``) with a
conditional UPDATE, so several workers and several processes never send one row
at the same time; if a worker dies mid-send, the lease runs out and the row is
tried again. ``backoff`` is the one retry policy: exponential with full jitter,
never sooner than the platform's ``Retry-After``. Functions take ``*, session``
and never commit.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage import leases
from storage.models import Outbox, OutboxStatus

MAX_ATTEMPTS = 8
BASE_DELAY = 1.0  # seconds before the first retry (on average half of it, with jitter)
MAX_DELAY = 300.0
LEASE = dt.timedelta(seconds=60)


def backoff(attempts: int, retry_after: float | None = None, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before attempt ``attempts + 1``: full jitter up to base * 2^(attempts-1), capped."""
    ceiling = min(MAX_DELAY, BASE_DELAY * 2 ** max(0, attempts - 1))
    delay = ceiling * rand()
    return float(max(delay, retry_after)) if retry_after is not None else float(delay)


def enqueue(
    *,
    session: Session,
    kind: str,
    channel: str,
    address: str,
    payload: dict[str, Any],
    at: dt.datetime,
    dedupe_key: str | None = None,
    case_id: int | None = None,
    message_id: int | None = None,
) -> Outbox:
    """Store one outgoing item; with a ``dedupe_key`` already stored, return that row instead."""
    if dedupe_key is not None:
        existing = session.exec(select(Outbox).where(Outbox.dedupe_key == dedupe_key)).first()
        if existing is not None:
            return existing
    row = Outbox(
        kind=kind,
        channel=channel,
        address=address,
        payload=payload,
        dedupe_key=dedupe_key,
        case_id=case_id,
        message_id=message_id,
        next_attempt_at=at,
        created_at=at,
    )
    session.add(row)
    session.flush()
    return row


def claim_due(*, session: Session, at: dt.datetime, limit: int = 20, lease: dt.timedelta = LEASE) -> list[Outbox]:
    """Lease up to ``limit`` rows that are due; rows leased by another worker are skipped.

    A row waits while an earlier row to the same address is still pending (due
    later, or being sent): a person gets the number to call before the questions,
    even when the first send had to be retried.
    """
    candidates = session.exec(
        select(Outbox.id)
        .where(
            Outbox.status == OutboxStatus.PENDING,
            col(Outbox.next_attempt_at) <= at,
            leases.free(Outbox, at),
            ~leases.waits_in_line(Outbox, OutboxStatus.PENDING),
        )
        .order_by(col(Outbox.next_attempt_at), col(Outbox.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    return leases.take(session, Outbox, [i for i in candidates if i is not None], OutboxStatus.PENDING, at, lease)


def mark_sent(*, session: Session, row_id: int, at: dt.datetime) -> None:
    _set(session, row_id, status=OutboxStatus.SENT, sent_at=at, lease_until=None, last_error=None)


def mark_retry(*, session: Session, row: Outbox, error: str, at: dt.datetime, retry_after: float | None) -> bool:
    """Schedule another try; False (and the row failed) once ``MAX_ATTEMPTS`` are spent."""
    assert row.id is not None
    if row.attempts >= MAX_ATTEMPTS:
        mark_failed(session=session, row_id=row.id, error=error)
        return False
    delay = backoff(row.attempts, retry_after)
    _set(session, row.id, next_attempt_at=at + dt.timedelta(seconds=delay), lease_until=None, last_error=error)
    return True


def mark_failed(*, session: Session, row_id: int, error: str) -> None:
    _set(session, row_id, status=OutboxStatus.FAILED, lease_until=None, last_error=error)


def _set(session: Session, row_id: int, **values: Any) -> None:
    session.execute(update(Outbox).where(col(Outbox.id) == row_id).values(**values))


def pending_count(*, session: Session) -> int:
    return len(session.exec(select(Outbox.id).where(Outbox.status == OutboxStatus.PENDING)).all())


def for_case(*, session: Session, case_id: int) -> Sequence[Outbox]:
    return session.exec(select(Outbox).where(Outbox.case_id == case_id).order_by(col(Outbox.id))).all()


def pages_sent_to(*, session: Session, channel: str, address: str, since: dt.datetime) -> Sequence[Outbox]:
    """Pages sent to one address since ``since``, newest first."""
    query = select(Outbox).where(
        Outbox.kind == "page",
        Outbox.channel == channel,
        Outbox.address == address,
        Outbox.status == OutboxStatus.SENT,
        col(Outbox.created_at) >= since,
    )
    return session.exec(query.order_by(col(Outbox.id).desc())).all()
