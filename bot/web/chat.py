"""The local web chat (``/chat/``): talk to the bot as a person would, with no LINE or Telegram account.

The person is a random token in an HttpOnly cookie (pseudonymous, like a LINE
user id); the database keeps only its SHA-256 as the conversation's address,
so a leaked database cannot be used to read a chat. The cookie lives two weeks
(``MADOGUCHI_CHAT_COOKIE_DAYS``): the phone may be a family's. 「この 端末から 消す」
forgets it on this device; the conversation stays with the hub. Each message
carries a client-made id, so a retried POST is handled once. JSON posts need
the page's CSRF header, which another site cannot send. Replies come back in
the response; a coordinator's later reply is picked up by the page's polling
of ``/chat/api/messages``, which also says whether a coordinator has joined
(the case is claimed). After 「データを消して」 → 消す nothing of the person is
kept, so the answer carries the bot's confirmation itself and ``forgotten``:
the page clears the old bubbles and shows it. Anyone may write, but a new conversation or an
urgent page from one address (and from everyone) has a budget
(``bot.web.throttle``): over it, the person still gets every reply, and the
case waits in the queue under a grouped page.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Cookie, Header, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlmodel import Session, select

from bot.channels.base import Arrival
from bot.conversation import Inbound
from bot.conversation.texts import Say
from bot.desk.inbox import Handled, deliver_then
from bot.web import auth
from bot.web.deps import ServicesDep
from bot.web.throttle import client_address
from storage import people
from storage.db import reader
from storage.messages import shown_since
from storage.models import Case, CaseStatus, Conversation, Direction, row_id
from storage.types import utcnow

router = APIRouter(prefix="/chat")
CHAT_COOKIE = "madoguchi_chat"
MAX_TEXT = 5000


class Sent(BaseModel):
    text: str = Field(default="", max_length=MAX_TEXT)
    choice: str | None = Field(default=None, max_length=200)
    client_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    cursor: str = Field(default="", max_length=80)
    household: str | None = Field(default=None, max_length=64)


class Shown(BaseModel):
    id: int
    who: str  # me, bot, coordinator, system
    text: str
    choices: list[dict[str, str]]
    at: str


class Transcript(BaseModel):
    messages: list[Shown]
    cursor: str  # pass back to get only what was shown to the person since
    joined: bool = False  # a coordinator has the case now: the page shows the sign
    forgotten: bool = False  # everything was just deleted at the person's wish: ``messages`` is the confirmation


@router.get("/", response_class=HTMLResponse)
def page(
    request: Request,
    svc: ServicesDep,
    household: Annotated[str | None, Query(alias="h", max_length=64)] = None,
    token: Annotated[str | None, Cookie(alias=CHAT_COOKIE)] = None,
) -> Response:
    token = token if token and len(token) >= 16 else secrets.token_urlsafe(24)
    csrf = auth.sign(svc.secret, "chat:" + token)
    region = svc.desk.ctx.kb.region(svc.desk.region)
    texts = svc.desk.ctx.texts
    words = {
        "welcome": texts.say(Say.CHAT_WELCOME, region.id),
        "joined": texts.say(Say.CHAT_JOINED, region.id),
        "new_reply": texts.say(Say.CHAT_NEW_REPLY, region.id),
    }
    context = {"csrf": csrf, "household": household or "", "region_name": region.name, "words": words}
    response = svc.templates.TemplateResponse(request, "chat.html", context)
    max_age = svc.settings.chat_cookie_days * 86400
    response.set_cookie(
        CHAT_COOKIE, token, httponly=True, samesite="lax", secure=svc.settings.cookie_secure, max_age=max_age
    )
    return response


def _address(svc: ServicesDep, token: str | None, csrf: str | None) -> str:
    """The conversation's address for this cookie (the token's SHA-256), once the CSRF header matches it."""
    if not token or not auth.same(csrf, auth.sign(svc.secret, "chat:" + token)):
        raise HTTPException(status_code=403, detail="reload the chat page")
    return auth.digest(token)


def _is_new(svc: ServicesDep, address: str) -> bool:
    with Session(reader(svc.engine)) as session:
        return people.conversation_for(session=session, channel="web", address=address) is None


@router.post("/api/messages")
def send(
    sent: Sent,
    request: Request,
    svc: ServicesDep,
    token: Annotated[str | None, Cookie(alias=CHAT_COOKIE)] = None,
    csrf: Annotated[str | None, Header(alias="X-CSRF-Token")] = None,
) -> Transcript:
    address = _address(svc, token, csrf)
    if not sent.text.strip() and not sent.choice:
        raise HTTPException(status_code=422, detail="empty message")
    arrival = Arrival(
        channel="web",
        address=address,
        inbound=Inbound(sent.text.strip(), utcnow(), sent.choice),
        event_key=f"web:{address}:{sent.client_id}",
        household_code=sent.household or None,
        may_page=svc.throttles.chat_gate(client_address(request), new=_is_new(svc, address)),
    )
    return deliver_then(svc.engine, svc.desk, arrival, lambda session, done: _answer(session, address, sent, done))


def _answer(session: Session, address: str, sent: Sent, handled: Handled) -> Transcript:
    """What the page shows after a send: the transcript since its cursor, or, once the person was
    forgotten (no conversation is left to read), the bot's confirmation itself."""
    if handled.duplicate or people.conversation_for(session=session, channel="web", address=address) is not None:
        return _transcript(session, address, sent.cursor)
    at = utcnow().isoformat()
    said = [Shown(id=0, who="bot", text=reply.text, choices=[], at=at) for reply in handled.replies]
    return Transcript(messages=said, cursor="", forgotten=True)


@router.post("/api/forget-device", status_code=204)
def forget_device(
    svc: ServicesDep,
    token: Annotated[str | None, Cookie(alias=CHAT_COOKIE)] = None,
    csrf: Annotated[str | None, Header(alias="X-CSRF-Token")] = None,
) -> Response:
    """「この 端末から 消す」: this device forgets the chat (the cookie); the hub keeps the conversation."""
    _address(svc, token, csrf)
    response = Response(status_code=204)
    response.delete_cookie(CHAT_COOKIE, httponly=True, samesite="lax", secure=svc.settings.cookie_secure)
    return response


@router.get("/api/messages")
def messages(
    svc: ServicesDep,
    cursor: Annotated[str, Query(max_length=80)] = "",
    token: Annotated[str | None, Cookie(alias=CHAT_COOKIE)] = None,
    csrf: Annotated[str | None, Header(alias="X-CSRF-Token")] = None,
) -> Transcript:
    address = _address(svc, token, csrf)
    with Session(reader(svc.engine)) as session:  # the page polls every 2 s: never queue behind writers
        return _transcript(session, address, cursor)


WHO = {Direction.IN: "me", Direction.BOT: "bot", Direction.COORDINATOR: "coordinator", Direction.SYSTEM: "system"}


def _transcript(session: Session, address: str, cursor: str) -> Transcript:
    conversation = people.conversation_for(session=session, channel="web", address=address)
    if conversation is None:
        return Transcript(messages=[], cursor=cursor)
    rows, cursor = shown_since(session=session, conversation_id=row_id(conversation), cursor=cursor)
    return Transcript(
        messages=[
            Shown(
                id=row.id or 0,
                who=WHO[Direction(row.direction)],
                text=row.text or "",
                choices=row.choices,
                at=row.created_at.isoformat(),
            )
            for row in rows
        ],
        cursor=cursor,
        joined=_joined(session, conversation),
    )


def _joined(session: Session, conversation: Conversation) -> bool:
    """A coordinator has this conversation's case (claimed, not yet resolved)."""
    claimed = select(Case.id).where(Case.conversation_id == conversation.id, Case.status == CaseStatus.CLAIMED)
    return session.exec(claimed.limit(1)).first() is not None
