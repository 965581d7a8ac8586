"""Paging: who is on call now, and the ladder when nobody claims an urgent case.

Level 0 pages the first coordinator on call (the rota, by weekday and time in
Asia/Tokyo). Not claimed by the deadline: level 1 pages the next one on call,
and level 2 everyone who serves the region. With nobody on call at all, level 2
comes at once. Each step is a page per coordinator in the outbox, a ``paged``
event on the case and an honest notice to the person: who is being called and
what to do if life is at risk. ``on_call`` is pure; the rest writes through the
session it is given and never commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.conversation.texts import Say
from storage import cases, outbox
from storage.models import Case, Coordinator, RotaSlot, row_id

TOKYO = ZoneInfo("Asia/Tokyo")
EVERYONE = 2
DAY = 24 * 60


def on_call(slots: Sequence[RotaSlot], at: dt.datetime) -> list[int]:
    """Coordinator ids on call at ``at``, first to call first.

    A slot whose end is before its start runs past midnight into the next day.
    """
    local = at.astimezone(TOKYO)
    minute = local.hour * 60 + local.minute
    today, yesterday = str(local.weekday()), str((local.weekday() - 1) % 7)
    active: list[RotaSlot] = []
    for slot in slots:
        if slot.start < slot.end:
            on = today in slot.weekdays and slot.start <= minute < slot.end
        else:  # e.g. 17:00 -> 09:00: today's evening, or yesterday's slot running into this morning
            on = (today in slot.weekdays and minute >= slot.start) or (yesterday in slot.weekdays and minute < slot.end)
        if on:
            active.append(slot)
    ordered = sorted(active, key=lambda slot: (slot.rank, slot.id or 0))
    return list(dict.fromkeys(slot.coordinator_id for slot in ordered))


def serving(session: Session, region: str) -> list[Coordinator]:
    """Active coordinators who serve ``region``."""
    everyone = session.exec(select(Coordinator).where(col(Coordinator.active)).order_by(col(Coordinator.id))).all()
    return [person for person in everyone if region in person.regions]


@dataclass(frozen=True, slots=True)
class Paged:
    level: int
    coordinator_ids: tuple[int, ...]
    notice: Say  # what the person is told now


def page(*, session: Session, case: Case, level: int, at: dt.datetime, deadline: dt.timedelta) -> Paged:
    """Page the coordinators for ``level`` (skipping ahead when nobody is there) and set the next deadline."""
    assert case.id is not None
    staff = {row_id(person): person for person in serving(session, case.region)}
    rota = session.exec(select(RotaSlot).where(RotaSlot.region == case.region)).all()
    now_on_call = [cid for cid in on_call(rota, at) if cid in staff]
    if level < EVERYONE and level < len(now_on_call):
        targets = [now_on_call[level]]
    else:
        level, targets = EVERYONE, list(staff)
    for cid in targets:
        person = staff[cid]
        outbox.enqueue(
            session=session,
            kind="page",
            channel=person.page_channel,
            address=person.page_address or str(cid),
            payload={
                "case_id": case.id,
                "level": level,
                "urgent": case.urgent,
                "town": case.town,
                "region": case.region,
            },
            dedupe_key=f"page:{case.id}:{level}:{cid}",
            case_id=case.id,
            at=at,
        )
    cases.add_event(session=session, case_id=case.id, kind="paged", at=at, level=level, coordinators=targets)
    case.page_level = level
    case.next_page_at = at + deadline if level < EVERYONE else None
    case.updated_at = at
    session.add(case)
    if not now_on_call:
        notice = Say.WAIT_NOBODY  # nobody on the rota now: everyone is paged at once
    elif level == 0:
        notice = Say.WAIT_PAGED
    else:
        notice = Say.WAIT_STILL
    return Paged(level, tuple(targets), notice)


def page_claimer(*, session: Session, case: Case, at: dt.datetime, reason: str = "news") -> None:
    """Tell the coordinator who holds the case that something new and urgent came in (or that it is theirs now)."""
    assert case.id is not None and case.claimed_by is not None
    person = session.get(Coordinator, case.claimed_by)
    if person is None:
        return
    stamp = int(at.timestamp() * 1000)
    outbox.enqueue(
        session=session,
        kind="page",
        channel=person.page_channel,
        address=person.page_address or str(person.id),
        payload={"case_id": case.id, "level": -1, "urgent": case.urgent, "town": case.town, "reason": reason},
        dedupe_key=f"page:{case.id}:{reason}:{person.id}:{stamp}",
        case_id=case.id,
        at=at,
    )
    cases.add_event(session=session, case_id=case.id, kind="paged", at=at, level=-1, coordinators=[person.id])
