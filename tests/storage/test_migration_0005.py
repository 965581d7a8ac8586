"""Migration 0005 hashes the web-chat tokens already stored, and leaves everything else as it was."""

from __future__ import annotations

import hashlib

from sqlalchemy import text

from storage.db import make_engine, upgrade

TOKEN = "a-web-chat-token-0123456789"
HASHED = hashlib.sha256(TOKEN.encode()).hexdigest()


def test_stored_chat_tokens_become_their_hashes(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine, "0003")
    at = "2026-12-01 00:00:00+00:00"
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO people (region, state, created_at, last_seen_at) VALUES ('nemuro', '{}', :at, :at)"),
            {"at": at},
        )
        person = connection.execute(text("SELECT id FROM people")).scalar_one()
        for channel, address in (("web", TOKEN), ("line", "U0123")):
            connection.execute(
                text(
                    "INSERT INTO conversations (person_id, channel, address, started_at, last_message_at)"
                    " VALUES (:person, :channel, :address, :at, :at)"
                ),
                {"person": person, "channel": channel, "address": address, "at": at},
            )
        connection.execute(
            text("INSERT INTO seen_events (key, at) VALUES (:key, :at)"),
            {"key": f"web:{TOKEN}:c1d2e3f4", "at": at},
        )
        for kind, address in (("reply", TOKEN), ("page", "7")):
            connection.execute(
                text(
                    "INSERT INTO outbox (kind, channel, address, payload, status, attempts,"
                    " next_attempt_at, created_at) VALUES (:kind, 'web', :address, '{}', 'sent', 0, :at, :at)"
                ),
                {"kind": kind, "address": address, "at": at},
            )
    upgrade(engine)
    with engine.connect() as connection:
        conversations = dict(connection.execute(text("SELECT channel, address FROM conversations")).all())
        keys = connection.execute(text("SELECT key FROM seen_events")).scalars().all()
        outbox = dict(connection.execute(text("SELECT kind, address FROM outbox")).all())
    engine.dispose()
    assert conversations == {"web": HASHED, "line": "U0123"}
    assert keys == [f"web:{HASHED}:c1d2e3f4"]
    assert outbox == {"reply": HASHED, "page": "7"}  # a coordinator's page keeps its coordinator id
