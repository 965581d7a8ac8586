"""「通知の 設定」: how pages reach a coordinator (``/coordinator/notify``), and the installable app around it.

The page shows the coordinator's linked channels (with 解除), gives a one-time
code to send to the bot on LINE or Telegram (``bot.desk.linking``), and links
this browser for Web Push with a button (``/static/push.js`` subscribes with the
VAPID public key and posts the subscription here). The web app manifest and the
service worker are served under ``/coordinator/`` so the worker's scope covers
every coordinator page and the queue installs as a small app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Header, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from bot.desk import linking
from bot.desk.notify import words
from bot.web import auth
from bot.web.deps import FormLoginDep, Login, LoginDep, ServicesDep, SessionDep
from bot.web.services import Services
from storage import links
from storage.models import row_id
from storage.types import utcnow

router = APIRouter(prefix="/coordinator")
STATIC = Path(__file__).parent / "static"
ICONS = (192, 512)


def _context(svc: Services, session: Session, login: Login, **extra: Any) -> dict[str, Any]:
    said = words()
    linked = links.links_of(session=session, coordinator_id=row_id(login.coordinator))
    return {
        "login": login,
        "said": said,
        "linked": linked,
        "channel_name": lambda channel: said.channels.get(channel, channel),
        "vapid_key": linking.vapid_public_key(session, svc.desk),
        "legacy": login.coordinator.page_channel if login.coordinator.page_address else None,
        **extra,
    }


def _page(svc: Services, request: Request, context: dict[str, Any]) -> Response:
    said = context["said"]
    done = {"unlinked": said.unlinked, "push": said.push_done, "test": said.test_sent}.get(
        request.query_params.get("m") or ""
    )
    return svc.templates.TemplateResponse(request, "notify.html", {"flash": done or "", "flash_bad": False} | context)


@router.get("/notify", response_class=HTMLResponse)
def notify_page(request: Request, svc: ServicesDep, session: SessionDep, login: LoginDep) -> Response:
    return _page(svc, request, _context(svc, session, login))


@router.post("/notify/code", response_class=HTMLResponse)
def notify_code(request: Request, svc: ServicesDep, session: SessionDep, login: FormLoginDep) -> Response:
    """A new one-time code, shown on this response only (a reload of it makes a new code, the old one stops)."""
    code = linking.new_code(session, login.coordinator, utcnow())
    minutes = int(linking.CODE_LIFE.total_seconds() // 60)
    shown = words().code_shown.format(code=linking.shown(code), minutes=minutes)
    return _page(svc, request, _context(svc, session, login, code=shown))


@router.post("/notify/unlink")
def notify_unlink(session: SessionDep, login: FormLoginDep, link_id: Annotated[int, Form()]) -> Response:
    if not links.unlink(session=session, coordinator_id=row_id(login.coordinator), link_id=link_id):
        raise HTTPException(status_code=404, detail="not found")
    return RedirectResponse("/coordinator/notify?m=unlinked", status_code=303)


@router.post("/notify/test")
def notify_test(session: SessionDep, login: FormLoginDep) -> Response:
    """A test page by the coordinator's own route (LINE → Telegram → Web Push → the queue page)."""
    linking.test_page(session, login.coordinator, utcnow())
    return RedirectResponse("/coordinator/notify?m=test", status_code=303)


class _Keys(BaseModel):
    model_config = ConfigDict(extra="ignore")

    p256dh: str = Field(min_length=40, max_length=200)
    auth: str = Field(min_length=16, max_length=100)


class Subscription(BaseModel):
    """``PushSubscription.toJSON()`` as the browser gives it."""

    model_config = ConfigDict(extra="ignore")

    endpoint: str = Field(min_length=10, max_length=2000, pattern=r"^https?://")
    keys: _Keys


@router.post("/notify/webpush")
def notify_webpush(
    subscription: Subscription,
    session: SessionDep,
    login: LoginDep,
    csrf: Annotated[str, Header(alias="X-CSRF-Token")] = "",
) -> JSONResponse:
    """Link this browser's push subscription (JSON from ``push.js``, with the session's CSRF token in a header)."""
    if not auth.same(csrf, login.csrf):
        raise HTTPException(status_code=403, detail="CSRF token missing or wrong: reload the page")
    keys = {"p256dh": subscription.keys.p256dh, "auth": subscription.keys.auth}
    linking.subscribe(session, login.coordinator, subscription.endpoint, keys, utcnow())
    return JSONResponse({"ok": True})


# --- the installable app ----------------------------------------------------------------------


@router.get("/manifest.webmanifest")
def manifest() -> JSONResponse:
    """The web app manifest: the queue opens as an app of its own, from the phone's home screen."""
    said = words()
    icons = [{"src": f"/static/icon-{size}.png", "sizes": f"{size}x{size}", "type": "image/png"} for size in ICONS]
    body = {
        "name": said.app_name,
        "short_name": said.app_short_name,
        "lang": "ja",
        "start_url": "/coordinator/",
        "scope": "/coordinator/",
        "display": "standalone",
        "background_color": "#f7f7f5",
        "theme_color": "#1f5fa8",
        "icons": icons,
    }
    return JSONResponse(body, media_type="application/manifest+json")


@router.get("/sw.js")
def service_worker() -> FileResponse:
    """The service worker, from ``/coordinator/`` so its scope is every coordinator page; never cached stale."""
    return FileResponse(STATIC / "sw.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"})
