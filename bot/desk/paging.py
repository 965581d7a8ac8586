"""Paging: who is on call now, and the ladder when nobody claims an urgent case.

Level 0 pages the first coordinator on call (the rota, by weekday and time in
Asia/Tokyo). Not claimed by the deadline: level 1 pages the next one on call,
and level 2 everyone who serves the region. With nobody on call at all, level 2
comes at once. The ladder never ends while the case is open and unclaimed: at
every later deadline everyone is paged again (``page_level`` 3, 4, ... count
those rounds, so each round's conditional UPDATE and dedupe keys are its own).
Each step is a page per coordinator in the outbox, a ``paged`` event on the case
and an honest notice to the person: who is being called and what to do if life
is at risk, in new words each round (``AGAIN``, in turn). ``on_call`` is pure;
the rest writes through the session it is given and never commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.conversation.texts import Say
from bot.desk import linking
from bot.desk.desk import Desk
from bot.desk.labels import INTENT_LABELS, WORDS
from storage import cases, people
from storage.models import Case, CaseStatus, Coordinator, RotaSlot, row_id

TOKYO = ZoneInfo("Asia/Tokyo")
EVERYONE = 2
GROUPED_WINDOW = dt.timedelta(hours=1)  # at most one grouped page per region in this window
DAY = 24 * 60
#: What the person hears at each round after everyone was paged, in turn: never the same words twice in a row.
AGAIN = (Say.WAIT_AGAIN_CALLING, Say.WAIT_AGAIN_NOT_FORGOTTEN, Say.WAIT_AGAIN_WRITE, Say.WAIT_AGAIN_SOMEONE)


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
    everyone = people.coordinators(session=session, active_only=True)
    return [person for person in everyone if region in person.regions]


LEVEL_NAMES = WORDS.page.levels
REASONS = WORDS.page.reasons
OPENING_CHARS = 80


def page_text(case: Case, level: int, public_url: str | None, reason: str | None = None, round_: int = 0) -> str:
    """What a coordinator's phone shows: how urgent, which town, what happened, and where to read more.

    ``round_``: how many times everyone was paged before this page (0 for the first time)."""
    words = WORDS.page
    why = REASONS.get(reason or "", "") or LEVEL_NAMES.get(level, "")
    if round_:
        why += words.round.format(round=round_ + 1)
    head = words.urgent if case.urgent else words.normal
    lines = [
        words.title.format(head=head, case=case.id, why=why),
        words.town.format(town=case.town or words.unknown_town),
    ]
    lines.append(words.what.format(intents="、".join(INTENT_LABELS.get(intent, intent) for intent in case.intents)))
    opening = case.summary.get("opening")
    if opening:
        lines.append("「" + (opening if len(opening) <= OPENING_CHARS else opening[:OPENING_CHARS] + "…") + "」")
    if public_url:
        lines.append(f"{public_url.rstrip('/')}/coordinator/cases/{case.id}")
    return "\n".join(lines)


def _page_payload(
    case: Case, level: int, public_url: str | None, reason: str | None = None, round_: int = 0
) -> dict[str, object]:
    """A page as the outbox keeps it: the text and a 受ける button for phones, the facts for the web page."""
    button = {"label": WORDS.page.claim_button, "value": f"claim:{case.id}"}
    message = {"text": page_text(case, level, public_url, reason, round_), "choices": [button] if level >= 0 else []}
    facts = {"case_id": case.id, "level": level, "urgent": case.urgent, "town": case.town, "region": case.region}
    extra = ({"reason": reason} if reason else {}) | ({"round": round_} if round_ else {})
    return {"messages": [message], **facts, **extra}


@dataclass(frozen=True, slots=True)
class Paged:
    level: int
    coordinator_ids: tuple[int, ...]
    notice: Say  # what the person is told now


def _targets(session: Session, case: Case, level: int, at: dt.datetime) -> tuple[int, list[Coordinator], bool]:
    """Who ``level`` reaches now (skipping ahead to everyone when nobody is there), and whether anyone is on call."""
    staff = {row_id(person): person for person in serving(session, case.region)}
    rota = people.rota_slots(session=session, region=case.region)
    now_on_call = [cid for cid in on_call(rota, at) if cid in staff]
    if level < EVERYONE and level < len(now_on_call):
        return level, [staff[now_on_call[level]]], True
    return EVERYONE, list(staff.values()), bool(now_on_call)


def _send(
    session: Session, case: Case, person: Coordinator, payload: dict[str, object], key: str, at: dt.datetime
) -> int:
    """Queue one page to one coordinator (their first channel, the others as fallbacks); returns their id."""
    linking.enqueue_page(session, person, payload, key, row_id(case), at)
    return row_id(person)


def page(
    *, session: Session, case: Case, level: int, at: dt.datetime, deadline: dt.timedelta, public_url: str | None = None
) -> Paged:
    """Page the coordinators for ``level`` (skipping ahead when nobody is there) and set the next deadline.

    A ``level`` past ``EVERYONE`` is a later round of paging everyone; the next deadline is always set,
    so the re-pager comes back until a claim (or a resolve) takes the case out of the open ones."""
    assert case.id is not None
    rung, targets, anyone_on_call = _targets(session, case, level, at)
    step = max(level, rung)  # 0, 1, 2 = EVERYONE, then 3, 4, ...: everyone again
    round_ = step - EVERYONE if step > EVERYONE else 0
    payload = _page_payload(case, rung, public_url, round_=round_)
    ids = [_send(session, case, person, payload, f"page:{case.id}:{step}:{person.id}", at) for person in targets]
    detail = {"round": round_} if round_ else {}
    cases.add_event(session=session, case_id=case.id, kind="paged", at=at, level=rung, coordinators=ids, **detail)
    case.page_level = step
    case.next_page_at = at + deadline
    case.updated_at = at
    session.add(case)
    return Paged(rung, tuple(ids), _notice(step, round_, anyone_on_call))


def _notice(step: int, round_: int, anyone_on_call: bool) -> Say:
    """What the person is told at this step of the ladder: new words each time it climbs or comes round again."""
    if round_:
        return AGAIN[(round_ - 1) % len(AGAIN)]
    if not anyone_on_call:
        return Say.WAIT_NOBODY  # nobody on the rota now: everyone is paged at once
    return {0: Say.WAIT_PAGED, 1: Say.WAIT_STILL}.get(step, Say.WAIT_EVERYONE)


def page_news(*, session: Session, case: Case, at: dt.datetime, public_url: str | None = None) -> None:
    """New urgent news on a case already paged and not yet claimed (a second person collapsed mid-intake):
    the coordinators paged at the case's current rung hear it now, without waiting for the ladder."""
    assert case.id is not None
    level, targets, _ = _targets(session, case, case.page_level, at)
    stamp, payload = int(at.timestamp() * 1000), _page_payload(case, level, public_url, "news")
    ids = [_send(session, case, person, payload, f"page:{case.id}:news:{person.id}:{stamp}", at) for person in targets]
    cases.add_event(session=session, case_id=case.id, kind="paged", at=at, level=level, coordinators=ids, reason="news")


def page_grouped(
    *, session: Session, case: Case, at: dt.datetime, window: dt.timedelta, public_url: str | None = None
) -> bool:
    """An urgent case over the web chat's paging budget: queued, and at most one page per region and window.

    The first such case in a window pages whoever would be paged first, with
    words saying that more urgent chats are arriving and are in the queue;
    later ones only get a ``grouped`` event. No ladder runs for them: the
    coordinator woken by the grouped page works the queue, where each such
    case is marked urgent. Returns whether a page went out.
    """
    assert case.id is not None
    bucket = int(at.timestamp() // window.total_seconds())
    _, targets, _ = _targets(session, case, 0, at)
    fresh: list[Coordinator] = []
    for person in targets:
        payload = _page_payload(case, 0, public_url, "grouped")
        row = linking.enqueue_page(
            session, person, payload, f"page:grouped:{case.region}:{bucket}:{person.id}", case.id, at
        )
        if row.case_id == case.id:  # not an earlier case's page of this window, which enqueue handed back
            fresh.append(person)
    ids = [row_id(person) for person in fresh]
    cases.add_event(session=session, case_id=case.id, kind="grouped", at=at, coordinators=ids)
    return bool(ids)


def hold(*, session: Session, desk: Desk, case: Case, at: dt.datetime) -> Say:
    """An urgent case over a paging budget: grouped (``page_grouped``) and counted; the person's notice."""
    if page_grouped(session=session, case=case, at=at, window=GROUPED_WINDOW, public_url=desk.public_url):
        desk.metrics.pages.labels("grouped").inc()
    return Say.WAIT_QUEUED


def page_claimer(
    *, session: Session, case: Case, at: dt.datetime, reason: str = "news", public_url: str | None = None
) -> None:
    """Tell the coordinator who holds the case that something new and urgent came in (or that it is theirs now)."""
    assert case.id is not None and case.claimed_by is not None
    person = session.get(Coordinator, case.claimed_by)
    if person is None:
        return
    stamp = int(at.timestamp() * 1000)
    key = f"page:{case.id}:{reason}:{person.id}:{stamp}"
    sent = _send(session, case, person, _page_payload(case, -1, public_url, reason), key, at)
    cases.add_event(session=session, case_id=case.id, kind="paged", at=at, level=-1, coordinators=[sent])


def page_undelivered(
    *, session: Session, case: Case, stamp: dt.datetime, at: dt.datetime, public_url: str | None
) -> None:
    """A reply with the numbers to call could not reach the person: tell whoever holds the case, else who is on call.

    Outside the ladder (the case's level and deadline stay as they are); one page
    per coordinator for each turn whose reply was lost (``stamp``: when it was queued).
    """
    assert case.id is not None
    if case.status == CaseStatus.CLAIMED and case.claimed_by is not None:
        holder = session.get(Coordinator, case.claimed_by)
        targets = [holder] if holder is not None else []
    else:
        _, targets, _ = _targets(session, case, 0, at)  # the first on call, or everyone when nobody is
    lost = int(stamp.timestamp() * 1000)
    payload = _page_payload(case, -1, public_url, "undelivered")
    ids = [_send(session, case, p, payload, f"page:{case.id}:undelivered:{lost}:{p.id}", at) for p in targets]
    cases.add_event(session=session, case_id=case.id, kind="paged", at=at, level=-1, coordinators=ids)
