"""Flags for staff: opening one once (with its alerts), the queue, acknowledging and resolving.
Each function takes a session; the caller owns the transaction."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from bot.db.alert_outbox import enqueue_alerts
from bot.db.models import FLAG_KINDS, FLAG_SEVERITIES, Flag, utcnow
from bot.db.rows import ChangeRefused, add_once

_SEVERITY_ORDER = case({s: i for i, s in enumerate(FLAG_SEVERITIES)}, value=Flag.severity)


UNRESOLVED = ("open", "acknowledged")


MAX_NOTE_CHARS = 2000


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
    stored, added = add_once(session, flag)
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
