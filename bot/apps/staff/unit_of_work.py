"""The staff app's unit of work and audit helper, bound to the app's database URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g
from flask_login import current_user
from sqlalchemy.orm import Session

from bot.db import get_sessionmaker
from bot.db.audit import record_audit


@contextmanager
def transaction() -> Iterator[Session]:
    """One session and transaction on the app's database (committed on success)."""
    with get_sessionmaker(current_app.config["DATABASE_URL"])() as session, session.begin():
        yield session


def actor() -> str:
    """Who is acting: the signed-in staff member, or the API token's name and id."""
    token = g.get("api_token")
    if token is not None:
        return f"api:{token.name}#{token.id}"
    if current_user.is_authenticated:
        return f"staff:{current_user.username}"
    return "anonymous"


def audit(
    session: Session,
    action: str,
    object_type: str,
    object_id: object = None,
    detail: dict | None = None,
) -> None:
    """Record that the current actor viewed or changed something (in the caller's transaction)."""
    record_audit(session, actor(), action, object_type, object_id, detail)
