"""runners, holders, jobs, bounces, content-keyed inbound, engineers' hours

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Claims name a holder (a live process) instead of a lease time; jobs and bounces get tables;
engineers get real hours and days columns; inbound mail is keyed by a fingerprint of its content
(the old key was the Message-ID, which broken clients reuse) with the Message-ID kept beside it;
outbox rows carry the normalised first recipient so acknowledgement limits count people.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from parsers.address_parts import address_key
from parsers.fingerprint import fingerprint

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "holders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("process_start", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holders")),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "state",
            sa.Enum("pending", "done", "failed", name="jobstate", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("holder_id", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["holders.id"], name=op.f("fk_jobs_holder_id_holders")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_jobs_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("key", name=op.f("uq_jobs_key")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_due", ["state", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "bounces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inbound_id", sa.Integer(), nullable=False),
        sa.Column("original_message_id", sa.String(length=300), nullable=True),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbound_id"], ["inbound.id"], name=op.f("fk_bounces_inbound_id_inbound")
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_bounces_outbox_id_outbox")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bounces")),
        sa.UniqueConstraint("inbound_id", name=op.f("uq_bounces_inbound_id")),
    )
    with op.batch_alter_table("bounces", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bounces_original_message_id"), ["original_message_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_bounces_outbox_id"), ["outbox_id"], unique=False)

    with op.batch_alter_table("engineers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("hours_start", sa.String(length=5), nullable=False, server_default="09:00")
        )
        batch_op.add_column(
            sa.Column("hours_end", sa.String(length=5), nullable=False, server_default="17:00")
        )
        batch_op.add_column(sa.Column("days", sa.JSON(), nullable=False, server_default="[]"))

    with op.batch_alter_table("inbound", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_id", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("holder_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("notes", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(
            sa.Column("forced", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch_op.drop_index(batch_op.f("ix_inbound_state"))
        batch_op.create_index("ix_inbound_claim", ["state", "holder_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbound_message_id"), ["message_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_inbound_holder_id_holders"), "holders", ["holder_id"], ["id"]
        )

    _rekey_inbound()
    with op.batch_alter_table("inbound", schema=None) as batch_op:
        batch_op.alter_column(
            "message_key",
            existing_type=sa.VARCHAR(length=300),
            type_=sa.String(length=100),
            existing_nullable=False,
        )

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("to_key", sa.String(length=254), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("to_domain", sa.String(length=254), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("holder_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("refused", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.create_index("ix_outbox_to_key", ["to_key", "created_at"], unique=False)
        batch_op.create_index("ix_outbox_to_domain", ["to_domain", "created_at"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_holder_id_holders"), "holders", ["holder_id"], ["id"]
        )

    _fill_engineers()
    _fill_outbox()


def _rekey_inbound() -> None:
    """Key every stored mail by its content fingerprint; keep its Message-ID beside it."""
    bind = op.get_bind()
    inbound = sa.table(
        "inbound",
        sa.column("id", sa.Integer),
        sa.column("message_key", sa.String),
        sa.column("message_id", sa.String),
        sa.column("raw", sa.LargeBinary),
    )
    taken: set[str] = set()
    for row in bind.execute(sa.select(inbound.c.id, inbound.c.message_key, inbound.c.raw)):
        key = "fp:" + fingerprint(row.raw)
        if key in taken:  # the old keys allowed two rows with one content: keep both
            key = f"{key}:{row.id}"
        taken.add(key)
        old = row.message_key
        message_id = old[4:][:300] if old.startswith("mid:") else None
        bind.execute(
            inbound.update()
            .where(inbound.c.id == row.id)
            .values(message_key=key, message_id=message_id)
        )


def _fill_engineers() -> None:
    """Hours rode in the skills JSON; they get their own columns, skills become a list."""
    bind = op.get_bind()
    engineers = sa.table(
        "engineers",
        sa.column("id", sa.Integer),
        sa.column("skills", sa.JSON),
        sa.column("hours_start", sa.String),
        sa.column("hours_end", sa.String),
    )
    for row in bind.execute(sa.select(engineers.c.id, engineers.c.skills)):
        old = row.skills if isinstance(row.skills, dict) else {}
        start, _, end = str(old.get("hours", "09:00-17:00")).partition("-")
        bind.execute(
            engineers.update()
            .where(engineers.c.id == row.id)
            .values(skills=list(old.get("skills", [])), hours_start=start[:5], hours_end=end[:5])
        )


def _fill_outbox() -> None:
    bind = op.get_bind()
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.Integer),
        sa.column("recipients", sa.JSON),
        sa.column("to_key", sa.String),
        sa.column("to_domain", sa.String),
    )
    for row in bind.execute(sa.select(outbox.c.id, outbox.c.recipients)):
        first = (row.recipients or [""])[0]
        key = address_key(first)[:254]
        bind.execute(
            outbox.update()
            .where(outbox.c.id == row.id)
            .values(to_key=key, to_domain=key.rpartition("@")[2])
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_outbox_holder_id_holders"), type_="foreignkey")
        batch_op.drop_index("ix_outbox_to_domain")
        batch_op.drop_index("ix_outbox_to_key")
        batch_op.drop_column("refused")
        batch_op.drop_column("holder_id")
        batch_op.drop_column("to_domain")
        batch_op.drop_column("to_key")

    with op.batch_alter_table("inbound", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_inbound_holder_id_holders"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_inbound_message_id"))
        batch_op.drop_index("ix_inbound_claim")
        batch_op.create_index(batch_op.f("ix_inbound_state"), ["state"], unique=False)
        batch_op.alter_column(
            "message_key",
            existing_type=sa.String(length=100),
            type_=sa.VARCHAR(length=300),
            existing_nullable=False,
        )
        batch_op.drop_column("reason")
        batch_op.drop_column("forced")
        batch_op.drop_column("notes")
        batch_op.drop_column("holder_id")
        batch_op.drop_column("message_id")

    with op.batch_alter_table("engineers", schema=None) as batch_op:
        batch_op.drop_column("days")
        batch_op.drop_column("hours_end")
        batch_op.drop_column("hours_start")

    with op.batch_alter_table("bounces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bounces_outbox_id"))
        batch_op.drop_index(batch_op.f("ix_bounces_original_message_id"))

    op.drop_table("bounces")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_ticket_id"))
        batch_op.drop_index("ix_jobs_due")

    op.drop_table("jobs")
    op.drop_table("holders")
