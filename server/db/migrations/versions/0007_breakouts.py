"""breakout of a live meeting into groups, with each group's notes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "breakouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("agenda_position", sa.Integer(), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_by", sa.Integer(), nullable=False),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"]),
        sa.ForeignKeyConstraint(["started_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_breakouts_meeting_id"), "breakouts", ["meeting_id"], unique=False)
    op.create_table(
        "breakout_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("breakout_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("party_group_id", sa.Integer(), nullable=True),
        sa.Column("member_ids", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("notes_version", sa.Integer(), nullable=False),
        sa.Column("notes_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["breakout_id"], ["breakouts.id"]),
        sa.ForeignKeyConstraint(["party_group_id"], ["orgs.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("breakout_id", "position"),
    )
    op.create_index(op.f("ix_breakout_groups_breakout_id"), "breakout_groups", ["breakout_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_breakout_groups_breakout_id"), table_name="breakout_groups")
    op.drop_table("breakout_groups")
    op.drop_index(op.f("ix_breakouts_meeting_id"), table_name="breakouts")
    op.drop_table("breakouts")
