"""alert outbox, reminders, reminder mail links, worker heartbeat; missed_checkins flags

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 09:10:00
"""

import sqlalchemy as sa
from alembic import op

from bot.db.migrations.checks import replace_check

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('crisis', 'high_craving', 'lapse', 'human_request', 'assessment_followup')"
NEW_KINDS = (
    "kind IN ('crisis', 'high_craving', 'lapse', 'human_request', 'assessment_followup', "
    "'missed_checkins')"
)


def _kinds(condition: str) -> None:
    replace_check("flags", "ck_flags_kind_valid", condition)


def upgrade() -> None:
    _kinds(NEW_KINDS)
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=32), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "channel IN ('webhook', 'email')", name=op.f("ck_alert_deliveries_channel_valid")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'retrying', 'sent', 'failed', 'cancelled')",
            name=op.f("ck_alert_deliveries_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["flag_id"],
            ["flags.id"],
            name=op.f("fk_alert_deliveries_flag_id_flags"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_deliveries")),
        sa.UniqueConstraint("flag_id", "channel", "round", name="uq_alert_deliveries_flag_round"),
        sa.UniqueConstraint("key", name=op.f("uq_alert_deliveries_key")),
    )
    op.create_index(
        "ix_alert_deliveries_status_due", "alert_deliveries", ["status", "next_attempt_at"]
    )
    op.create_index(op.f("ix_alert_deliveries_flag_id"), "alert_deliveries", ["flag_id"])
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("local_time", sa.String(length=5), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("quiet_start", sa.String(length=5), nullable=False),
        sa.Column("quiet_end", sa.String(length=5), nullable=False),
        sa.Column("last_sent_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_reminders_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint("participant_id", name=op.f("uq_reminders_participant_id")),
    )
    op.create_table(
        "mail_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_mail_links_participant_id_participants"),
        ),
        sa.CheckConstraint(
            "purpose IN ('checkin', 'stop')", name=op.f("ck_mail_links_purpose_valid")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_mail_links_token_hash")),
    )
    op.create_index(op.f("ix_mail_links_participant_id"), "mail_links", ["participant_id"])
    op.create_table(
        "worker_beats",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_beats")),
    )


def downgrade() -> None:
    op.drop_table("worker_beats")
    op.drop_index(op.f("ix_mail_links_participant_id"), table_name="mail_links")
    op.drop_table("mail_links")
    op.drop_table("reminders")
    op.drop_index(op.f("ix_alert_deliveries_flag_id"), table_name="alert_deliveries")
    op.drop_index("ix_alert_deliveries_status_due", table_name="alert_deliveries")
    op.drop_table("alert_deliveries")
    # missed_checkins flags are clinical records: resolve or export them before downgrading
    count = (
        op.get_bind()
        .execute(sa.text("SELECT count(*) FROM flags WHERE kind = 'missed_checkins'"))
        .scalar()
    )
    if count:
        raise RuntimeError(f"{count} missed_checkins flags exist: 0004 cannot be undone")
    _kinds(OLD_KINDS)
