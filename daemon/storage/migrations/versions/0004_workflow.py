"""workflow: the customer's Cc list, resolutions, merges and links; held mail; bouncing addresses

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

Tickets keep the Cc list of the customer's thread (`cc`), the resolution text an engineer gave,
why a ticket was closed when it was not solved (`closed_as`: spam, merged), the ticket it was
merged into and the closed ticket it follows. Messages held for an engineer's `#accept` are
marked `held`. A contact whose address bounced carries `bouncing_since` until they write again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cc", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("resolution", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("closed_as", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("merged_into", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("follows", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_merged_into_tickets"), "tickets", ["merged_into"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_follows_tickets"), "tickets", ["follows"], ["id"]
        )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("held", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bouncing_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("bouncing_since")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("held")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_tickets_follows_tickets"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_tickets_merged_into_tickets"), type_="foreignkey")
        for column in ("follows", "merged_into", "closed_as", "resolution", "cc"):
            batch_op.drop_column(column)
