"""The coordinator pages (``/coordinator/``) and their JSON twin (``/api/``).

Routes only translate: forms in, ``bot.desk.casework`` does the work, a redirect
out (POST-redirect-GET, so a reload never repeats an action). Every form posts
the session's CSRF token; a coordinator sees only the regions they serve.
Live updates: ``/coordinator/stream`` (Server-Sent Events) says when anything
changed, and the page reloads its ``/coordinator/live/...`` part.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlmodel import Session

from bot.conversation.engine import closing_text
from bot.conversation.summary import CaseSummary
from bot.desk import casework, linking, notify, quick_replies
from bot.desk.labels import CHANNEL_LABELS, EVENT_LABELS, FLASH, PROBLEMS, WHO, WORDS
from bot.web import auth
from bot.web.deps import SESSION_COOKIE, FormLoginDep, Login, LoginDep, ServicesDep, SessionDep
from bot.web.render import render
from bot.web.services import LoginRequired, Services
from bot.web.throttle import client_address
from storage import cases, messages, outbox, people
from storage.db import reader, session_scope
from storage.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Coordinator,
    Household,
    OutboxStatus,
    row_id,
)
from storage.types import utcnow

router = APIRouter(prefix="/coordinator")
api = APIRouter(prefix="/api")
LOGIN_CSRF_COOKIE = "madoguchi_login_csrf"


def _back(case_id: int, flash: str) -> RedirectResponse:
    return RedirectResponse(f"/coordinator/cases/{case_id}?m={flash}", status_code=303)


def _error(case_id: int, error: casework.CaseworkError) -> RedirectResponse:
    """Back to the case with the problem's code (never its text: the page shows only words it knows)."""
    if isinstance(error, casework.NotFound):
        raise HTTPException(status_code=404, detail=str(error))
    return RedirectResponse(f"/coordinator/cases/{case_id}?e={error.code}", status_code=303)


# --- login ----------------------------------------------------------------------------------


def _login_form(svc: Services, request: Request, status: int = 200, flash: str | None = None) -> Response:
    """The login page with a fresh CSRF token in its cookie; ``flash`` overrides the ``?m=`` notice."""
    token = secrets.token_urlsafe(24)
    extra = {"flash": FLASH[flash], "flash_bad": True} if flash else {}
    response = render(svc, request, "login.html", {"csrf": token, "login": None, **extra}, status=status)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=svc.settings.cookie_secure)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, svc: ServicesDep) -> Response:
    return _login_form(svc, request)


@router.post("/login")
def login(
    request: Request,
    svc: ServicesDep,
    login: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    csrf: Annotated[str, Form()] = "",
    expected: Annotated[str | None, Cookie(alias=LOGIN_CSRF_COOKIE)] = None,
) -> Response:
    """Check a login in three short steps, so no database lock is held while argon2 works.

    A throttled login is refused before its password is looked at (429 with
    the page and its notice). Then: read the hash (a read-only transaction),
    verify it with no transaction open, and only for a match write the session.
    """
    if not auth.same(csrf, expected):
        raise HTTPException(status_code=403, detail="CSRF token missing or wrong: reload the page")
    address = client_address(request)
    wait = svc.throttles.login_wait(login, address)
    if wait > 0:
        response = _login_form(svc, request, status=429, flash="slow")
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    with Session(reader(svc.engine)) as session:
        account = auth.account_for(session, login)
    if not auth.password_matches(account, password) or account is None:
        svc.throttles.login_failed(login, address)
        return RedirectResponse("/coordinator/login?m=login", status_code=303)
    with session_scope(svc.engine) as session:
        opened = auth.open_session(session, account, password, utcnow(), svc.settings.session_hours)
    if opened is None:
        return RedirectResponse("/coordinator/login?m=login", status_code=303)
    svc.throttles.login_succeeded(login)
    response = RedirectResponse("/coordinator/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        opened[0],
        httponly=True,
        samesite="lax",
        secure=svc.settings.cookie_secure,
        max_age=int(svc.settings.session_hours * 3600),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(
    login: FormLoginDep, session: SessionDep, token: Annotated[str | None, Cookie(alias=SESSION_COOKIE)] = None
) -> Response:
    auth.end_session(session, token)
    response = RedirectResponse("/coordinator/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# --- the queue ------------------------------------------------------------------------------


def _waited(case: Case) -> str:
    minutes = int((utcnow() - (case.escalated_at or case.opened_at)).total_seconds() // 60)
    return (
        WORDS.durations.minutes.format(minutes=minutes)
        if minutes < 120
        else WORDS.durations.hours.format(hours=minutes // 60)
    )


def _queue_context(session: Session, login: Login) -> dict[str, Any]:
    me = login.coordinator
    waiting = cases.waiting(session=session, regions=me.regions)
    mine = cases.claimed_by(session=session, coordinator_id=row_id(me))
    pages = _pages_for(session, me)
    return {
        "login": login,
        "waiting": waiting,
        "mine": mine,
        "pages": pages,
        "paged": {page["case_id"] for page in pages},
        "waited": _waited,
        "preview": _preview,
        "line_limit": linking.line_limit_notice(session, utcnow()),
    }


def _pages_for(session: Session, me: Coordinator) -> list[dict[str, Any]]:
    """Pages sent to this coordinator on the web that still call for them, newest first.

    A call for help while nobody has claimed the case; and, for a case they hold, news sent to
    them alone (new danger, a case handed to them) until they open the case. The queue shows
    the newest at the top and counts the others: a claimed case is no longer a call for help,
    and one banner per page buried the waiting cards.
    """
    since = utcnow() - dt.timedelta(hours=24)
    rows = outbox.pages_sent_to(session=session, channel="web", address=str(me.id), since=since)
    shown: dict[int, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda row: row.id or 0, reverse=True):
        case_id = int(row.payload.get("case_id", 0))
        case = session.get(Case, case_id)
        if case is None or case_id in shown:
            continue
        news = case.status == CaseStatus.CLAIMED and case.claimed_by == me.id and row.payload.get("level") == -1
        if case.status == CaseStatus.OPEN or (news and not _seen_since(session, case_id, me, row.created_at)):
            shown[case_id] = {"id": row.id, "case_id": case_id, "urgent": case.urgent, "town": case.town, "news": news}
    return list(shown.values())


def _seen_since(session: Session, case_id: int, me: Coordinator, at: dt.datetime) -> bool:
    """Whether ``me`` opened the case at ``at`` or later (the news was read)."""
    views = (event for event in cases.events(session=session, case_id=case_id) if event.kind == "viewed")
    return any(event.coordinator_id == me.id and event.at >= at for event in views)


PREVIEW_CHARS = 40


def _preview(case: Case) -> str:
    """The first words the person wrote, for the queue's card (none when they were not kept)."""
    opening = " ".join(str(case.summary.get("opening") or "").split())
    return opening if len(opening) <= PREVIEW_CHARS else opening[:PREVIEW_CHARS] + "…"


@router.get("/", response_class=HTMLResponse)
def queue_page(request: Request, svc: ServicesDep, session: SessionDep, login: LoginDep) -> Response:
    return render(svc, request, "queue.html", _queue_context(session, login))


@router.get("/live/queue", response_class=HTMLResponse)
def queue_part(request: Request, svc: ServicesDep, session: SessionDep, login: LoginDep) -> Response:
    return render(svc, request, "_queue.html", _queue_context(session, login))


@router.post("/claim-next")
def claim_next(svc: ServicesDep, session: SessionDep, login: FormLoginDep) -> Response:
    case_id = casework.claim_next(session, svc.desk, login.coordinator, utcnow())
    if case_id is None:
        return RedirectResponse("/coordinator/?m=none", status_code=303)
    return _back(case_id, "claimed")


def _logged_in(svc: Services, token: str | None) -> bool:
    with session_scope(svc.engine) as session:
        return auth.find_session(session, token, utcnow()) is not None


def _version(svc: Services) -> tuple[int, int, int]:
    with Session(reader(svc.engine)) as session:
        return cases.changes(session=session)


@router.get("/stream")
async def stream(
    request: Request, svc: ServicesDep, token: Annotated[str | None, Cookie(alias=SESSION_COOKIE)] = None
) -> StreamingResponse:
    """Server-Sent Events: a ``change`` event whenever a case, a message or a delivery changed.

    Checks the login in a short session of its own: a request-long session would
    hold a SQLite transaction open for as long as the page stays open.
    """
    if not await asyncio.to_thread(_logged_in, svc, token):
        raise LoginRequired()
    first = await asyncio.to_thread(_version, svc)  # before the page's first event: nothing in between is missed

    async def changes() -> AsyncIterator[str]:
        last = first
        yield "retry: 2000\n\n"
        while not await request.is_disconnected():
            version = await asyncio.to_thread(_version, svc)
            if version != last:
                yield f"event: change\ndata: {version[0]}-{version[1]}-{version[2]}\n\n"
                last = version
            await asyncio.sleep(1.0)

    return StreamingResponse(changes(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


# --- a case ---------------------------------------------------------------------------------


def _case_context(svc: Services, session: Session, login: Login, case: Case) -> dict[str, Any]:
    assert case.id is not None
    transcript = messages.of_case(session=session, case_id=case.id)
    summary = CaseSummary(**{**_summary_defaults(case), **case.summary})
    regions = {region.id: region for region in svc.desk.ctx.kb.regions.values()}
    colleagues = [
        person
        for person in people.coordinators(session=session, active_only=True)
        if case.region in person.regions and person.id != login.coordinator.id
    ]
    failures = [row for row in outbox.for_case(session=session, case_id=case.id) if row.status == OutboxStatus.FAILED]
    replying = case.status == CaseStatus.CLAIMED and case.claimed_by == login.coordinator.id
    return {
        "login": login,
        "case": case,
        "summary": summary,
        "transcript": transcript,
        "events": cases.events(session=session, case_id=case.id),
        "household": session.get(Household, case.household_id) if case.household_id else None,
        "claimer": session.get(Coordinator, case.claimed_by) if case.claimed_by else None,
        "earlier": casework.earlier_cases(session, case),
        "colleagues": colleagues,
        "outcomes": casework.OUTCOMES,
        "closing": closing_text(svc.desk.ctx, case.region, login.coordinator.name),
        "failures": failures,
        "opening": _opening(summary.opening),
        "replying": replying,
        "quick_replies": _quick_replies(svc, session, login, case) if replying else [],
        "region_name": regions[case.region].name if case.region in regions else case.region,
        "channel_label": CHANNEL_LABELS.get(case.channel, case.channel),
        "who": lambda message: WHO.get(str(message.direction), str(message.direction)),
        "event_label": lambda event: _event_label(session, event),
    }


def _quick_replies(svc: Services, session: Session, login: Login, case: Case) -> list[quick_replies.Filled]:
    """The region's canned texts, with the name the person knows (none when the claim named only the role)."""
    name = login.coordinator.name if casework.named_to_person(session, case) else None
    return quick_replies.for_case(svc.desk.ctx.kb, case.region, name)


OPENING_CHARS = 80


def _opening(text: str | None) -> str:
    """The person's first message, cut for the top of the case page (the transcript has all of it)."""
    opening = " ".join((text or "").split())
    return opening if len(opening) <= OPENING_CHARS else opening[:OPENING_CHARS] + "…"


def _summary_defaults(case: Case) -> dict[str, Any]:
    return {
        "region": case.region,
        "intents": case.intents,
        "urgent": case.urgent,
        "reasons": (),
        "evidence": (),
        "opening": None,
        "answers": (),
        "skipped": (),
        "consent": None,
    }


def _event_label(session: Session, event: CaseEvent) -> str:
    label = EVENT_LABELS.get(event.kind, event.kind)
    who = session.get(Coordinator, event.coordinator_id) if event.coordinator_id else None
    detail, words = event.detail, WORDS.event_details
    extra = ""
    if event.kind == "paged":
        names = [person.name for cid in detail.get("coordinators", []) if (person := session.get(Coordinator, cid))]
        level = WORDS.page.levels.get(detail.get("level", 0), "")
        level += WORDS.page.round.format(round=detail["round"] + 1) if detail.get("round") else ""  # later rounds
        extra = words.paged.format(level=level, names="、".join(names) or words.paged_nobody)
    elif event.kind == "note":
        extra = f": {detail.get('text', '')}"
    elif event.kind == "resolved":
        extra = f": {detail.get('outcome', '')}"
    elif event.kind == "reassigned" and (to := session.get(Coordinator, detail.get("to"))):
        extra = f" → {to.name}" + (words.reason.format(reason=detail["reason"]) if detail.get("reason") else "")
    elif event.kind == "escalated" and detail.get("urgent"):
        extra = words.urgent
    elif event.kind == "page_passed":
        known = notify.words().channels
        channels = (known.get(detail.get(key, ""), "") for key in ("failed_on", "passed_to"))
        extra = "（" + " → ".join(channels) + "）"
    elif event.kind == "delivery_failed":
        extra = f": {detail.get('error', '')}"
    return f"{label}{extra}" + (f"・{who.name}" if who else "")


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(case_id: int, request: Request, svc: ServicesDep, session: SessionDep, login: LoginDep) -> Response:
    try:
        case = casework.view(session, login.coordinator, case_id, utcnow())
    except casework.NotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from error
    context = _case_context(svc, session, login, case)
    problem = PROBLEMS.get(request.query_params.get("e") or "")
    if problem:  # a casework error, by its code, shown as the flash
        context |= {"flash": problem.format(limit=casework.REPLY_LIMIT), "flash_bad": True}
        return svc.templates.TemplateResponse(request, "case.html", context)
    return render(svc, request, "case.html", context)


@router.get("/live/cases/{case_id}", response_class=HTMLResponse)
def case_part(case_id: int, request: Request, svc: ServicesDep, session: SessionDep, login: LoginDep) -> Response:
    try:
        case = casework.get_case(session, login.coordinator, case_id)
    except casework.NotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from error
    return render(svc, request, "_case.html", _case_context(svc, session, login, case))


def _act(case_id: int, done: str, action: Callable[[], object]) -> Response:
    """Run a case action; back to the case page with ``done`` as the flash, or with the error."""
    try:
        result = action()
    except casework.CaseworkError as error:
        return _error(case_id, error)
    return _back(case_id, "taken" if result is False else done)


@router.post("/cases/{case_id}/claim")
def claim(
    case_id: int,
    svc: ServicesDep,
    session: SessionDep,
    login: FormLoginDep,
    shown_as: Annotated[str, Form(pattern="^(name|role)$")] = "name",
) -> Response:
    named = shown_as == "name"
    return _act(
        case_id, "claimed", lambda: casework.claim(session, svc.desk, login.coordinator, case_id, utcnow(), named=named)
    )


@router.post("/cases/{case_id}/reply")
def reply(
    case_id: int, session: SessionDep, login: FormLoginDep, text: Annotated[str, Form(max_length=4000)]
) -> Response:
    return _act(case_id, "sent", lambda: casework.reply(session, login.coordinator, case_id, text, utcnow()))


@router.post("/cases/{case_id}/note")
def note(
    case_id: int, session: SessionDep, login: FormLoginDep, text: Annotated[str, Form(max_length=4000)]
) -> Response:
    return _act(case_id, "noted", lambda: casework.note(session, login.coordinator, case_id, text, utcnow()))


@router.post("/cases/{case_id}/reassign")
def reassign(
    case_id: int,
    svc: ServicesDep,
    session: SessionDep,
    login: FormLoginDep,
    to: Annotated[int, Form()],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    me, url = login.coordinator, svc.desk.public_url
    return _act(case_id, "reassigned", lambda: casework.reassign(session, me, case_id, to, utcnow(), url, reason))


@router.post("/cases/{case_id}/resolve")
def resolve(
    case_id: int,
    session: SessionDep,
    login: FormLoginDep,
    outcome: Annotated[str, Form(max_length=200)] = "",  # no default outcome: missing is refused (no_outcome)
    closing: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    me, now = login.coordinator, utcnow()
    return _act(case_id, "resolved", lambda: casework.resolve(session, me, case_id, outcome, now, closing))


# --- registered households ------------------------------------------------------------------


@router.get("/households", response_class=HTMLResponse)
def households(request: Request, svc: ServicesDep, session: SessionDep, login: LoginDep) -> Response:
    rows = people.households_of(session=session, regions=login.coordinator.regions)
    return render(svc, request, "households.html", {"login": login, "households": rows})


def _regions(svc: Services, login: Login) -> Sequence[Any]:
    return [svc.desk.ctx.kb.region(region) for region in login.coordinator.regions if region in svc.desk.ctx.kb.regions]


@router.get("/households/new", response_class=HTMLResponse)
def household_new(request: Request, svc: ServicesDep, login: LoginDep) -> Response:
    context = {"login": login, "household": None, "regions": _regions(svc, login), "flags": casework.FLAGS}
    return render(svc, request, "household_form.html", context)


@router.get("/households/{household_id}", response_class=HTMLResponse)
def household_edit(
    household_id: int, request: Request, svc: ServicesDep, session: SessionDep, login: LoginDep
) -> Response:
    household = session.get(Household, household_id)
    if household is None or household.region not in login.coordinator.regions:
        raise HTTPException(status_code=404, detail="not found")
    context = {"login": login, "household": household, "regions": _regions(svc, login), "flags": casework.FLAGS}
    return render(svc, request, "household_form.html", context)


@router.post("/households")
def household_save(
    session: SessionDep,
    login: FormLoginDep,
    region: Annotated[str, Form(max_length=50)],
    label: Annotated[str, Form(max_length=100)],
    town: Annotated[str, Form(max_length=50)] = "",
    flags: Annotated[list[str] | None, Form()] = None,
    assessment: Annotated[str, Form(max_length=8000)] = "",
    household_id: Annotated[int | None, Form()] = None,
) -> Response:
    try:
        household = casework.save_household(
            session,
            login.coordinator,
            household_id=household_id,
            region=region,
            label=label,
            town=town,
            flags=flags or [],
            assessment=assessment,
            at=utcnow(),
        )
    except casework.NotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from error
    except casework.CaseworkError as error:
        raise HTTPException(status_code=422, detail=str(error)) from error
    return RedirectResponse(f"/coordinator/households/{household.id}?m=saved", status_code=303)


# --- JSON -----------------------------------------------------------------------------------


@api.get("/queue")
def api_queue(session: SessionDep, login: LoginDep) -> list[dict[str, Any]]:
    """The waiting cases as JSON, for scripts and dashboards (the same login as the pages)."""
    return [
        {
            "id": case.id,
            "region": case.region,
            "town": case.town,
            "urgent": case.urgent,
            "intents": case.intents,
            "household": case.household_id is not None,
            "escalated_at": case.escalated_at.isoformat() if case.escalated_at else None,
        }
        for case in cases.waiting(session=session, regions=login.coordinator.regions)
    ]
