"""script tokens: a public id, an expiry and a revocation

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("public_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    # Tokens made before this revision had no end: they get the public id of their hash's start and
    # are treated as expiring 30 days after their creation (server.auth.identity).
    op.execute("UPDATE api_tokens SET public_id = substr(id, 1, 16)")
    op.create_index("ix_api_tokens_public_id", "api_tokens", ["public_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_api_tokens_public_id", table_name="api_tokens")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("revoked_at")
        batch.drop_column("expires_at")
        batch.drop_column("public_id")
