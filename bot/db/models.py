"""The tables every feature shares: assessments, flags, participants, check-ins, staff, audit."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so migrations can refer to them on every database.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
Base = declarative_base(metadata=metadata)

FLAG_KINDS = (
    "crisis",
    "high_craving",
    "lapse",
    "human_request",
    "assessment_followup",
    "missed_checkins",
)
FLAG_SEVERITIES = ("urgent", "high", "normal")
FLAG_STATUSES = ("open", "acknowledged", "resolved")
RECOMMENDATIONS = ("emergency", "adolescent_services", "higher_level_of_care", "outpatient", "iop")
LEAD_STATUSES = ("new", "contacted", "enrolled", "closed")
STAFF_ROLES = ("clinician", "admin")
# API tokens: the staff roles read the staff JSON API; "channel" tokens only talk to the bot
# through the REST channel (trusted integrations and tests, SPEC §4).
API_TOKEN_ROLES = (*STAFF_ROLES, "channel")
ALERT_CHANNELS = ("webhook", "email")
# pending: not tried yet; retrying: a try failed, another is due; sent: the receiver answered
# 2xx (webhook) or accepted the mail (SMTP); failed: gave up after the last try; cancelled: a
# repeat not sent because staff acknowledged the flag first.
ALERT_STATUSES = ("pending", "retrying", "sent", "failed", "cancelled")
MAIL_LINK_PURPOSES = ("checkin", "stop")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC in and out on every database (SQLite would hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass a timezone-aware value")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=f"{column}_valid")


class Participant(Base):
    """An enrolled client; identified in chat by a secret token stored only as a hash."""

    __tablename__ = "participants"

    id = Column(Integer, primary_key=True)
    display_name = Column(String(120), nullable=False)
    token_hash = Column(String(64), nullable=False, unique=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    revoked_at = Column(UTCDateTime())

    checkins = relationship("CheckIn", back_populates="participant")


class CheckIn(Base):
    """One completed daily check-in; `dedup_key` makes storing it idempotent."""

    __tablename__ = "checkins"
    __table_args__ = (
        CheckConstraint("mood BETWEEN 1 AND 5", name="mood_range"),
        CheckConstraint("craving BETWEEN 0 AND 10", name="craving_range"),
        Index("ix_checkins_participant_created", "participant_id", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    participant_id = Column(ForeignKey("participants.id"), nullable=False)
    conversation_id = Column(String(128), nullable=False)
    dedup_key = Column(String(128), nullable=False, unique=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    mood = Column(Integer, nullable=False)
    craving = Column(Integer, nullable=False)
    triggers = Column(JSON, nullable=False, default=list)
    used_since_last = Column(Boolean, nullable=False)
    substances_used = Column(Text)
    coping = Column(Text)
    note = Column(Text)

    participant = relationship("Participant", back_populates="checkins")


class Assessment(Base):
    """A completed pre-assessment with every answer, both scores and the recommendation."""

    __tablename__ = "assessments"
    __table_args__ = (
        _one_of("recommendation", RECOMMENDATIONS),
        _one_of("status", LEAD_STATUSES),
    )

    id = Column(Integer, primary_key=True)
    reference = Column(String(16), nullable=False, unique=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    dedup_key = Column(String(128), nullable=False, unique=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    recommendation = Column(String(32), nullable=False)
    answers = Column(JSON, nullable=False)
    phq2 = Column(Integer)
    gad2 = Column(Integer)
    # Contact details only when the visitor agreed to be contacted.
    contact_name = Column(String(120))
    contact_phone = Column(String(32))
    contact_email = Column(String(254))
    contact_time = Column(String(64))
    status = Column(String(16), nullable=False, default="new")


class Flag(Base):
    """Something staff must look at, pointing at the conversation (and message) behind it."""

    __tablename__ = "flags"
    __table_args__ = (
        _one_of("kind", FLAG_KINDS),
        _one_of("severity", FLAG_SEVERITIES),
        _one_of("status", FLAG_STATUSES),
        Index("ix_flags_status_severity_created", "status", "severity", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    kind = Column(String(32), nullable=False)
    severity = Column(String(16), nullable=False)
    status = Column(String(16), nullable=False, default="open")
    conversation_id = Column(String(128), nullable=False, index=True)
    participant_id = Column(ForeignKey("participants.id"))
    assessment_id = Column(ForeignKey("assessments.id"))
    # Rasa's message_id of the user message that raised the flag (the transcript highlights it).
    message_id = Column(String(64))
    reason = Column(Text, nullable=False)
    # One flag per triggering event, even if an action is retried.
    dedup_key = Column(String(128), unique=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)
    acknowledged_by = Column(String(64))
    resolved_by = Column(String(64))
    resolution_note = Column(Text)
    # A visitor who asks for a person may leave a way to be called back (only if they choose to).
    callback_name = Column(String(120))
    callback_phone = Column(String(32))
    callback_email = Column(String(254))
    callback_time = Column(String(64))


class StaffUser(Base):
    """A clinician or admin who signs in to the staff app."""

    __tablename__ = "staff_users"
    __table_args__ = (_one_of("role", STAFF_ROLES),)

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    password_hash = Column(String(255), nullable=False)
    role = Column(String(16), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    last_login_at = Column(UTCDateTime())
    # Raised by signing out: every session of this login ends, copied cookies included.
    session_version = Column(Integer, nullable=False, default=0, server_default="0")


class LoginThrottle(Base):
    """Failed password checks of one staff login from one client address.

    Counted per address, so a guesser elsewhere who knows a username locks out only
    themselves, never the clinician signing in from the clinic (bot/db/staff_accounts.py).
    """

    __tablename__ = "login_throttles"
    __table_args__ = (UniqueConstraint("staff_user_id", "address"),)

    id = Column(Integer, primary_key=True)
    staff_user_id = Column(
        Integer, ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    address = Column(String(64), nullable=False)
    failed_logins = Column(Integer, nullable=False, default=0)
    locked_until = Column(UTCDateTime())


class ApiToken(Base):
    """A bearer token, stored only as a hash: for the staff JSON API (clinician, admin) or the
    REST channel (channel)."""

    __tablename__ = "api_tokens"
    __table_args__ = (_one_of("role", API_TOKEN_ROLES),)

    id = Column(Integer, primary_key=True)
    name = Column(String(120), nullable=False)
    token_hash = Column(String(64), nullable=False, unique=True)
    role = Column(String(16), nullable=False, default="clinician")
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    revoked_at = Column(UTCDateTime())
    last_used_at = Column(UTCDateTime())


class AuditEntry(Base):
    """Who viewed or changed what, and when; written for every staff view and change."""

    __tablename__ = "audit_log"

    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    actor = Column(String(128), nullable=False)
    action = Column(String(64), nullable=False)
    object_type = Column(String(32), nullable=False)
    object_id = Column(String(128))
    detail = Column(JSON)


class AlertDelivery(Base):
    """One alert of a flag to one channel (a row of the transactional outbox).

    Written in the transaction that opens the flag, so a flag never exists without its alerts;
    the worker (bot/notify/worker.py) sends it. `round` 0 is the first alert, 1, 2, ... the
    repeats of an urgent flag nobody acknowledged. No message text, names or contact details
    are stored here or sent: the flag's id, kind, severity and time are all an alert says.
    """

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        _one_of("channel", ALERT_CHANNELS),
        _one_of("status", ALERT_STATUSES),
        UniqueConstraint("flag_id", "channel", "round", name="uq_alert_deliveries_flag_round"),
        Index("ix_alert_deliveries_status_due", "status", "next_attempt_at"),
    )

    id = Column(Integer, primary_key=True)
    flag_id = Column(ForeignKey("flags.id", ondelete="CASCADE"), nullable=False, index=True)
    # Random, sent with every try (Idempotency-Key, Message-ID): a receiver drops a repeat, and
    # no two installations or database resets ever reuse one.
    key = Column(String(32), nullable=False, unique=True, default=lambda: uuid.uuid4().hex)
    channel = Column(String(16), nullable=False)
    round = Column(Integer, nullable=False, default=0)
    status = Column(String(16), nullable=False, default="pending")
    attempts = Column(Integer, nullable=False, default=0)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    next_attempt_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    # A worker that took the row owns it until then; after a crash another takes it again.
    lease_until = Column(UTCDateTime())
    lease_owner = Column(String(32))
    sent_at = Column(UTCDateTime())
    # What went wrong, in words about the transport only ("HTTP 503", "connection refused").
    last_error = Column(String(200))


class Reminder(Base):
    """A participant's daily check-in reminder by e-mail (opted in by staff or in the chat)."""

    __tablename__ = "reminders"

    id = Column(Integer, primary_key=True)
    participant_id = Column(ForeignKey("participants.id"), nullable=False, unique=True)
    active = Column(Boolean, nullable=False, default=True)
    email = Column(String(254), nullable=False)
    # Local wall-clock time "HH:MM" in `timezone`; quiet hours are a local span that may wrap
    # midnight ("22:00"-"07:00"): nothing is sent inside it.
    local_time = Column(String(5), nullable=False)
    timezone = Column(String(64), nullable=False)
    quiet_start = Column(String(5), nullable=False, default="22:00")
    quiet_end = Column(String(5), nullable=False, default="07:00")
    # The participant's local date of the last reminder sent: at most one a day.
    last_sent_on = Column(Date)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)
    stopped_at = Column(UTCDateTime())


class MailLink(Base):
    """A link sent in a reminder e-mail, stored only as its token's hash: `checkin` stands for
    the participant's token until it expires (the personal token is stored only as a hash and
    cannot be sent again); `stop` ends their reminders in one click."""

    __tablename__ = "mail_links"
    __table_args__ = (_one_of("purpose", MAIL_LINK_PURPOSES),)

    id = Column(Integer, primary_key=True)
    participant_id = Column(ForeignKey("participants.id"), nullable=False, index=True)
    purpose = Column(String(16), nullable=False)
    token_hash = Column(String(64), nullable=False, unique=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    expires_at = Column(UTCDateTime(), nullable=False)


class WorkerBeat(Base):
    """The background worker's last sign of life, shown on the admin page."""

    __tablename__ = "worker_beats"

    name = Column(String(64), primary_key=True)
    beat_at = Column(UTCDateTime(), nullable=False)
