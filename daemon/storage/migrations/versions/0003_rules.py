"""rules: ticket labels and facts, SLA clocks, engineers' absence and turn

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

Tickets get what classification sets (severity as a number, problem type, queue, tags), the facts
found in the customer's mail and the facts still asked for; SLA clocks get a table, one row per
ticket and target; engineers get `away_until` (out of office) and `last_assigned_at` (the
round-robin turn). The old text `severity` column was never written, so it is replaced.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("severity")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("severity", sa.Integer(), nullable=False, server_default="3"))
        batch_op.add_column(sa.Column("problem_type", sa.String(length=80), nullable=True))
        batch_op.add_column(
            sa.Column("queue", sa.String(length=40), nullable=False, server_default="general")
        )
        batch_op.add_column(sa.Column("tags", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("facts", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(
            sa.Column("waiting_for", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("engineers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("away_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("last_assigned_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "sla_clocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=20), nullable=False),
        sa.Column("policy", sa.String(length=40), nullable=False),
        sa.Column("calendar", sa.String(length=40), nullable=False),
        sa.Column("goal_seconds", sa.BigInteger(), nullable=False),
        sa.Column("used_seconds", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=True),
        sa.Column("warned", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_sla_clocks_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_clocks")),
        sa.UniqueConstraint("ticket_id", "target", name=op.f("uq_sla_clocks_ticket_id_target")),
    )
    with op.batch_alter_table("sla_clocks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sla_clocks_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    op.drop_table("sla_clocks")
    with op.batch_alter_table("engineers", schema=None) as batch_op:
        batch_op.drop_column("last_assigned_at")
        batch_op.drop_column("away_until")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for column in ("waiting_for", "facts", "tags", "queue", "problem_type", "severity"):
            batch_op.drop_column(column)
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("severity", sa.String(length=40), nullable=True))
