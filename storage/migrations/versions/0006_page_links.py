"""page_links (a coordinator's own LINE, Telegram and Web Push links) and link_codes (one-time linking codes)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "page_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("coordinator_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("keys", sa.JSON(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["coordinator_id"], ["coordinators.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "address"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("page_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_page_links_coordinator_id"), ["coordinator_id"], unique=False)
    op.create_table(
        "link_codes",
        sa.Column("code_hash", sa.String(), nullable=False),
        sa.Column("coordinator_id", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["coordinator_id"], ["coordinators.id"]),
        sa.PrimaryKeyConstraint("code_hash"),
    )
    with op.batch_alter_table("link_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_codes_coordinator_id"), ["coordinator_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("link_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_codes_coordinator_id"))
    op.drop_table("link_codes")
    with op.batch_alter_table("page_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_page_links_coordinator_id"))
    op.drop_table("page_links")
