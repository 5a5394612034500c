"""Finished forms the database could not take right now: kept in the durable queue
(bot/db/spool.py) of this action server, and stored from there once the database answers."""

from __future__ import annotations

import logging
from typing import Any

from bot.db.spool import Spool
from bot.settings import get_settings

logger = logging.getLogger(__name__)

# What the person reads when their answers wait in the queue: plainly kept, nothing to resend.
SAVED_LATER = (
    "Our records system is busy right now, so I've kept your answers safely and they'll be filed "
    "with your care team within a few minutes. There's no need to send them again."
)


def spool() -> Spool:
    """The queue of the database this action server writes to."""
    settings = get_settings()
    return Spool.for_database(settings.database_url, settings.var_dir)


def queue_record(kind: str, record: dict[str, Any]) -> None:
    """Keep a finished form's record until the database takes it (logged without contents)."""
    path = spool().put(kind, record)
    logger.warning("database unavailable: %s record queued (%s)", kind, path.name)


def drain() -> tuple[int, int]:
    """Store what waits in the queue, oldest first: (stored now, still waiting)."""
    from actions.assessment_form import store_queued_assessment
    from actions.checkin_form import store_queued_checkin

    handlers = {"checkin": store_queued_checkin, "assessment": store_queued_assessment}
    stored, waiting = spool().drain(handlers)
    if stored or waiting:
        logger.info("durable queue: %d stored, %d waiting", stored, waiting)
    return stored, waiting
