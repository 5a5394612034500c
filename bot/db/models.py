"""The tables every feature shares: assessments, flags, participants, check-ins, staff, audit."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
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

FLAG_KINDS = ("crisis", "high_craving", "lapse", "human_request", "assessment_followup")
FLAG_SEVERITIES = ("urgent", "high", "normal")
FLAG_STATUSES = ("open", "acknowledged", "resolved")
RECOMMENDATIONS = ("emergency", "adolescent_services", "higher_level_of_care", "outpatient", "iop")
LEAD_STATUSES = ("new", "contacted", "enrolled", "closed")
STAFF_ROLES = ("clinician", "admin")


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
    failed_logins = Column(Integer, nullable=False, default=0)
    locked_until = Column(UTCDateTime())
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    last_login_at = Column(UTCDateTime())
    # Raised by signing out: every session of this login ends, copied cookies included.
    session_version = Column(Integer, nullable=False, default=0, server_default="0")


class ApiToken(Base):
    """A bearer token for the staff JSON API, stored only as a hash."""

    __tablename__ = "api_tokens"
    __table_args__ = (_one_of("role", STAFF_ROLES),)

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
