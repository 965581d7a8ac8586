"""outbox: urgent (it carried the numbers to call), requeued_at (madoguchi outbox retry), not_before (Retry-After)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch: SQLite's batch mode copies the table into a new one, which would
    # drop AUTOINCREMENT, and outbox ids must never come back (they make LINE's retry keys).
    op.add_column("outbox", sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("outbox", sa.Column("requeued_at", storage.types.UTCDateTime(timezone=True), nullable=True))
    op.add_column("outbox", sa.Column("not_before", storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None, table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_column("not_before")
        batch_op.drop_column("requeued_at")
        batch_op.drop_column("urgent")
