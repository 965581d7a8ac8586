"""web chat: keep only the SHA-256 of each chat token (conversation addresses, dedupe keys, outbox addresses)

The web chat's cookie token used to be stored as the conversation's address,
so a copy of the database could read any chat. From now on the address is the
token's SHA-256 hex digest; this hashes the addresses already stored. The
cookies people hold stay valid (for their two weeks): the app hashes them the same way. Not
reversible: downgrading leaves the hashes (a chat then starts afresh).

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-07 19:00:00
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

HEX_DIGEST = 64


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _hashed(address: str) -> bool:
    return len(address) == HEX_DIGEST and all(c in "0123456789abcdef" for c in address)


def upgrade() -> None:
    connection = op.get_bind()
    # Pages to a coordinator on the web queue page are addressed by coordinator id: those stay.
    for table, where in (("conversations", ""), ("outbox", " AND kind <> 'page'")):
        rows = connection.execute(sa.text(f"SELECT id, address FROM {table} WHERE channel = 'web'{where}")).all()
        for row_id, address in rows:
            if not _hashed(address):
                connection.execute(
                    sa.text(f"UPDATE {table} SET address = :address WHERE id = :id"),
                    {"address": _digest(address), "id": row_id},
                )
    keys = connection.execute(sa.text("SELECT key FROM seen_events WHERE key LIKE 'web:%'")).scalars().all()
    for key in keys:  # web:<token>:<client id>; a token (URL-safe base64) holds no colon
        parts = key.split(":", 2)
        if len(parts) != 3:
            continue
        _, token, client_id = parts
        if not _hashed(token):
            connection.execute(
                sa.text("UPDATE seen_events SET key = :new WHERE key = :old"),
                {"new": f"web:{_digest(token)}:{client_id}", "old": key},
            )


def downgrade() -> None:
    """Nothing to undo: a hash cannot be turned back into its token."""
