"""Shared fixtures: the real classifier, knowledge base and context (built once), and databases.

Nothing of ours is mocked: tests run the shipped lexicon, model and data.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from pytest_postgresql import factories
from sqlalchemy import Engine

from bot.conversation import Context, load_context
from bot.desk import Desk
from intents import Classifier
from knowledge.loader import KnowledgeBase, load_knowledge
from storage.db import make_engine, upgrade


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return Classifier.load()


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge()


@pytest.fixture(scope="session")
def ctx() -> Context:
    return load_context()


# --- databases: every storage test runs on SQLite and on a real PostgreSQL -------------------
#
# Which PostgreSQL: the one at ``MADOGUCHI_TEST_POSTGRES`` (default 127.0.0.1:5432, database ``test``)
# when it answers. When it does not but PostgreSQL is installed (Debian's binaries under
# /usr/lib/postgresql/*/bin, or ``pg_ctl`` on the PATH), a throwaway cluster is started for the session
# with pytest-postgresql's ``postgresql_proc`` and removed afterwards. When neither is there, the first
# test that needs PostgreSQL stops the run with one line saying what to install.

#: The PostgreSQL the tests use; each test gets a schema of its own there, dropped afterwards.
POSTGRES_URL = os.environ.get("MADOGUCHI_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
INSTALL = "PostgreSQL is needed for the tests: apt-get install postgresql (or set MADOGUCHI_TEST_POSTGRES)"


def _pg_ctl() -> str | None:
    """The newest installed PostgreSQL's ``pg_ctl``, if any."""
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda path: int(path.parts[-3]))
    return str(debian[-1]) if debian else shutil.which("pg_ctl")


PG_CTL = _pg_ctl()
if PG_CTL is not None:
    #: A cluster of our own in a temporary directory, on a free port, for when no server answers.
    throwaway_postgresql = factories.postgresql_proc(executable=PG_CTL, port=None, dbname="madoguchi")

#: What ``postgres_url`` gives (``url``), or why there is none (``missing``); set once per session.
_server: dict[str, str] = {}


def _answers(url: str) -> str | None:
    """None when ``url`` takes a connection; else the first line of why not."""
    try:
        with psycopg.connect(url, connect_timeout=3):
            return None
    except psycopg.OperationalError as error:
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _diagnose() -> None:
    """Decide once per session: the server answers (``url``), can be started (``start``), or is ``missing``."""
    if _server:
        return
    why = _answers(POSTGRES_URL)
    where = POSTGRES_URL.split("@")[-1]
    if why is None:
        _server["url"] = POSTGRES_URL
    elif PG_CTL is None:
        _server["missing"] = f"{INSTALL}; none answers at {where} ({why})"
    elif os.geteuid() == 0:  # initdb refuses to run as root
        _server["missing"] = (
            f"PostgreSQL is installed but not running at {where}, and a throwaway cluster cannot be started as "
            "root: start it (pg_ctlcluster VERSION main start) or run the tests as another user"
        )
    else:
        _server["start"] = PG_CTL


def _needs_postgres(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "postgresql" in callspec.params.values():
        return True
    module = getattr(item, "module", None)
    return "postgres_site" in getattr(item, "fixturenames", ()) or hasattr(module, "postgres_schema")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Without a PostgreSQL, the first test that needs one stops the run with one line (before any fixture)."""
    _diagnose()
    if "missing" in _server and _needs_postgres(item):
        pytest.exit(_server["missing"], returncode=1)


@pytest.fixture(scope="session", autouse=True)
def _postgres_server(request: pytest.FixtureRequest) -> None:
    """Start the throwaway cluster when no server answers and PostgreSQL is installed (see above)."""
    _diagnose()
    if "start" not in _server or "url" in _server:
        return
    proc = request.getfixturevalue("throwaway_postgresql")
    admin = f"postgresql://{proc.user}@{proc.host}:{proc.port}/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute("CREATE DATABASE test")
    _server["url"] = f"postgresql://{proc.user}@{proc.host}:{proc.port}/test"
    os.environ["MADOGUCHI_TEST_POSTGRES"] = _server["url"]  # for servers the tests start


def postgres_url() -> str:
    """The test PostgreSQL's URL (a test that needs it fails in one line when there is none)."""
    if "missing" in _server:
        pytest.fail(_server["missing"], pytrace=False)
    return _server.get("url", POSTGRES_URL)


def _postgres_schema_url(schema: str) -> str:
    return f"{postgres_url()}?options=-csearch_path%3D{schema}"


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema on the test PostgreSQL (a URL pointing at it), dropped on exit."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url(), autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield _postgres_schema_url(schema)
    finally:
        with psycopg.connect(postgres_url(), autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'madoguchi.db'}"
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def desk(ctx: Context) -> Desk:
    """The shared context with fresh metrics and the default five-minute paging deadline."""
    return Desk(ctx)
