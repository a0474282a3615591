"""party groups: their leader and deputy; a dissolved group keeps its row

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orgs", sa.Column("dissolved_at", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "group_officers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["orgs.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("group_id", "role"),
    )
    op.create_index("ix_group_officers_member_id", "group_officers", ["member_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_group_officers_member_id", table_name="group_officers")
    op.drop_table("group_officers")
    with op.batch_alter_table("orgs") as batch:
        batch.drop_column("dissolved_at")
