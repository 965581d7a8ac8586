"""The case queue on SQLite and PostgreSQL: order, and claims that exactly one claimer wins."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Engine
from sqlmodel import Session, select

from storage import cases
from storage.db import session_scope
from storage.models import Case, CaseEvent, CaseStatus, row_id
from tests.builders import NIGHT, coordinator

T = TypeVar("T")
CLAIMERS = 20


def _case(engine: Engine, *, urgent: bool = True, household: bool = False, waited: int = 0, queued: bool = True) -> int:
    with session_scope(engine) as session:
        case = Case(
            region="nemuro",
            channel="web",
            urgent=urgent,
            rank=cases.rank_for(urgent=urgent, household=household),
            escalated_at=NIGHT - dt.timedelta(minutes=waited) if queued else None,
        )
        session.add(case)
        session.flush()
        return row_id(case)


def _race(count: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(i)`` for ``count`` threads released at the same moment."""
    start = threading.Barrier(count)

    def one(i: int) -> T:
        start.wait()
        return work(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def _claimers(engine: Engine) -> list[int]:
    return [row_id(coordinator(engine, f"c{i}")) for i in range(CLAIMERS)]


def test_exactly_one_of_twenty_concurrent_claimers_wins(engine: Engine) -> None:
    case_id = _case(engine)
    people = _claimers(engine)

    def claim(i: int) -> bool:
        with session_scope(engine) as session:
            return cases.claim(session=session, case_id=case_id, coordinator_id=people[i], at=NIGHT)

    won = _race(CLAIMERS, claim)
    assert won.count(True) == 1
    winner = people[won.index(True)]
    with Session(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None and case.status == CaseStatus.CLAIMED and case.claimed_by == winner
        claims = session.exec(select(CaseEvent).where(CaseEvent.kind == "claimed")).all()
        assert [event.coordinator_id for event in claims] == [winner]


def test_twenty_claimers_of_the_next_case_take_different_cases(engine: Engine) -> None:
    waiting = {_case(engine, waited=i) for i in range(12)}
    people = _claimers(engine)

    def claim_next(i: int) -> int | None:
        with session_scope(engine) as session:
            return cases.claim_next(session=session, coordinator_id=people[i], regions=["nemuro"], at=NIGHT)

    taken = _race(CLAIMERS, claim_next)
    got = [case_id for case_id in taken if case_id is not None]
    assert sorted(got) == sorted(waiting)  # each case once, none twice, none left over
    assert taken.count(None) == CLAIMERS - len(waiting)


def test_a_claimed_case_cannot_be_claimed_again(engine: Engine) -> None:
    case_id = _case(engine)
    first, second = (row_id(coordinator(engine, login)) for login in ("first", "second"))
    with session_scope(engine) as session:
        assert cases.claim(session=session, case_id=case_id, coordinator_id=first, at=NIGHT)
    with session_scope(engine) as session:
        assert not cases.claim(session=session, case_id=case_id, coordinator_id=second, at=NIGHT)


def test_the_queue_puts_urgent_households_first_then_urgent_then_by_waiting_time(engine: Engine) -> None:
    normal_old = _case(engine, urgent=False, waited=300)
    urgent_new = _case(engine, waited=1)
    urgent_old = _case(engine, waited=30)
    household = _case(engine, household=True, waited=0)
    _case(engine, queued=False)  # intake still running: not in the queue yet
    other_region = _case(engine, waited=500)
    with session_scope(engine) as session:
        moved = session.get(Case, other_region)
        assert moved is not None
        moved.region = "shiroi"
        session.add(moved)
    with Session(engine) as session:
        order = [case.id for case in cases.waiting(session=session, regions=["nemuro"])]
    assert order == [household, urgent_old, urgent_new, normal_old]


def test_repaging_advances_a_level_once_even_when_two_workers_try(engine: Engine) -> None:
    case_id = _case(engine)

    def advance(_: int) -> bool:
        with session_scope(engine) as session:
            return cases.advance_page(session=session, case_id=case_id, level=0, at=NIGHT, next_at=None)

    assert sorted(_race(2, advance)) == [False, True]
