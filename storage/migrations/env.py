"""Alembic environment: the tables come from ``storage.models``; the connection from ``storage.db.upgrade``.

Run from the command line (``alembic -c storage/alembic.ini revision --autogenerate``)
it reads ``MADOGUCHI_DATABASE_URL`` instead.
"""

from __future__ import annotations

import os

from alembic import context
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables)
from storage.db import make_engine

target_metadata = SQLModel.metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite changes columns by copying the table
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(os.environ.get("MADOGUCHI_DATABASE_URL", "sqlite:///madoguchi.db"))
    with engine.begin() as fresh:
        _run(fresh)
