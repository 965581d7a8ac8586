"""The on-call rota as coordinators edit it: parse "17:00"-style times, add slots, describe who is on call.

The rule for who is on call at a moment is ``bot.desk.paging.on_call`` (pure); this
module is the editing side, used by ``madoguchi rota``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlalchemy import Engine
from sqlmodel import Session

from bot.desk.labels import WORDS
from bot.desk.paging import on_call
from storage import people
from storage.models import RotaSlot, row_id
from storage.types import utcnow

DAY_NAMES = "".join(WORDS.reports.weekdays)
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


class RotaError(Exception):
    pass


def minutes(text: str) -> int:
    """ "17:30" -> 1050; "24:00" is the end of the day."""
    match = _TIME.match(text.strip())
    if not match:
        raise RotaError(f"time {text!r}: write HH:MM, for example 17:00")
    hour, minute = int(match[1]), int(match[2])
    if minute >= 60 or hour > 24 or (hour == 24 and minute):
        raise RotaError(f"time {text!r} does not exist")
    return hour * 60 + minute


def add_slot(session: Session, *, login: str, region: str, days: str, start: str, end: str, rank: int = 0) -> RotaSlot:
    person = people.coordinator_by_login(session=session, login=login)
    if person is None:
        raise RotaError(f"no coordinator {login!r}")
    if region not in person.regions:
        raise RotaError(f"{login} does not serve {region}")
    if not days or any(day not in "0123456" for day in days):
        raise RotaError("days: digits 0 (Monday) to 6 (Sunday), for example 01234")
    first, last = minutes(start), minutes(end)
    if first == last:
        raise RotaError("a slot needs --from and --to to differ")
    if rank < 0:
        raise RotaError("rank: 0 or more")
    slot = RotaSlot(
        region=region,
        coordinator_id=row_id(person),
        weekdays="".join(sorted(set(days))),
        start=first,
        end=last,
        rank=rank,
    )
    session.add(slot)
    session.flush()
    return slot


def describe(engine: Engine, region: str) -> Iterator[str]:
    with Session(engine) as session:
        slots = people.rota_slots(session=session, region=region)
        names = {person.id: person.login for person in people.coordinators(session=session)}
        for slot in slots:
            days = "".join(DAY_NAMES[int(day)] for day in slot.weekdays)
            span = f"{slot.start // 60:02d}:{slot.start % 60:02d}-{slot.end // 60:02d}:{slot.end % 60:02d}"
            yield f"rank {slot.rank}  {names.get(slot.coordinator_id, '?'):<12} {days:<8} {span}"
        now = [names.get(cid, "?") for cid in on_call(slots, utcnow())]
        yield f"on call now: {', '.join(now) if now else 'nobody (an urgent case pages everyone in the region)'}"
