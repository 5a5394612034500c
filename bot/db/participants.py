"""Enrolled participants, their personal check-in links, and the staff app's summary of them.

A participant's token is a long random secret (256 bits) shown once, in the link; the database
keeps only its SHA-256 (a slow password hash buys nothing for random secrets of this size).
The link carries the token in the URL fragment, `<website>/checkin#token=<token>`: browsers do
not send fragments to servers, so the token stays out of access logs and Referer headers; the
page hands it to the chat widget, which sends it as `metadata.participant_token`.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.db.models import CheckIn, MailLink, Participant, utcnow
from bot.settings import get_settings

TOKEN_BYTES = 32
MAX_TOKEN_CHARS = 128
TOKEN_KEY = "participant_token"  # noqa: S105 (a key name) - what clients send in metadata
TOKEN_HASH_KEY = "participant_token_hash"  # noqa: S105 - what Rasa stores instead


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def checkin_link(token: str) -> str:
    """The participant's personal check-in link."""
    return f"{get_settings().website_url}/checkin#token={token}"


@dataclass(frozen=True)
class Enrollment:
    """A new participant and the only copy of their token."""

    participant_id: int
    token: str
    link: str


def enroll(session: Session, display_name: str) -> Enrollment:
    """Create a participant with a fresh token."""
    name = " ".join(display_name.split())
    if not name or len(name) > 120 or not name.isprintable():
        raise ValueError("the name must be 1 to 120 printable characters")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    participant = Participant(display_name=name, token_hash=hash_token(token))
    session.add(participant)
    session.flush()
    return Enrollment(participant.id, token, checkin_link(token))


def new_participant_link(session: Session, participant_id: int) -> Enrollment | None:
    """Replace a participant's token (the old link stops working, a revoked one is restored)."""
    participant = session.get(Participant, participant_id)
    if participant is None:
        return None
    token = secrets.token_urlsafe(TOKEN_BYTES)
    participant.token_hash = hash_token(token)
    participant.revoked_at = None
    _drop_checkin_links(session, participant_id)
    return Enrollment(participant.id, token, checkin_link(token))


def revoke(session: Session, participant_id: int) -> bool:
    """Revoke a participant's link; False if there is no such participant."""
    participant = session.get(Participant, participant_id)
    if participant is None:
        return False
    if participant.revoked_at is None:
        participant.revoked_at = utcnow()
    _drop_checkin_links(session, participant_id)
    return True


def _drop_checkin_links(session: Session, participant_id: int) -> None:
    """A replaced or revoked link ends the reminder e-mails' check-in links with it."""
    session.execute(
        delete(MailLink).where(
            MailLink.participant_id == participant_id, MailLink.purpose == "checkin"
        )
    )


def protect_metadata(metadata: dict | None) -> dict | None:
    """Swap a message's participant token for its hash before Rasa stores the message.

    Channels call this, so no token reaches a transcript or a log; actions resolve the hash
    with `resolve_token_hash` on every turn. Sending a hash as a token gets hashed again and
    matches nobody, and a hash the client sends itself is always dropped, so a leaked
    transcript cannot be replayed.
    """
    if not metadata:
        return metadata
    protected = {k: v for k, v in metadata.items() if k not in (TOKEN_KEY, TOKEN_HASH_KEY)}
    token = metadata.get(TOKEN_KEY)
    if isinstance(token, str) and 20 <= len(token) <= MAX_TOKEN_CHARS:
        protected[TOKEN_HASH_KEY] = hash_token(token)
    return protected


def resolve_token(session: Session, token: object) -> Participant | None:
    """The active participant a token belongs to, or None (missing, malformed, unknown, revoked)."""
    if not isinstance(token, str) or not 20 <= len(token) <= MAX_TOKEN_CHARS:
        return None
    return resolve_token_hash(session, hash_token(token))


def resolve_token_hash(
    session: Session, token_hash: object, now: datetime | None = None
) -> Participant | None:
    """The active participant for a token hash from protected metadata, or None (`now`: the
    time a reminder's check-in link is checked against, default the current one)."""
    if not isinstance(token_hash, str) or len(token_hash) != 64:
        return None
    participant = session.execute(
        select(Participant).where(Participant.token_hash == token_hash)
    ).scalar_one_or_none()
    if participant is None:
        # A reminder e-mail's check-in link stands for the token until it expires.
        participant = session.execute(
            select(Participant)
            .join(MailLink, MailLink.participant_id == Participant.id)
            .where(
                MailLink.token_hash == token_hash,
                MailLink.purpose == "checkin",
                MailLink.expires_at > (now or utcnow()),
            )
        ).scalar_one_or_none()
    if participant is None or participant.revoked_at is not None:
        return None
    return participant


def participant_for_message(session: Session, metadata: object) -> Participant | None:
    """The active participant whose token came with a message (its protected metadata), or None."""
    if not isinstance(metadata, dict):
        return None
    return resolve_token_hash(session, metadata.get(TOKEN_HASH_KEY))


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
