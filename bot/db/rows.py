"""Helpers the query modules share: a row stored once by its dedup key, and the error for a change
the record's state refuses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.engine import savepoint
from bot.db.models import Assessment, CheckIn, Flag


def by_dedup_key(session: Session, model: type[Flag | Assessment | CheckIn], key: str):  # noqa: ANN202
    """The row of `model` already stored for this dedup key, or None."""
    return session.execute(select(model).where(model.dedup_key == key)).scalar_one_or_none()


def add_once(session: Session, row: Flag | Assessment | CheckIn) -> tuple[Any, bool]:
    """Add `row` unless one with its dedup key exists: (stored row, True when added now).

    A concurrent retry of the same message may insert first; the unique key then refuses ours
    and theirs, the same record, is returned.
    """
    model = type(row)
    existing = by_dedup_key(session, model, row.dedup_key)
    if existing is not None:
        return existing, False
    try:
        with savepoint(session):
            session.add(row)
    except IntegrityError:
        return by_dedup_key(session, model, row.dedup_key), False
    return row, True


class ChangeRefused(ValueError):
    """A change that the record's current state does not allow; the message says why."""
