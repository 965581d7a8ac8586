"""Storage: SQLModel tables, engines and migrations, the case queue and the outbox.

Imports nothing else of ours (the layering in ../README.md). Read in this order:
``models.py`` (the tables), ``db.py`` (engines: SQLite by default, PostgreSQL when
several instances share one database; Alembic migrations), ``cases.py`` (queue
order, atomic claims, re-paging), ``outbox.py`` (leases, retries with backoff).
Functions take ``*, session`` and never commit: the caller owns the transaction.
"""

from storage.db import make_engine, session_scope, upgrade

__all__ = ["make_engine", "session_scope", "upgrade"]
