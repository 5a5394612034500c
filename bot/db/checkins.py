"""Participants' check-ins: storing one once, and reading them back. Each function takes a session;
the caller owns the transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import CheckIn, utcnow
from bot.db.rows import add_once


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
    `created_at`: when it was made, for one stored late (bot/db/spool.py); default now."""
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
    return add_once(session, checkin)


def checkins_since(session: Session, participant_id: int, since: datetime) -> list[CheckIn]:
    """A participant's check-ins from `since` on, oldest first (only theirs)."""
    query = (
        select(CheckIn)
        .where(CheckIn.participant_id == participant_id, CheckIn.created_at >= since)
        .order_by(CheckIn.created_at, CheckIn.id)
    )
    return list(session.execute(query).scalars())


def participant_checkins(session: Session, participant_id: int) -> list[CheckIn]:
    """All of one participant's check-ins, oldest first."""
    return list(
        session.execute(
            select(CheckIn)
            .where(CheckIn.participant_id == participant_id)
            .order_by(CheckIn.created_at, CheckIn.id)
        ).scalars()
    )
