"""How pages reach one coordinator: their own links (LINE, Telegram, Web Push), the codes that make them,
and a page going on to the next channel when one fails.

Self-service linking: the 「通知の 設定」 page gives a one-time code (8 digits,
``CODE_LIFE``, single use; only its SHA-256 is kept). The coordinator sends it to
the bot on LINE or Telegram; the receiver hands every platform text to ``redeem``
first, and a message that is a known code links that account and is answered
from ``notify.yaml``, never reaching the conversation engine or a case. A text
that only looks like a code (eight digits nobody was given) is an ordinary
message. Web Push is linked from the same page with the browser's subscription.

Page routes: a coordinator's links in the order LINE → Telegram → Web Push (a
LINE or Telegram address set by ``madoguchi coordinator page`` counts as linked),
then the queue page (``web``), which always shows. A page goes to the first; the
rest ride in its payload (``fallbacks``), and the dispatcher calls ``fall_back``
when the page failed for good there, or kept failing for ``Desk.page_fallback``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.channels import registry
from bot.channels.base import Arrival
from bot.channels.errors import MONTHLY_LIMIT
from bot.channels.webpush import new_private_key, public_key_of
from bot.conversation import Reply
from bot.conversation.model import Kind
from bot.desk.desk import Desk
from bot.desk.notify import words
from bot.desk.outgoing import queue_out
from storage import cases, links, outbox
from storage.db import session_scope
from storage.models import Coordinator, Outbox, PageLink, row_id

#: The order a page tries a coordinator's channels in; the queue page (``web``) always comes last.
ORDER = ("line", "telegram", "webpush")
LINKABLE = ("line", "telegram")  # where a code can be sent from
CODE_DIGITS = 8
CODE_LIFE = dt.timedelta(minutes=10)
_CODE = re.compile(rf"\d{{{CODE_DIGITS}}}")
VAPID_SECRET = "vapid_private_key"
TOKYO = ZoneInfo("Asia/Tokyo")


@dataclass(frozen=True, slots=True)
class Route:
    """One way to reach a coordinator: a channel, its address there, and a push subscription's keys."""

    channel: str
    address: str
    keys: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "address": self.address, "keys": self.keys}


def routes(session: Session, person: Coordinator) -> list[Route]:
    """Where a page to ``person`` goes, first to last: LINE, Telegram, Web Push, then the queue page."""
    found = [
        Route(row.channel, row.address, dict(row.keys))
        for row in links.links_of(session=session, coordinator_id=row_id(person))
    ]
    if person.page_channel in ORDER and person.page_address:  # set by `madoguchi coordinator page`
        found.append(Route(person.page_channel, person.page_address, {}))
    unique = {(route.channel, route.address): route for route in found if route.channel in ORDER}
    ordered = sorted(unique.values(), key=lambda route: ORDER.index(route.channel))
    return [*ordered, Route("web", str(row_id(person)), {})]


def enqueue_page(
    session: Session, person: Coordinator, payload: dict[str, object], key: str, case_id: int | None, at: dt.datetime
) -> Outbox:
    """Queue a page on the coordinator's first route, with the others as its fallbacks."""
    first, *rest = routes(session, person)
    return outbox.enqueue(
        session=session,
        kind="page",
        channel=first.channel,
        address=first.address,
        payload=_on_route(payload, first, rest),
        dedupe_key=key,
        case_id=case_id,
        at=at,
    )


def test_page(session: Session, person: Coordinator, at: dt.datetime) -> Outbox:
    """A page about no case, by the same route a real one takes: the coordinator sees that their links work."""
    payload: dict[str, object] = {"messages": [{"text": words().test_page, "choices": []}], "level": -1, "test": True}
    stamp = int(at.timestamp() * 1000)
    return enqueue_page(session, person, payload, f"page:test:{row_id(person)}:{stamp}", None, at)


def _on_route(payload: dict[str, Any], route: Route, rest: list[Route]) -> dict[str, Any]:
    plain = {name: value for name, value in payload.items() if name not in ("fallbacks", "push_keys")}
    keys = {"push_keys": route.keys} if route.keys else {}
    return plain | keys | {"fallbacks": [later.as_dict() for later in rest]}


def should_fall_back(row: Outbox, permanent: bool, at: dt.datetime, after: dt.timedelta) -> bool:
    """A page with somewhere else to go: at once on a permanent error, else once it has failed for ``after``."""
    return row.kind == "page" and bool(row.payload.get("fallbacks")) and (permanent or at - row.created_at >= after)


def fall_back(*, session: Session, row: Outbox, error: str, at: dt.datetime) -> Outbox:
    """Pass a failing page on to the coordinator's next route (the case's history says so)."""
    following = [
        Route(str(r["channel"]), str(r["address"]), dict(r.get("keys") or {})) for r in row.payload["fallbacks"]
    ]
    route, rest = following[0], following[1:]
    outbox.pass_on(session=session, row_id=row_id(row), error=error)
    base = row.dedupe_key or f"page:{row.id}"
    passed = outbox.enqueue(
        session=session,
        kind="page",
        channel=route.channel,
        address=route.address,
        payload=_on_route(dict(row.payload), route, rest),
        dedupe_key=f"{base}>{route.channel}",
        case_id=row.case_id,
        at=at,
    )
    if row.case_id is not None:
        cases.add_event(
            session=session,
            case_id=row.case_id,
            kind="page_passed",
            at=at,
            failed_on=row.channel,
            passed_to=route.channel,
        )
    return passed


def gone(*, session: Session, channel: str, address: str) -> None:
    """The platform says the address is gone for good (a push subscription's 404 or 410): unlink it."""
    links.forget_address(session=session, channel=channel, address=address)


# --- codes ----------------------------------------------------------------------------------


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def new_code(session: Session, person: Coordinator, at: dt.datetime) -> str:
    """A fresh one-time code for ``person`` (their earlier unused ones stop working); shown once, kept hashed."""
    links.drop_old_codes(session=session, before=at - dt.timedelta(days=1))
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    links.add_code(
        session=session, coordinator_id=row_id(person), code_hash=_hash(code), at=at, expires_at=at + CODE_LIFE
    )
    return code


def shown(code: str) -> str:
    """The code as the page shows it: two groups of four, easier to read out and type."""
    return f"{code[:4]} {code[4:]}"


def read_code(text: str) -> str | None:
    """The code in a message that is nothing else (full-width digits, spaces and hyphens allowed)."""
    plain = re.sub(r"[\s\-‐－ー]", "", unicodedata.normalize("NFKC", text or ""))
    return plain if _CODE.fullmatch(plain) else None


def redeem(*, session: Session, desk: Desk, arrival: Arrival, at: dt.datetime) -> bool:
    """A coordinator's code sent to the bot: link this account and answer; False for any other message.

    A code that was given but is used or expired is answered too (it was meant as a code, not as
    words for the conversation); eight digits nobody was given are an ordinary message.
    """
    if arrival.channel not in LINKABLE or arrival.inbound.kind != Kind.TEXT:
        return False
    code = read_code(arrival.inbound.text)
    found = links.code(session=session, code_hash=_hash(code)) if code else None
    if found is None or code is None:
        return False
    said = words()
    if links.use_code(session=session, code_hash=_hash(code), at=at):
        links.link(
            session=session,
            coordinator_id=found.coordinator_id,
            channel=arrival.channel,
            address=arrival.address,
            at=at,
            keys=None,
        )
        text = said.linked.format(channel=said.channels[arrival.channel])
    else:
        text = said.code_unusable
    window = registry.row(arrival.channel).reply_window
    until = arrival.inbound.at + window if window and arrival.reply_token else None
    queue_out(
        session,
        arrival.channel,
        arrival.address,
        [(Reply(text), None)],
        at,
        None,
        kind="notice",
        reply_token=arrival.reply_token,
        reply_until=until,
    )
    return True


# --- Web Push -------------------------------------------------------------------------------


def subscribe(session: Session, person: Coordinator, endpoint: str, keys: dict[str, str], at: dt.datetime) -> PageLink:
    """Link a browser's push subscription (its endpoint and public keys) to ``person``."""
    kept = {"p256dh": keys["p256dh"], "auth": keys["auth"]}
    return links.link(
        session=session, coordinator_id=row_id(person), channel="webpush", address=endpoint, at=at, keys=kept
    )


def vapid_private_key(session: Session, desk: Desk) -> str:
    """The VAPID key: from the settings, else the one kept in the database (made on first use)."""
    if desk.vapid_private_key:
        return desk.vapid_private_key
    found = links.kept(session=session, name=VAPID_SECRET)
    if found is None:
        found = new_private_key()
        links.keep(session=session, name=VAPID_SECRET, value=found)
    return found


def vapid_public_key(session: Session, desk: Desk) -> str:
    return public_key_of(vapid_private_key(session, desk))


def ensure_vapid(engine: Engine, desk: Desk) -> str:
    """``vapid_private_key`` in a transaction of its own, reading the other instance's key if it was first."""
    for _ in range(2):
        try:
            with session_scope(engine) as session:
                return vapid_private_key(session, desk)
        except IntegrityError:
            continue
    raise RuntimeError("could not keep the VAPID key")


# --- the LINE monthly limit -----------------------------------------------------------------


def line_limit_notice(session: Session, at: dt.datetime) -> str | None:
    """The queue page's notice while LINE refuses pushes for this month (Tokyo), else None."""
    local = at.astimezone(TOKYO)
    month = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    since = outbox.failed_with(session=session, channel="line", marker=MONTHLY_LIMIT, since=month)
    if since is None:
        return None
    return words().line_limit.format(since=since.astimezone(TOKYO).strftime("%m/%d %H:%M"))
