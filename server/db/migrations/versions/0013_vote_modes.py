"""how each vote was taken (issue 30): a vote's mode, its counting committee and who entered its counts

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 21:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Columns only, with defaults: every existing vote was taken by electronic ballots in the room.
    with op.batch_alter_table("votes") as batch:
        batch.add_column(
            sa.Column(
                "mode",
                sqlmodel.sql.sqltypes.AutoString(length=20),
                nullable=False,
                server_default="electronic",
            )
        )
        batch.add_column(sa.Column("counted_by", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("counts_entered_by", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_votes_counts_entered_by_users", "users", ["counts_entered_by"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("votes") as batch:
        batch.drop_constraint("fk_votes_counts_entered_by_users", type_="foreignkey")
        batch.drop_column("counts_entered_by")
        batch.drop_column("counted_by")
        batch.drop_column("mode")
