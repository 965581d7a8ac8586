"""The outbox: every outgoing message and page is a row before it is sent.

A worker claims due rows by taking a short lease (``lease_until``) with a
conditional UPDATE, so several workers and several processes never send one row
at the same time. The lease is short and renewed while the send runs
(``renew``): if a worker dies mid-send, the person's next message waits seconds,
not a minute. The claim itself counts the attempt, so an attempt is on record
before the platform is called.

``Schedule`` is the one retry policy: exponential with full jitter, each wait
capped (minutes), never sooner than the platform's ``Retry-After``, and given up
only once the row has waited ``give_up_after`` (hours) since it was queued: a
platform outage of minutes, or of an afternoon, loses nothing. Once the
platform takes a message again, the rows waiting out their backoff are due at
once (``hurry``), still never before their ``Retry-After``. Functions take
``*, session`` and never commit.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from storage import leases
from storage.models import Outbox, OutboxStatus
from storage.models import row_id as id_of

BASE_DELAY = 2.0  # seconds: the ceiling of the first wait (full jitter: on average half of it)
MAX_DELAY = 600.0  # no single wait longer than ten minutes: a recovered platform is used again soon
GIVE_UP_AFTER = dt.timedelta(hours=36)
LEASE = dt.timedelta(seconds=20)  # renewed every third of it while a send runs


@dataclass(frozen=True, slots=True)
class Schedule:
    """When to try a failed send again, and when to stop trying (then the case shows it)."""

    base: float = BASE_DELAY
    cap: float = MAX_DELAY
    give_up_after: dt.timedelta = GIVE_UP_AFTER
    lease: dt.timedelta = LEASE

    def backoff(
        self, attempts: int, retry_after: float | None = None, rand: Callable[[], float] = random.random
    ) -> float:
        """Seconds to wait before attempt ``attempts + 1``: full jitter up to base * 2^(attempts-1), capped."""
        ceiling = min(self.cap, self.base * 2 ** min(max(0, attempts - 1), 60))
        delay = ceiling * rand()
        return float(max(delay, retry_after)) if retry_after is not None else float(delay)

    def exhausted(self, row: Outbox, at: dt.datetime) -> bool:
        """The row has waited long enough since it was queued (or queued again by hand): stop trying."""
        return at - (row.requeued_at or row.created_at) >= self.give_up_after


DEFAULT = Schedule()


def backoff(attempts: int, retry_after: float | None = None, rand: Callable[[], float] = random.random) -> float:
    """The default schedule's wait (``Schedule.backoff``)."""
    return DEFAULT.backoff(attempts, retry_after, rand)


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
    urgent: bool = False,
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
        urgent=urgent,
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


def renew(*, session: Session, row_id: int, at: dt.datetime, lease: dt.timedelta = LEASE) -> None:
    """Extend the lease of a row whose send is still running (so no other worker takes it meanwhile)."""
    leases.renew(session, Outbox, row_id, OutboxStatus.PENDING, at, lease)


#: Payload flag of a send to someone who asked to be forgotten: once it is out, its address and text go too.
FORGET_AFTER = "forget_after_send"


def mark_sent(*, session: Session, row_id: int, at: dt.datetime, forget: bool = False) -> None:
    _set(session, row_id, status=OutboxStatus.SENT, sent_at=at, lease_until=None, last_error=None)
    if forget:
        blank(session=session, row_id=row_id)


def blank(*, session: Session, row_id: int) -> None:
    """Nothing of the person left on the row: no address, no text (the status and times stay for the counts)."""
    _set(session, row_id, address="", payload={})


def mark_retry(
    *,
    session: Session,
    row: Outbox,
    error: str,
    at: dt.datetime,
    retry_after: float | None,
    schedule: Schedule = DEFAULT,
) -> bool:
    """Schedule another try; False (and the row failed) once it has waited ``schedule.give_up_after``."""
    assert row.id is not None
    if schedule.exhausted(row, at):
        mark_failed(session=session, row_id=row.id, error=error)
        return False
    delay = schedule.backoff(row.attempts, retry_after)
    not_before = at + dt.timedelta(seconds=retry_after) if retry_after is not None else None
    next_at = at + dt.timedelta(seconds=delay)
    _set(session, row.id, next_attempt_at=next_at, not_before=not_before, lease_until=None, last_error=error)
    return True


def hurry(*, session: Session, channel: str, at: dt.datetime) -> None:
    """The platform took a message again: its rows waiting out a backoff are due now (never before a Retry-After).

    Why: after an outage each row would otherwise wait out its own backoff, up
    to the cap (minutes), while the platform is already up; the first success
    is the sign it is back.
    """
    session.execute(
        update(Outbox)
        .where(
            col(Outbox.channel) == channel,
            col(Outbox.status) == OutboxStatus.PENDING,
            col(Outbox.last_error).is_not(None),
            col(Outbox.next_attempt_at) > at,
            or_(col(Outbox.not_before).is_(None), col(Outbox.not_before) <= at),
        )
        .values(next_attempt_at=at)
    )


def mark_failed(*, session: Session, row_id: int, error: str) -> None:
    _set(session, row_id, status=OutboxStatus.FAILED, lease_until=None, last_error=error)


def pass_on(*, session: Session, row_id: int, error: str) -> None:
    """A page given up on this channel because it goes out on the coordinator's next one (not shown as lost)."""
    _set(session, row_id, status=OutboxStatus.PASSED, lease_until=None, last_error=error)


def failed_with(*, session: Session, channel: str, marker: str, since: dt.datetime) -> dt.datetime | None:
    """When a send on ``channel`` first failed with ``marker`` in its error since ``since``, unless a page went out
    there after the latest such failure (then the cause is over); None when there is no such failure."""
    failed = session.exec(
        select(Outbox.created_at)
        .where(
            Outbox.channel == channel,
            col(Outbox.status).in_([OutboxStatus.FAILED, OutboxStatus.PASSED]),
            col(Outbox.last_error).contains(marker),
            col(Outbox.created_at) >= since,
        )
        .order_by(col(Outbox.created_at))
    ).all()
    if not failed:
        return None
    latest = failed[-1]
    later = select(Outbox.id).where(
        Outbox.channel == channel,
        Outbox.kind == "page",
        Outbox.status == OutboxStatus.SENT,
        col(Outbox.created_at) > latest,
    )
    return None if session.exec(later).first() is not None else failed[0]


def requeue_failed(*, session: Session, at: dt.datetime, case_id: int | None = None) -> list[Outbox]:
    """Put failed rows back in the queue, due now, with a fresh schedule (``madoguchi outbox retry``).

    The attempts keep counting, so a LINE reply token is never tried twice and
    every send of a row keeps its retry key.
    """
    query = select(Outbox).where(Outbox.status == OutboxStatus.FAILED, col(Outbox.address) != "")
    if case_id is not None:
        query = query.where(Outbox.case_id == case_id)
    rows = list(session.exec(query.order_by(col(Outbox.id))).all())
    for row in rows:
        _set(session, id_of(row), status=OutboxStatus.PENDING, next_attempt_at=at, requeued_at=at, lease_until=None)
    return rows


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
