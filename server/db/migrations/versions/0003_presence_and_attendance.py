"""presence events; meetings gain opened_at, closed_at and the quorum override reason

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 11:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("meetings", sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("meetings", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "meetings",
        sa.Column("quorum_override_reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    )

    op.create_table(
        "presence_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"]),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_presence_events_meeting_id", "presence_events", ["meeting_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_presence_events_meeting_id", table_name="presence_events")
    op.drop_table("presence_events")
    with op.batch_alter_table("meetings") as batch:
        batch.drop_column("quorum_override_reason")
        batch.drop_column("closed_at")
        batch.drop_column("opened_at")
