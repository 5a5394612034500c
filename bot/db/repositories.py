"""The named queries features use; each takes a session and leaves the transaction to the caller."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.alerts.outbox import enqueue_alerts
from bot.db.engine import savepoint
from bot.db.models import FLAG_KINDS, FLAG_SEVERITIES, Assessment, CheckIn, Flag, utcnow

_SEVERITY_ORDER = case({s: i for i, s in enumerate(FLAG_SEVERITIES)}, value=Flag.severity)


def _by_dedup_key(session: Session, model: type[Flag | Assessment | CheckIn], key: str):  # noqa: ANN202
    """The row of `model` already stored for this dedup key, or None."""
    return session.execute(select(model).where(model.dedup_key == key)).scalar_one_or_none()


def _add_once(session: Session, row: Flag | Assessment | CheckIn) -> tuple[Any, bool]:
    """Add `row` unless one with its dedup key exists: (stored row, True when added now).

    A concurrent retry of the same message may insert first; the unique key then refuses ours
    and theirs, the same record, is returned.
    """
    model = type(row)
    existing = _by_dedup_key(session, model, row.dedup_key)
    if existing is not None:
        return existing, False
    try:
        with savepoint(session):
            session.add(row)
    except IntegrityError:
        return _by_dedup_key(session, model, row.dedup_key), False
    return row, True


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
    flag = Flag(
        kind=kind,
        severity=severity,
        conversation_id=conversation_id,
        reason=reason,
        dedup_key=dedup_key,
        participant_id=participant_id,
        message_id=message_id,
    )
    stored, added = _add_once(session, flag)
    if added:
        # The alerts commit with the flag (transactional outbox): no flag without its alerts.
        enqueue_alerts(session, stored)
    return stored


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
    created_at: datetime | None = None,
) -> tuple[Assessment, Flag]:
    """Store a completed assessment and its follow-up flag together, once per `dedup_key`
    (`created_at`: when it was made, for one stored late; default now)."""
    contact = contact or {}
    assessment, _added = _add_once(
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


def save_checkin(
    session: Session,
    *,
    participant_id: int,
    conversation_id: str,
    dedup_key: str,
    mood: int,
    craving: int,
    triggers: list[str],
    used_since_last: bool,
    substances_used: str | None = None,
    coping: str | None = None,
    note: str | None = None,
    created_at: datetime | None = None,
) -> tuple[CheckIn, bool]:
    """Store one completed check-in once per `dedup_key`; (row, True) when newly stored.
    `created_at`: when it was made, for one stored late (bot/spool.py); default now."""
    checkin = CheckIn(
        created_at=created_at or utcnow(),
        participant_id=participant_id,
        conversation_id=conversation_id,
        dedup_key=dedup_key,
        mood=mood,
        craving=craving,
        triggers=list(triggers),
        used_since_last=used_since_last,
        substances_used=substances_used,
        coping=coping,
        note=note,
    )
    return _add_once(session, checkin)


def checkins_since(session: Session, participant_id: int, since: datetime) -> list[CheckIn]:
    """A participant's check-ins from `since` on, oldest first (only theirs)."""
    query = (
        select(CheckIn)
        .where(CheckIn.participant_id == participant_id, CheckIn.created_at >= since)
        .order_by(CheckIn.created_at, CheckIn.id)
    )
    return list(session.execute(query).scalars())


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
