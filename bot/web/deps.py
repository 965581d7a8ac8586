"""Route dependencies as named types (the FastAPI template's ``SessionDep`` / ``CurrentUser``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form, HTTPException, Request
from sqlmodel import Session

from bot.web import auth
from bot.web.services import LoginRequired, Services
from storage.db import session_scope
from storage.models import Coordinator, LoginSession
from storage.types import utcnow

SESSION_COOKIE = "madoguchi_session"


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


def db_session(svc: ServicesDep) -> Iterator[Session]:
    """A session committed when the route returns normally, rolled back when it raises."""
    with session_scope(svc.engine) as session:
        yield session


#: scope="function": committed before the response is sent, so a redirect never outruns its own commit
#: (and a SQLite write lock is not held while the response goes out).
SessionDep = Annotated[Session, Depends(db_session, scope="function")]


@dataclass(frozen=True, slots=True)
class Login:
    coordinator: Coordinator
    session: LoginSession

    @property
    def csrf(self) -> str:
        return self.session.csrf


def current_login(request: Request, session: SessionDep) -> Login:
    found = auth.find_session(session, request.cookies.get(SESSION_COOKIE), utcnow())
    if found is None:
        raise LoginRequired()
    row, person = found
    return Login(person, row)


LoginDep = Annotated[Login, Depends(current_login)]


def checked_login(login: LoginDep, csrf: Annotated[str, Form()] = "") -> Login:
    """A logged-in coordinator whose form carries this session's CSRF token."""
    if not auth.same(csrf, login.csrf):
        raise HTTPException(status_code=403, detail="CSRF token missing or wrong: reload the page")
    return login


FormLoginDep = Annotated[Login, Depends(checked_login)]
