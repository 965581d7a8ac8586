"""Storage: SQLModel tables, engine and sessions, migrations and the case queue.

Empty on purpose for now: the conversation engine (``bot.conversation``) is pure
and returns effects; the issue that adds cases and the coordinator queue gives
them a home here (SQLite by default, PostgreSQL when several instances run).
"""
