"""The audit log: recording who viewed or changed what, and reading it. Each function takes a
session; the caller owns the transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import AuditEntry


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
