"""Engines and migrations: SQLite by default, PostgreSQL when several instances share one database.

``make_engine`` normalises the URL (``postgresql://`` -> the psycopg 3 driver)
and sets SQLite up for several threads and processes: WAL, a busy timeout and
``BEGIN IMMEDIATE``, so two writers queue instead of failing half-way; and
``secure_delete``, so that what a deletion removes is zeroed in the file
(``scrub`` then empties the write-ahead log).
``upgrade`` brings the schema to the newest Alembic revision; ``madoguchi
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
    """After a deletion: no old copy of the deleted rows left in the SQLite files.

    ``secure_delete`` (set on every connection) zeroes what a transaction
    frees, but the write-ahead log still holds the pages as they were before;
    a TRUNCATE checkpoint copies the log into the database and empties it.
    PostgreSQL keeps dead row versions until VACUUM reuses their space: nothing
    to do here (a committed deletion is not visible to any query).
    """
    if is_postgres(engine):
        return
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


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
