"""Alembic environment: the tables come from ``storage.models``; the database from the caller.

``storage.db.upgrade`` hands over an open connection (``attributes["connection"]``);
``storage.db.new_revision`` (``madoguchi migration new``, which takes the URL from
``bot.settings``) hands over a URL (``attributes["url"]``). Nothing here reads the
environment: ``bot.settings.Settings`` is the one place that does. From the bare
``alembic`` command give the URL with ``-x url=sqlite:///scratch.db``.
"""

from __future__ import annotations

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


def _url() -> str:
    url = context.config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise RuntimeError("no database given: run `madoguchi migration new MESSAGE`, or alembic with -x url=...")
    return str(url)


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(_url())
    try:
        with engine.begin() as fresh:
            _run(fresh)
    finally:
        engine.dispose()
