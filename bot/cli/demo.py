"""``madoguchi serve --demo``: a coordinator on call around the clock, so a newcomer can try the whole flow.

The password is made once and kept in a file beside the SQLite database (``madoguchi.db.demo-password``,
readable by its owner only), so every start prints the same login and a browser's saved password keeps
working; deleting the file (or the database) makes a new one. Only the password's hash is in the database.
A database with no file of its own (PostgreSQL, SQLite in memory) gets a new password at every start.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy import Engine

from bot.desk.labels import DEMO_NAME
from bot.web.auth import Account, add_coordinator, hash_password, password_matches
from storage import people
from storage.db import session_scope
from storage.models import RotaSlot, row_id
from storage.types import utcnow

DEMO_LOGIN = "demo"
PASSWORD_SUFFIX = ".demo-password"


def password_file(engine: Engine) -> Path | None:
    """Where the demo password is kept: beside the SQLite database file, or nowhere for other databases."""
    database = engine.url.database
    if engine.url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database).with_name(Path(database).name + PASSWORD_SUFFIX)


def demo_password(path: Path | None) -> str:
    """The kept password, or a new one written to ``path`` (owner-only) when there is none yet."""
    if path is not None and path.is_file():
        kept = path.read_text(encoding="utf-8").strip()
        if kept:
            return kept
    password = secrets.token_urlsafe(12)
    if path is not None:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(password + "\n")
    return password


def make_demo(engine: Engine, region: str) -> tuple[str, str]:
    """The demo coordinator (made, or given back its kept password and this region), and its login."""
    password = demo_password(password_file(engine))
    with session_scope(engine) as session:
        person = people.coordinator_by_login(session=session, login=DEMO_LOGIN)
        if person is None:
            person = add_coordinator(
                session, login=DEMO_LOGIN, name=DEMO_NAME, password=password, regions=[region], at=utcnow()
            )
            session.add(RotaSlot(region=region, coordinator_id=row_id(person)))
        else:
            account = Account(id=row_id(person), password_hash=person.password_hash)
            if not password_matches(account, password):
                person.password_hash = hash_password(password)
            if region not in person.regions:
                person.regions = [*person.regions, region]
                session.add(RotaSlot(region=region, coordinator_id=row_id(person)))
            session.add(person)
    return DEMO_LOGIN, password
