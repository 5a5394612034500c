"""The staff app's named queries and changes; each takes a session, the caller owns the transaction.

They live here rather than in bot/db/repositories.py because only the staff app uses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from bot.db.models import (
    FLAG_SEVERITIES,
    Assessment,
    AuditEntry,
    CheckIn,
    Flag,
    Participant,
    utcnow,
)

UNRESOLVED = ("open", "acknowledged")
MAX_NOTE_CHARS = 2000
# The lead workflow: new -> contacted -> enrolled / closed (a lead can also be closed unreached).
LEAD_TRANSITIONS = {
    "new": ("contacted", "closed"),
    "contacted": ("enrolled", "closed"),
    "enrolled": (),
    "closed": (),
}
_SEVERITY_ORDER = case({s: i for i, s in enumerate(FLAG_SEVERITIES)}, value=Flag.severity)


class ChangeRefused(ValueError):
    """A change that the record's current state does not allow; the message says why."""


def flag_queue(
    session: Session,
    statuses: tuple[str, ...] = UNRESOLVED,
    kind: str | None = None,
    limit: int | None = None,
) -> list[Flag]:
    """Flags in `statuses` (optionally of one kind), most urgent first, oldest first within."""
    query = (
        select(Flag)
        .where(Flag.status.in_(statuses))
        .order_by(_SEVERITY_ORDER, Flag.created_at, Flag.id)
        .limit(limit)
    )
    if kind is not None:
        query = query.where(Flag.kind == kind)
    return list(session.execute(query).scalars())


def related_flags(
    session: Session, *, participant_id: int | None = None, conversation_id: str | None = None
) -> list[Flag]:
    """A participant's or a conversation's flags, newest first."""
    query = select(Flag).order_by(Flag.created_at.desc(), Flag.id.desc())
    if participant_id is not None:
        query = query.where(Flag.participant_id == participant_id)
    if conversation_id is not None:
        query = query.where(Flag.conversation_id == conversation_id)
    return list(session.execute(query).scalars())


def severity_counts(session: Session, statuses: tuple[str, ...] = UNRESOLVED) -> dict[str, int]:
    """How many flags in `statuses` there are per severity (every severity present, maybe 0)."""
    rows = session.execute(
        select(Flag.severity, func.count(Flag.id))
        .where(Flag.status.in_(statuses))
        .group_by(Flag.severity)
    )
    counts = dict.fromkeys(FLAG_SEVERITIES, 0)
    counts.update(dict(rows.all()))
    return counts


def acknowledge_flag(session: Session, flag_id: int, actor: str) -> Flag | None:
    """Mark an open flag as being looked at by `actor`; None if there is no such flag."""
    flag = session.get(Flag, flag_id)
    if flag is None:
        return None
    if flag.status != "open":
        raise ChangeRefused(f"flag {flag_id} is already {flag.status}")
    flag.status = "acknowledged"
    flag.acknowledged_by = actor
    flag.updated_at = utcnow()
    return flag


def resolve_flag(session: Session, flag_id: int, actor: str, note: str) -> Flag | None:
    """Resolve an unresolved flag with a note saying what was done; None if no such flag."""
    note = note.strip()
    if not note:
        raise ChangeRefused("a resolution note is required")
    if len(note) > MAX_NOTE_CHARS:
        raise ChangeRefused(f"the note is longer than {MAX_NOTE_CHARS} characters")
    flag = session.get(Flag, flag_id)
    if flag is None:
        return None
    if flag.status == "resolved":
        raise ChangeRefused(f"flag {flag_id} is already resolved")
    flag.acknowledged_by = flag.acknowledged_by or actor
    flag.status = "resolved"
    flag.resolved_by = actor
    flag.resolution_note = note
    flag.updated_at = utcnow()
    return flag


@dataclass(frozen=True)
class ParticipantSummary:
    """One row of the participants list."""

    participant: Participant
    last_checkin_at: datetime | None
    checkins_7d: int
    latest_craving: int | None


def participant_summaries(
    session: Session, now: datetime | None = None
) -> list[ParticipantSummary]:
    """Every participant with their last check-in, check-ins in the past 7 days, latest craving."""
    week_ago = (now or utcnow()) - timedelta(days=7)
    participants = list(
        session.execute(select(Participant).order_by(Participant.display_name, Participant.id))
        .scalars()
        .all()
    )
    recent = dict(
        session.execute(
            select(CheckIn.participant_id, func.count(CheckIn.id))
            .where(CheckIn.created_at >= week_ago)
            .group_by(CheckIn.participant_id)
        ).all()
    )
    ranked = select(
        CheckIn.participant_id,
        CheckIn.craving,
        CheckIn.created_at,
        func.row_number()
        .over(
            partition_by=CheckIn.participant_id,
            order_by=(CheckIn.created_at.desc(), CheckIn.id.desc()),
        )
        .label("rank"),
    ).subquery()
    latest = {
        row.participant_id: row
        for row in session.execute(
            select(ranked.c.participant_id, ranked.c.craving, ranked.c.created_at).where(
                ranked.c.rank == 1
            )
        )
    }
    return [
        ParticipantSummary(
            participant=p,
            last_checkin_at=latest[p.id].created_at if p.id in latest else None,
            checkins_7d=recent.get(p.id, 0),
            latest_craving=latest[p.id].craving if p.id in latest else None,
        )
        for p in participants
    ]


def participant_checkins(session: Session, participant_id: int) -> list[CheckIn]:
    """All of one participant's check-ins, oldest first."""
    return list(
        session.execute(
            select(CheckIn)
            .where(CheckIn.participant_id == participant_id)
            .order_by(CheckIn.created_at, CheckIn.id)
        ).scalars()
    )


def list_assessments(session: Session, status: str | None = None) -> list[Assessment]:
    """Assessments (leads), newest first, optionally in one lead status."""
    query = select(Assessment).order_by(Assessment.created_at.desc(), Assessment.id.desc())
    if status is not None:
        query = query.where(Assessment.status == status)
    return list(session.execute(query).scalars())


def set_lead_status(session: Session, assessment_id: int, status: str) -> Assessment | None:
    """Move a lead along new -> contacted -> enrolled / closed; None if no such assessment."""
    assessment = session.get(Assessment, assessment_id)
    if assessment is None:
        return None
    if status not in LEAD_TRANSITIONS.get(assessment.status, ()):
        raise ChangeRefused(f"a {assessment.status} lead cannot become {status!r}")
    assessment.status = status
    return assessment


def record_audit(
    session: Session,
    actor: str,
    action: str,
    object_type: str,
    object_id: object = None,
    detail: dict | None = None,
) -> AuditEntry:
    """Write one audit row: who viewed or changed what (detail never holds message text)."""
    entry = AuditEntry(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        detail=detail,
    )
    session.add(entry)
    return entry


def list_audit(
    session: Session,
    limit: int = 100,
    offset: int = 0,
    *,
    actor: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
) -> list[AuditEntry]:
    """Audit rows, newest first, optionally for one actor and/or one object (type and id)."""
    query = (
        select(AuditEntry)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id:
        query = query.where(AuditEntry.object_id == object_id)
    return list(session.execute(query).scalars())


def audit_trail(session: Session, object_type: str, object_id: object) -> list[AuditEntry]:
    """The changes recorded for one object, oldest first (views are left out)."""
    return list(
        session.execute(
            select(AuditEntry)
            .where(
                AuditEntry.object_type == object_type,
                AuditEntry.object_id == str(object_id),
                AuditEntry.action.notin_(("view", "list", "export")),
            )
            .order_by(AuditEntry.at, AuditEntry.id)
        ).scalars()
    )
