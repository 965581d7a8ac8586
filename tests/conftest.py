"""Shared fixtures: the real classifier, knowledge base and context (built once), and databases.

Nothing of ours is mocked: tests run the shipped lexicon, model and data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
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

#: The PostgreSQL the tests use; each test gets a schema of its own there, dropped afterwards.
POSTGRES_URL = os.environ.get("MADOGUCHI_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_schema_url(schema: str) -> str:
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema on the test PostgreSQL (a URL pointing at it), dropped on exit."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield _postgres_schema_url(schema)
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
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
