"""Flags behind the safety replies: Rasa sends the crisis lines itself (rules), then these record
an urgent flag for staff, so help never waits on the action server or the database."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import IopAction
from bot.db import get_sessionmaker
from bot.db.repositories import open_flag
from bot.settings import get_settings

logger = logging.getLogger(__name__)


def crisis_flag_reason(latest_message: dict[str, Any]) -> str:
    """Why the message was escalated, without quoting it (the transcript holds the words)."""
    match = latest_message.get("crisis_match")
    if match:
        return f"Crisis language ({match.get('category', 'unknown')} rule)"
    confidence = (latest_message.get("intent") or {}).get("confidence") or 0.0
    return f"Crisis language (classifier, confidence {confidence:.2f})"


def flag_latest_message(tracker: Tracker, *, kind: str, severity: str, reason: str) -> None:
    """Open one flag of `kind` for the user's latest message (a retried action reuses it)."""
    message_id = (tracker.latest_message or {}).get("message_id") or ""
    with get_sessionmaker()() as session, session.begin():
        open_flag(
            session,
            kind=kind,
            severity=severity,
            conversation_id=tracker.sender_id,
            reason=reason,
            dedup_key=f"{kind}:{tracker.sender_id}:{message_id}",
            message_id=message_id or None,
        )


class ActionFlagCrisis(IopAction):
    """One urgent `crisis` flag per crisis message, pointing at that message."""

    def name(self) -> str:
        """Name in the domain."""
        return "action_flag_crisis"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Store the flag; a storage failure is logged loudly, the person already has help."""
        try:
            flag_latest_message(
                tracker,
                kind="crisis",
                severity="urgent",
                reason=crisis_flag_reason(tracker.latest_message or {}),
            )
        except Exception as exc:
            logger.critical("crisis flag NOT stored: %s", type(exc).__name__)
        return []


class ActionRequestHuman(IopAction):
    """Says whether the office is staffed now and opens a `human_request` flag."""

    def name(self) -> str:
        """Name in the domain."""
        return "action_request_human"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Set `office_open` (utter_human_contact has a variant for each), then store the flag."""
        is_open = get_settings().clinic.is_open()
        flag_latest_message(
            tracker,
            kind="human_request",
            severity="normal",
            reason=f"Asked to talk to a person ({'office open' if is_open else 'after hours'})",
        )
        return [SlotSet("office_open", is_open)]
