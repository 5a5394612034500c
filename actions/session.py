"""Conversation start: fill the clinic-detail slots and say who (and what) the assistant is."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import safety_check
from bot.db import get_sessionmaker
from bot.participants import participant_for_message
from bot.settings import get_settings

logger = logging.getLogger(__name__)


def is_participant(metadata: object) -> bool:
    """Whether a session starts with a valid participant link (a visitor if the check fails)."""
    if not isinstance(metadata, dict) or not metadata:
        return False
    try:
        with get_sessionmaker()() as session:
            return participant_for_message(session, metadata) is not None
    except Exception as exc:  # the introduction must never fail: greet as a visitor
        logger.error("session start: participant lookup failed (%s)", type(exc).__name__)
        return False


class ActionSessionStart(Action):
    """Replaces Rasa's default session start so every answer can use the clinic's details."""

    def name(self) -> str:
        """Rasa's reserved name for the session-start action."""
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Start the session, set the clinic slots and send the introduction."""
        values = get_settings().clinic.response_values()
        # The slots are set by this action's events, which Rasa applies only after it renders
        # the messages; pass the values to the introduction directly.
        # A participant's link opens a check-in: a short hello instead of the visitor's intro.
        metadata = tracker.get_slot("session_started_metadata")
        intro = "utter_intro_participant" if is_participant(metadata) else "utter_intro"
        dispatcher.utter_message(response=intro, **values)
        return [
            SessionStarted(),
            *(SlotSet(name, value) for name, value in values.items()),
            *carry_over_safety_question(tracker),
            ActionExecuted("action_listen"),
        ]


def carry_over_safety_question(tracker: Tracker) -> list[EventType]:
    """When the session that expired ended with the direct safety question unanswered, the new
    session starts with it still asked, so that a late "yes" gets the crisis reply and a flag
    (data/rules/safety.yml), and anything else gets the question again (bot/policies.py). The
    question is not sent twice: the person has it on screen. The message that prompted it goes
    into a slot for the flag (the new session's tracker no longer holds it)."""
    prompting = safety_check.pending_question(safety_check.recent(tracker.events))
    if prompting is None:
        return []
    score = (prompting.get("parse_data") or {}).get("crisis_classifier")
    carried = {"message_id": prompting.get("message_id"), "crisis_classifier": score}
    return [
        SlotSet(safety_check.CARRIED_SLOT, carried if prompting else None),
        ActionExecuted(safety_check.SAFETY_CHECK_ACTION),
    ]
