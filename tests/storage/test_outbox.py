"""The outbox on SQLite and PostgreSQL: leases, retries with backoff, deduplication."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from storage import outbox
from storage.db import session_scope
from storage.models import Outbox, OutboxStatus, row_id
from tests.builders import NIGHT


def _enqueue(engine: Engine, n: int, at: dt.datetime = NIGHT, *, people: int = 1) -> list[int]:
    """``n`` rows to ``people`` different addresses, in turn."""
    with session_scope(engine) as session:
        rows = [
            outbox.enqueue(
                session=session, kind="reply", channel="web", address=f"a{i % people}", payload={"i": i}, at=at
            )
            for i in range(n)
        ]
        return [row_id(row) for row in rows]


def test_two_workers_never_lease_the_same_row(engine: Engine) -> None:
    ids = _enqueue(engine, 30, people=30)
    start = threading.Barrier(4)

    def lease(_: int) -> list[int]:
        start.wait()
        with session_scope(engine) as session:
            return [row_id(row) for row in outbox.claim_due(session=session, at=NIGHT, limit=10)]

    with ThreadPoolExecutor(4) as pool:
        leased = [row for rows in pool.map(lease, range(4)) for row in rows]
    assert sorted(leased) == sorted(set(leased))  # nobody got a row twice
    assert set(leased) <= set(ids) and len(leased) == 30


def test_one_persons_rows_go_out_one_at_a_time_in_order(engine: Engine) -> None:
    first, second, other = _enqueue(engine, 3, people=2)  # a0, a1, a0
    with session_scope(engine) as session:
        assert [row.id for row in outbox.claim_due(session=session, at=NIGHT)] == [first, second]
        outbox.mark_sent(session=session, row_id=second, at=NIGHT)
    with session_scope(engine) as session:
        assert outbox.mark_retry(session=session, row=session.get(Outbox, first), error="500", at=NIGHT, retry_after=60)
    with session_scope(engine) as session:
        assert outbox.claim_due(session=session, at=NIGHT + dt.timedelta(seconds=30)) == []  # a0's first waits
    with session_scope(engine) as session:
        later = NIGHT + dt.timedelta(seconds=61)
        assert [row.id for row in outbox.claim_due(session=session, at=later)] == [first]
        outbox.mark_sent(session=session, row_id=first, at=later)
    with session_scope(engine) as session:
        assert [row.id for row in outbox.claim_due(session=session, at=NIGHT + dt.timedelta(seconds=62))] == [other]


def test_a_lease_runs_out_and_the_row_is_tried_again(engine: Engine) -> None:
    (row,) = _enqueue(engine, 1)
    with session_scope(engine) as session:
        assert [r.id for r in outbox.claim_due(session=session, at=NIGHT)] == [row]
    with session_scope(engine) as session:
        assert outbox.claim_due(session=session, at=NIGHT + outbox.LEASE / 2) == []  # still leased
    with session_scope(engine) as session:
        again = outbox.claim_due(session=session, at=NIGHT + outbox.LEASE + dt.timedelta(seconds=1))
        assert [(r.id, r.attempts) for r in again] == [(row, 2)]


def test_a_retry_waits_and_gives_up_only_after_hours(engine: Engine) -> None:
    (row_key,) = _enqueue(engine, 1)
    schedule = outbox.Schedule()
    at, attempt, retried = NIGHT, 0, True
    while retried:
        attempt += 1
        with session_scope(engine) as session:
            (row,) = outbox.claim_due(session=session, at=at)
            assert row.attempts == attempt
            retried = outbox.mark_retry(
                session=session, row=row, error="HTTP 500", at=at, retry_after=2.0, schedule=schedule
            )
        assert retried == (at - NIGHT < schedule.give_up_after)
        with Session(engine) as session:
            stored = session.get(Outbox, row_key)
            assert stored is not None
            if retried:
                assert stored.next_attempt_at >= at + dt.timedelta(seconds=2)  # Retry-After honoured
                assert stored.next_attempt_at <= at + dt.timedelta(seconds=schedule.cap)  # each wait capped
                at = stored.next_attempt_at
    assert at - NIGHT >= schedule.give_up_after and attempt > 100  # kept trying for the whole window
    with Session(engine) as session:
        stored = session.get(Outbox, row_key)
        assert stored is not None and stored.status == OutboxStatus.FAILED and stored.last_error == "HTTP 500"
    with session_scope(engine) as session:
        assert outbox.claim_due(session=session, at=at + dt.timedelta(days=1)) == []


def test_a_row_that_is_not_due_yet_is_left_alone(engine: Engine) -> None:
    _enqueue(engine, 1, at=NIGHT + dt.timedelta(minutes=1))
    with session_scope(engine) as session:
        assert outbox.claim_due(session=session, at=NIGHT) == []


def test_the_same_dedupe_key_stores_one_row(engine: Engine) -> None:
    with session_scope(engine) as session:
        first = outbox.enqueue(
            session=session, kind="page", channel="web", address="1", payload={}, at=NIGHT, dedupe_key="page:1:0:1"
        )
        second = outbox.enqueue(
            session=session, kind="page", channel="web", address="1", payload={}, at=NIGHT, dedupe_key="page:1:0:1"
        )
        assert first.id == second.id
        assert outbox.pending_count(session=session) == 1


@pytest.mark.parametrize(
    ("attempts", "rand", "retry_after", "expected"),
    [
        (1, 1.0, None, outbox.BASE_DELAY),
        (3, 0.5, None, outbox.BASE_DELAY * 4 * 0.5),
        (3, 0.0, None, 0.0),
        (30, 1.0, None, outbox.MAX_DELAY),  # capped
        (5000, 1.0, None, outbox.MAX_DELAY),  # no overflow after days of tries
        (1, 0.1, 7.0, 7.0),  # never sooner than the platform asked
        (5, 1.0, 3.0, outbox.BASE_DELAY * 16),
    ],
)
def test_backoff_is_exponential_with_full_jitter(
    attempts: int, rand: float, retry_after: float | None, expected: float
) -> None:
    assert outbox.backoff(attempts, retry_after, rand=lambda: rand) == pytest.approx(expected)
