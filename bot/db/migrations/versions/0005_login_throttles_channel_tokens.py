"""login_throttles: failed sign-ins counted per login and address; channel API tokens

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 12:10:00
"""

import sqlalchemy as sa
from alembic import op

from bot.db.migrations.checks import replace_check

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


OLD_ROLES = "role IN ('clinician', 'admin')"
NEW_ROLES = "role IN ('clinician', 'admin', 'channel')"


def _token_roles(condition: str) -> None:
    replace_check("api_tokens", "ck_api_tokens_role_valid", condition)


def upgrade() -> None:
    _token_roles(NEW_ROLES)
    op.create_table(
        "login_throttles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_users.id"],
            name=op.f("fk_login_throttles_staff_user_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttles")),
        sa.UniqueConstraint(
            "staff_user_id", "address", name=op.f("uq_login_throttles_staff_user_id")
        ),
    )
    op.create_index(op.f("ix_login_throttles_staff_user_id"), "login_throttles", ["staff_user_id"])
    # A lockout of the whole login is what let anyone lock a clinician out: the per-address
    # counts above replace it (a lockout in force when this runs is lifted).
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_column("failed_logins")
        batch.drop_column("locked_until")


def downgrade() -> None:
    op.execute("DELETE FROM api_tokens WHERE role = 'channel'")
    _token_roles(OLD_ROLES)
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    op.drop_index(op.f("ix_login_throttles_staff_user_id"), table_name="login_throttles")
    op.drop_table("login_throttles")
