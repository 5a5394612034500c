"""The named queries features use; each takes a session and leaves the transaction to the caller."""

from __future__ import annotations

from sqlalchemy import case, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.models import FLAG_KINDS, FLAG_SEVERITIES, Flag

_SEVERITY_ORDER = case({s: i for i, s in enumerate(FLAG_SEVERITIES)}, value=Flag.severity)


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
    existing = session.execute(select(Flag).where(Flag.dedup_key == dedup_key)).scalar_one_or_none()
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
        return session.execute(select(Flag).where(Flag.dedup_key == dedup_key)).scalar_one()
    return flag


def list_flags(session: Session, status: str | None = None) -> list[Flag]:
    """Flags, most urgent first, oldest first within a severity."""
    query = select(Flag).order_by(_SEVERITY_ORDER, Flag.created_at, Flag.id)
    if status is not None:
        query = query.where(Flag.status == status)
    return list(session.execute(query).scalars())
