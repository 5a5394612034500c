"""callback details on human_request flags

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 15:55:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("flags", sa.Column("callback_name", sa.String(length=120), nullable=True))
    op.add_column("flags", sa.Column("callback_phone", sa.String(length=32), nullable=True))
    op.add_column("flags", sa.Column("callback_email", sa.String(length=254), nullable=True))
    op.add_column("flags", sa.Column("callback_time", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("flags") as batch:
        for column in ("callback_time", "callback_email", "callback_phone", "callback_name"):
            batch.drop_column(column)
