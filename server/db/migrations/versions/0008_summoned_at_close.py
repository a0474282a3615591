"""who a meeting summoned, fixed at its close

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Meetings closed before this revision keep null: their record follows the register as before.
    with op.batch_alter_table("meetings") as batch:
        batch.add_column(sa.Column("summoned_ids", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("meetings") as batch:
        batch.drop_column("summoned_ids")
