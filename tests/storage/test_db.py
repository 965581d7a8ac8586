"""The schema: migrations match the models, run twice safely, and times come back as aware UTC."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel

from storage.db import normalize_url, session_scope, upgrade
from storage.models import Case, row_id


def test_the_migrations_build_exactly_the_tables_the_models_declare(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_upgrading_again_changes_nothing(engine: Engine) -> None:
    upgrade(engine)
    upgrade(engine)


def test_times_come_back_aware_and_in_utc(engine: Engine) -> None:
    tokyo_time = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    with session_scope(engine) as session:
        case = Case(region="nemuro", channel="web", escalated_at=tokyo_time)
        session.add(case)
        session.flush()
        case_id = row_id(case)
    with Session(engine) as session:
        stored = session.get(Case, case_id)
        assert stored is not None and stored.escalated_at is not None
        assert stored.escalated_at.utcoffset() == dt.timedelta(0)
        assert stored.escalated_at == dt.datetime(2026, 11, 22, 17, 0, tzinfo=dt.UTC)


def test_a_naive_time_is_refused(engine: Engine) -> None:
    with pytest.raises(Exception, match="naive datetime"), session_scope(engine) as session:
        session.add(Case(region="nemuro", channel="web", escalated_at=dt.datetime(2026, 11, 22, 17, 0)))
        session.flush()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_urls_get_the_psycopg_driver(url: str, expected: str) -> None:
    assert normalize_url(url) == expected
