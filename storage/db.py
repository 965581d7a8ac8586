"""Engines and migrations: SQLite by default, PostgreSQL when several instances share one database.

``make_engine`` normalises the URL (``postgresql://`` -> the psycopg 3 driver)
and sets SQLite up for several threads and processes: WAL, a busy timeout and
``BEGIN IMMEDIATE``, so two writers queue instead of failing half-way; and
``secure_delete``, so that what a deletion removes is zeroed in the file
(``scrub`` then empties the write-ahead log).
On SQLite in a file, platform events are stored in a second file beside the
database, the *inbound journal* (``journal_url``): the webhook's one INSERT
then takes that file's write lock, never the one the work holds while it
turns events into conversation turns (``storage.inbound.adopt`` moves them
across). ``upgrade`` brings the schema to the newest Alembic revision; ``madoguchi
serve`` calls it on start, under a PostgreSQL advisory lock so two instances
starting together do not race.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlmodel import Session

MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 7_364_201  # any fixed number: the advisory lock id for schema upgrades


def normalize_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # No pre-ping: it costs a round trip per checkout (two per chat message). A connection the
    # server dropped fails once and is thrown away; ``bot.inbox.deliver`` tries such a message again.
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800)


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA secure_delete=ON")  # deleted and overwritten content is zeroed, not left in free pages
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock at the start: a read-then-write transaction
    # can then never deadlock with another one (SQLite would fail it at once).
    # A reader (``reader(engine)``) takes no lock: in WAL mode it reads a snapshot.
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


READ_ONLY = "madoguchi_read_only"


def reader(engine: Engine) -> Engine:
    """The same engine for transactions that only read: on SQLite they do not queue behind writers."""
    return engine.execution_options(**{READ_ONLY: True})


def scrub(engine: Engine) -> None:
    """After a deletion: no old copy of the deleted rows left in the SQLite files, the journal's included.

    ``secure_delete`` (set on every connection) zeroes what a transaction
    frees, but the write-ahead log still holds the pages as they were before;
    a TRUNCATE checkpoint copies the log into the database and empties it.
    The inbound journal first drops every event the database has already
    adopted (their raw bodies), then is checkpointed the same way.
    PostgreSQL keeps dead row versions until VACUUM reuses their space: nothing
    to do here (a committed deletion is not visible to any query).
    """
    if is_postgres(engine):
        return
    url = journal_url(engine.url.render_as_string(hide_password=False))
    if url is not None and Path(url.removeprefix("sqlite:///")).exists():
        journal = make_engine(url, pool_size=1)
        try:
            _drop_adopted(engine, journal)
            _checkpoint(journal)
        finally:
            journal.dispose()
    _checkpoint(engine)


def _checkpoint(engine: Engine) -> None:
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def _drop_adopted(engine: Engine, journal: Engine) -> None:
    from storage import inbound  # inbound's queries; it imports nothing of this module

    with session_scope(reader(journal)) as session:
        held = inbound.journal_keys(session=session)
    with session_scope(reader(engine)) as session:
        adopted = inbound.known_keys(session=session, keys=list(held))
    with session_scope(journal) as session:
        inbound.drop(session=session, ids=[held[key] for key in adopted])


def journal_url(url: str) -> str | None:
    """Where webhook events are stored first: on SQLite in a file, a file of their own beside the database.

    ``sqlite:///data/madoguchi.db`` -> ``sqlite:///data/madoguchi-inbound.db``. None for PostgreSQL (row
    locks: the events live in the one database) and for an in-memory SQLite (one process only).
    """
    url = normalize_url(url)
    if not url.startswith("sqlite:///") or url.removeprefix("sqlite:///") in ("", ":memory:"):
        return None
    path = Path(url.removeprefix("sqlite:///"))
    return f"sqlite:///{path.with_name(f'{path.stem}-inbound{path.suffix}')}"


def open_journal(engine: Engine) -> Engine:
    """The engine webhooks store events with: the journal's on SQLite (schema brought up to date), else ``engine``."""
    url = journal_url(engine.url.render_as_string(hide_password=False))
    if url is None:
        return engine
    journal = make_engine(url, pool_size=2)
    upgrade(journal)
    return journal


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision``; safe to call on every start and from several processes."""
    config = alembic_config()
    with engine.begin() as connection:
        if is_postgres(engine):
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def new_revision(url: str, message: str) -> None:
    """Write a new migration from the difference between ``storage.models`` and the database at ``url``."""
    config = alembic_config()
    config.attributes["url"] = url
    command.revision(config, message=message, autogenerate=True)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: committed at the end, rolled back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
