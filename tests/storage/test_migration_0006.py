"""Migration 0006 adds the coordinators' page links and linking codes, and its downgrade takes them away again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from storage.db import alembic_config, make_engine, upgrade


def _tables(database_url: str) -> set[str]:
    engine = make_engine(database_url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_link_tables_come_and_go_with_the_migration(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine, "0005")
    assert not {"page_links", "link_codes"} & _tables(database_url)
    upgrade(engine)
    assert {"page_links", "link_codes"} <= _tables(database_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
    assert not {"page_links", "link_codes"} & _tables(database_url)
    upgrade(engine)  # and up again, as a later start would
    assert {"page_links", "link_codes"} <= _tables(database_url)
    engine.dispose()
