"""``POST /webhooks/line`` and ``POST /webhooks/telegram``: verify, store, answer 200; the receiver does the rest.

Persist, then acknowledge: the 200 goes out only once every event of the body
is committed (a redelivered event stores nothing and is answered 200 too; on
SQLite one that already left the journal is stored again and dropped when the
receiver adopts it, ``storage.inbound``). A
body that fails verification gets a 4xx and nothing is stored. A verified body
with nothing usable in it (the LINE console's verify request, an update the SDK
cannot read) is answered 200, so the platform does not retry it forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from bot.channels import BadSignature, Stored, registry
from bot.web.bodylimit import WEBHOOK_LIMIT
from bot.web.deps import ServicesDep
from bot.web.services import Services
from storage import inbound
from storage.db import reader, session_scope
from storage.types import utcnow

router = APIRouter(prefix="/webhooks")
log = logging.getLogger(__name__)
MAX_BODY = WEBHOOK_LIMIT  # refused with 413 by ``bot.web.bodylimit`` while the body streams, before this route


@router.post("/{name}")
async def webhook(name: str, request: Request, svc: ServicesDep) -> JSONResponse:
    channel = svc.channels.get(name)
    if channel is None:
        raise HTTPException(status_code=404, detail=f"channel {name!r} is not configured here")
    body = await request.body()
    try:
        channel.verify(body, request.headers)
    except BadSignature as error:
        svc.desk.metrics.webhooks.labels(name, "refused").inc()
        raise HTTPException(status_code=registry.row(name).refused, detail=str(error)) from error
    events = channel.events(body)
    new = await asyncio.to_thread(_store, svc, name, events) if events else 0
    svc.desk.metrics.webhooks.labels(name, "stored").inc(new)
    svc.desk.metrics.webhooks.labels(name, "duplicate").inc(len(events) - new)
    if new and svc.receiver is not None:
        svc.receiver.wake.set()
    return JSONResponse({"ok": True, "stored": new})


def _store(svc: Services, name: str, events: list[Stored]) -> int:
    """Into the inbound journal on SQLite (a write lock of its own: no turn holds it), else the database.

    A key the database already holds was adopted from the journal earlier: a redelivery, not stored again
    (reading the database takes no write lock). One adopted between this look and the insert is still
    dropped on adoption, so the look only keeps ``stored`` honest and the journal small.
    """
    journal = svc.journal if svc.journal is not None and svc.journal is not svc.engine else None
    if journal is not None:  # a snapshot read: BEGIN IMMEDIATE would queue this 200 behind the work's turns
        with session_scope(reader(svc.engine)) as session:
            known = inbound.known_keys(session=session, keys=[event.key for event in events])
        events = [event for event in events if event.key not in known]
    with svc.journal_lock or contextlib.nullcontext():
        at = utcnow()
        with session_scope(journal or svc.engine) as session:  # no journal: the unique key drops a redelivery
            return sum(
                inbound.store(session=session, channel=name, key=e.key, address=e.address, body=e.body, at=at)
                for e in events
            )
