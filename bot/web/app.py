"""The ASGI app: the factory wires settings, database, desk and workers; routers hold the pages.

``create_app`` builds everything from a ``Settings`` (nothing at import time),
brings the schema up to date, and, unless told not to (``workers=False``), runs
the work behind the 200 (``bot.runtime.work``: receive, dispatch, re-page, purge)
in the app's lifespan. ``madoguchi serve`` tells it not to by default and runs
that work in a process of its own (``MADOGUCHI_WORK``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from bot.channels import Channel
from bot.channels.base import Sender
from bot.channels.registry import build_channels
from bot.conversation import Context, load_context
from bot.desk import Desk, evidence
from bot.desk.labels import CHANNEL_LABELS, INTENT_LABELS
from bot.desk.paging import TOKYO
from bot.runtime.work import Work
from bot.settings import Settings
from bot.web import auth
from bot.web.bodylimit import BodyLimit
from bot.web.headers import SecurityHeaders
from bot.web.services import LoginRequired, Services
from bot.web.throttle import Throttles
from storage import cases
from storage.db import make_engine, open_journal, session_scope, upgrade

HERE = Path(__file__).parent
log = logging.getLogger(__name__)


def tokyo(value: dt.datetime | None, fmt: str = "%m/%d %H:%M") -> str:
    return value.astimezone(TOKYO).strftime(fmt) if value is not None else ""


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters["tokyo"] = tokyo
    templates.env.filters["intent_label"] = lambda intent: INTENT_LABELS.get(intent, intent)
    templates.env.filters["reason"] = evidence.explain
    templates.env.filters["channel_label"] = lambda channel: CHANNEL_LABELS.get(channel, channel)
    return templates


def _queue_depth(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        return cases.queue_depth(session=session)


def _ensure_secret(engine: Engine) -> bytes:
    for _ in range(2):
        try:
            with session_scope(engine) as session:
                return auth.server_secret(session)
        except IntegrityError:  # another instance made it at the same moment: read theirs
            continue
    raise RuntimeError("could not create the server secret")


def create_app(
    settings: Settings,
    *,
    ctx: Context | None = None,
    workers: bool = True,
    senders: Mapping[str, Sender] | None = None,
    channels: Mapping[str, Channel] | None = None,
) -> FastAPI:
    """The app; ``channels`` defaults to those whose secrets are set (``bot.channels.registry.build_channels``)."""
    engine = make_engine(settings.database_url)
    upgrade(engine)
    desk = Desk.build(ctx or load_context(), settings)
    desk.ctx.faq(desk.region)  # built now, not by the first person's request
    desk.metrics.watch_queue(lambda: _queue_depth(engine))
    platforms = dict(build_channels(settings) if channels is None else channels)
    journal = open_journal(engine)
    work = Work(engine, desk, platforms, senders, journal=journal)
    secret, throttles = _ensure_secret(engine), Throttles.build(settings)
    services = Services(settings, engine, desk, _templates(), secret, throttles, platforms, work.receiver, journal)
    services.journal_lock = threading.Lock() if journal is not engine else None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks = []
        for platform in platforms.values():
            await platform.start()
        if workers:
            tasks = [asyncio.create_task(work.run(stop))]
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            for platform in platforms.values():
                await platform.close()
            journal.dispose()
            engine.dispose()

    app = FastAPI(title="Madoguchi", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.services = services
    app.add_middleware(BodyLimit)  # inner: counts the body the routes read
    app.add_middleware(SecurityHeaders)  # outer: also on the 413s and the errors
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    from bot.web import chat, coordinator, health, notify, reports, webhooks

    app.include_router(health.router)
    app.include_router(chat.router)
    app.include_router(coordinator.router)
    app.include_router(coordinator.api)
    app.include_router(notify.router)
    app.include_router(reports.router)
    app.include_router(webhooks.router)

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse("/coordinator/login", status_code=303)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/chat/", status_code=307)

    log.info("app ready: database %s, region %s", engine.dialect.name, settings.region)
    return app
