"""Retention (SPEC §5): anonymous conversations and pre-assessments older than the clinic's
retention period are deleted, unless staff still have an open flag on them. Participants'
conversations and check-ins are treatment records and are kept. Run by `python -m bot purge`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db.models import Assessment, CheckIn, Flag
from bot.db.participants import TOKEN_HASH_KEY
from bot.rasa.tracker_store import SettingsSQLTrackerStore


@dataclass(frozen=True)
class PurgeResult:
    """What a purge deleted (or would delete, on a dry run)."""

    assessments: int
    conversations: int


def _kept_conversations(session: Session) -> set[str]:
    """Conversations staff still need (an unresolved flag) or that belong to a participant."""
    flagged = select(Flag.conversation_id).where(Flag.status != "resolved")
    participants = select(Flag.conversation_id).where(Flag.participant_id.is_not(None))
    checkins = select(CheckIn.conversation_id)
    return {row[0] for query in (flagged, participants, checkins) for row in session.execute(query)}


def purge(
    session: Session,
    store: SettingsSQLTrackerStore,
    days: int,
    now: datetime | None = None,
    dry_run: bool = False,
) -> PurgeResult:
    """Delete anonymous assessments and transcripts last touched more than `days` days ago."""
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=days)
    kept = _kept_conversations(session)
    old = [
        a
        for a in session.execute(select(Assessment).where(Assessment.created_at < cutoff)).scalars()
        if a.conversation_id not in kept
    ]
    conversations = _old_anonymous_conversations(store, cutoff.timestamp(), kept)
    if not dry_run:
        # Transcripts first: the tracker store has its own connection, which must not wait on
        # this session's writes (one SQLite file in tests and small installs).
        for sender_id in conversations:
            store.delete(sender_id)
        ids = [a.id for a in old]
        if ids:
            # Resolved follow-up flags stay as staff's record of the work, without the answers.
            for flag in session.execute(select(Flag).where(Flag.assessment_id.in_(ids))).scalars():
                flag.assessment_id = None
            session.flush()
            for assessment in old:
                session.delete(assessment)
    return PurgeResult(assessments=len(old), conversations=len(conversations))


def _old_anonymous_conversations(
    store: SettingsSQLTrackerStore, cutoff: float, kept: set[str]
) -> list[str]:
    event = store.SQLEvent
    with store.session_scope() as session:
        stale = [
            row[0]
            for row in session.query(event.sender_id)
            .group_by(event.sender_id)
            .having(func.max(event.timestamp) < cutoff)
        ]
        # A participant's messages carry their token's hash in the metadata.
        identified = {
            row[0]
            for row in session.query(event.sender_id)
            .filter(event.sender_id.in_(stale), event.data.contains(TOKEN_HASH_KEY))
            .distinct()
        }
    return [s for s in stale if s not in kept and s not in identified]
