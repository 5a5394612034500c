"""Pre-assessments: storing one once, a visitor's answers deleted on request, callback requests,
and the leads workflow. Each function takes a session; the caller owns the transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.flags import open_flag
from bot.db.models import Assessment, Flag, utcnow
from bot.db.rows import ChangeRefused, add_once


def save_assessment(
    session: Session,
    *,
    conversation_id: str,
    dedup_key: str,
    reference: str,
    recommendation: str,
    flag_severity: str,
    answers: dict,
    phq2: int | None,
    gad2: int | None,
    contact: dict[str, str] | None = None,
    created_at: datetime | None = None,
) -> tuple[Assessment, Flag]:
    """Store a completed assessment and its follow-up flag together, once per `dedup_key`
    (`created_at`: when it was made, for one stored late; default now)."""
    contact = contact or {}
    assessment, _added = add_once(
        session,
        Assessment(
            created_at=created_at or utcnow(),
            conversation_id=conversation_id,
            dedup_key=dedup_key,
            reference=reference,
            recommendation=recommendation,
            answers=answers,
            phq2=phq2,
            gad2=gad2,
            contact_name=contact.get("name"),
            contact_phone=contact.get("phone"),
            contact_email=contact.get("email"),
            contact_time=contact.get("time"),
        ),
    )
    flag = open_flag(
        session,
        kind="assessment_followup",
        severity=flag_severity,
        conversation_id=conversation_id,
        reason=f"Pre-assessment {assessment.reference}: {assessment.recommendation}",
        dedup_key=f"assessment:{dedup_key}",
    )
    if flag.assessment_id is None:
        flag.assessment_id = assessment.id
    return assessment, flag


def delete_visitor_answers(session: Session, conversation_id: str) -> bool:
    """Delete a visitor's assessments and their follow-up flags; True if an open crisis flag
    means the transcript must stay until staff have followed up."""
    assessments = list(
        session.execute(
            select(Assessment).where(Assessment.conversation_id == conversation_id)
        ).scalars()
    )
    ids = [a.id for a in assessments]
    if ids:
        for flag in session.execute(select(Flag).where(Flag.assessment_id.in_(ids))).scalars():
            session.delete(flag)
        session.flush()
        for assessment in assessments:
            session.delete(assessment)
    open_crisis = session.execute(
        select(Flag.id).where(
            Flag.conversation_id == conversation_id,
            Flag.kind == "crisis",
            Flag.status != "resolved",
        )
    ).first()
    return open_crisis is not None


def record_callback(
    session: Session,
    *,
    conversation_id: str,
    name: str | None,
    contact: dict[str, str],
    best_time: str | None,
) -> Flag:
    """Put callback details on the conversation's latest human_request flag (or a new one)."""
    flag = (
        session.execute(
            select(Flag)
            .where(Flag.conversation_id == conversation_id, Flag.kind == "human_request")
            .order_by(Flag.created_at.desc(), Flag.id.desc())
        )
        .scalars()
        .first()
    )
    if flag is None or flag.status == "resolved":
        flag = open_flag(
            session,
            kind="human_request",
            severity="normal",
            conversation_id=conversation_id,
            reason="Asked to be called back",
            dedup_key=f"callback:{conversation_id}:{uuid.uuid4().hex}",
        )
    flag.callback_name = name
    flag.callback_phone = contact.get("phone")
    flag.callback_email = contact.get("email")
    flag.callback_time = best_time
    return flag


# The lead workflow: new -> contacted -> enrolled / closed (a lead can also be closed unreached).
LEAD_TRANSITIONS = {
    "new": ("contacted", "closed"),
    "contacted": ("enrolled", "closed"),
    "enrolled": (),
    "closed": (),
}


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
