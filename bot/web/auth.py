"""Coordinator accounts and logins: argon2 password hashes, server-side sessions, CSRF tokens.

The session cookie holds a random token; the database keeps only its SHA-256,
so a leaked database does not log anyone in. Each session has its own CSRF
token, which every form posts back. Pure functions over a session; the routes
are in ``bot.web.coordinator``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session

from storage import people
from storage.models import Coordinator, LoginSession, Secret

_hasher = PasswordHasher()
MIN_PASSWORD = 10


class AccountError(Exception):
    pass


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password too short: at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def add_coordinator(
    session: Session, *, login: str, name: str, password: str, regions: list[str], at: dt.datetime
) -> Coordinator:
    login = login.strip()
    if not login or not regions:
        raise AccountError("a login and at least one region are needed")
    if people.coordinator_by_login(session=session, login=login) is not None:
        raise AccountError(f"login {login!r} is taken")
    person = Coordinator(
        login=login, name=name.strip() or login, password_hash=hash_password(password), regions=regions
    )
    person.created_at = at
    session.add(person)
    session.flush()
    return person


@dataclass(frozen=True, slots=True)
class Account:
    """What a login check needs of a coordinator, read in a short read-only transaction."""

    id: int
    password_hash: str


def account_for(session: Session, login: str) -> Account | None:
    """The active account behind ``login``, or None; reads only, so no write lock is taken."""
    person = people.coordinator_by_login(session=session, login=login.strip())
    if person is None or not person.active or person.id is None:
        return None
    return Account(person.id, person.password_hash)


def _yield_the_cpu() -> None:
    """Run this thread at a lower priority (Linux: niceness is per thread, and argon2's lane threads inherit it)."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


#: Two password checks at a time, at a lower CPU priority than everything else in the process.
_CHECKS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="password", initializer=_yield_the_cpu)


def password_matches(account: Account | None, password: str) -> bool:
    """Check a password against an account, with no database open: argon2 takes ~0.1 s and 64 MB by design.

    Checks run two at a time in threads of lower priority, so a flood of
    guesses waits its turn instead of taking the cores and the memory from the
    webhooks; an unknown login costs the same time as a known one.
    """
    return _CHECKS.submit(_check, account, password).result()


def _check(account: Account | None, password: str) -> bool:
    if account is None:
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(account.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def open_session(
    session: Session, account: Account, password: str, at: dt.datetime, hours: float
) -> tuple[str, LoginSession] | None:
    """After a matching password: the new login (token and row), or None if the account went away meanwhile."""
    person = session.get(Coordinator, account.id)
    if person is None or not person.active or person.password_hash != account.password_hash:
        return None
    if _hasher.check_needs_rehash(person.password_hash):
        person.password_hash = _hasher.hash(password)  # rare: only after the hashing parameters change
        session.add(person)
    drop_expired(session, at)
    return start_session(session, person, at, hours)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, person: Coordinator, at: dt.datetime, hours: float) -> tuple[str, LoginSession]:
    """A new login; returns the cookie token (shown once, never stored) and the row."""
    assert person.id is not None
    token = secrets.token_urlsafe(32)
    row = LoginSession(
        token_hash=digest(token),
        coordinator_id=person.id,
        csrf=secrets.token_urlsafe(24),
        created_at=at,
        expires_at=at + dt.timedelta(hours=hours),
    )
    session.add(row)
    return token, row


def find_session(session: Session, token: str | None, at: dt.datetime) -> tuple[LoginSession, Coordinator] | None:
    if not token:
        return None
    row = session.get(LoginSession, digest(token))
    if row is None or row.expires_at <= at:
        return None
    person = session.get(Coordinator, row.coordinator_id)
    if person is None or not person.active:
        return None
    return row, person


def end_session(session: Session, token: str | None) -> None:
    if token:
        row = session.get(LoginSession, digest(token))
        if row is not None:
            session.delete(row)


def drop_expired(session: Session, at: dt.datetime) -> None:
    for row in people.expired_logins(session=session, at=at):
        session.delete(row)


def same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a, b)


def server_secret(session: Session, name: str = "signing") -> bytes:
    """A secret shared by every instance: made on first use and kept in the database."""
    row = session.get(Secret, name)
    if row is None:
        row = Secret(name=name, value=secrets.token_urlsafe(32))
        session.add(row)
        session.flush()
    return row.value.encode()


def sign(secret: bytes, value: str) -> str:
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()
