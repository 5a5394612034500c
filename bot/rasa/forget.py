"""Deleting a visitor's conversation when they confirm "delete my data".

The action server cannot delete the transcript itself: Rasa saves the conversation after the
action runs, which would write it back. So the action sends a private marker message, and the
channel, once Rasa has finished with the message, deletes the conversation from the tracker
store and drops the marker before replying.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

FORGET_MARKER = "iop_forget_conversation"


def forget_marker() -> dict[str, bool]:
    """The custom payload an action sends to ask the channel to delete this conversation."""
    return {FORGET_MARKER: True}


def take_marker(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    """The messages without the marker, and whether it was there."""
    kept = [m for m in messages if not (m.get("custom") or {}).get(FORGET_MARKER)]
    return kept, len(kept) != len(messages)


def forget_conversation(app: Any, sender_id: str) -> bool:
    """Delete `sender_id`'s transcript from the tracker store the Rasa server uses."""
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    store = getattr(agent, "tracker_store", None)
    # Rasa wraps the configured store (fail-safe, awaitable wrappers): find ours inside.
    while store is not None and not hasattr(store, "delete"):
        store = getattr(store, "_tracker_store", None)
    delete = getattr(store, "delete", None)
    if delete is None:
        logger.error("forget: the tracker store cannot delete conversations")
        return False
    delete(sender_id)
    logger.info("forget: a conversation was deleted at the visitor's request")
    return True
