"""Logging a failure without the words of a person or a record."""

from __future__ import annotations

import logging
import traceback


def log_failure(logger: logging.Logger, what: str, error: BaseException) -> None:
    """Log a failure with its type and stack but not its message, which may quote stored
    records (a database error lists the values it was given: notes, contact details)."""
    stack = "".join(traceback.format_tb(error.__traceback__))
    logger.error("%s (%s)\n%s", what, type(error).__name__, stack.rstrip())
