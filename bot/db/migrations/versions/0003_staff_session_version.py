"""staff_users.session_version: signing out ends every session of a login

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 11:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "staff_users",
        sa.Column("session_version", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_column("session_version")
