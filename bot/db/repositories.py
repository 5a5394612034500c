"""The named queries features use; each takes a session and leaves the transaction to the caller."""

from __future__ import annotations

from sqlalchemy import case, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.models import FLAG_KINDS, FLAG_SEVERITIES, Assessment, Flag

_SEVERITY_ORDER = case({s: i for i, s in enumerate(FLAG_SEVERITIES)}, value=Flag.severity)


def _by_dedup_key(session: Session, model: type[Flag] | type[Assessment], key: str):  # noqa: ANN202
    """The row of `model` already stored for this dedup key, or None."""
    return session.execute(select(model).where(model.dedup_key == key)).scalar_one_or_none()


def open_flag(
    session: Session,
    *,
    kind: str,
    severity: str,
    conversation_id: str,
    reason: str,
    dedup_key: str,
    participant_id: int | None = None,
    message_id: str | None = None,
) -> Flag:
    """Open a flag once per `dedup_key`: a retried action returns the flag it already opened."""
    if kind not in FLAG_KINDS or severity not in FLAG_SEVERITIES:
        raise ValueError(f"unknown flag kind or severity: {kind}/{severity}")
    existing = _by_dedup_key(session, Flag, dedup_key)
    if existing is not None:
        return existing
    flag = Flag(
        kind=kind,
        severity=severity,
        conversation_id=conversation_id,
        reason=reason,
        dedup_key=dedup_key,
        participant_id=participant_id,
        message_id=message_id,
    )
    try:
        with session.begin_nested():
            session.add(flag)
    except IntegrityError:  # a concurrent retry won the race; theirs is the same flag
        return _by_dedup_key(session, Flag, dedup_key)
    return flag


def list_flags(session: Session, status: str | None = None) -> list[Flag]:
    """Flags, most urgent first, oldest first within a severity."""
    query = select(Flag).order_by(_SEVERITY_ORDER, Flag.created_at, Flag.id)
    if status is not None:
        query = query.where(Flag.status == status)
    return list(session.execute(query).scalars())


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
) -> tuple[Assessment, Flag]:
    """Store a completed assessment and its follow-up flag together, once per `dedup_key`."""
    existing = _by_dedup_key(session, Assessment, dedup_key)
    if existing is None:
        contact = contact or {}
        existing = Assessment(
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
        )
        session.add(existing)
        session.flush()
    flag = open_flag(
        session,
        kind="assessment_followup",
        severity=flag_severity,
        conversation_id=conversation_id,
        reason=f"Pre-assessment {existing.reference}: {existing.recommendation}",
        dedup_key=f"assessment:{dedup_key}",
    )
    if flag.assessment_id is None:
        flag.assessment_id = existing.id
    return existing, flag
