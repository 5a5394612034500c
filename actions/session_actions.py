"""Conversation start: fill the clinic-detail slots and say who (and what) the assistant is."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.db import get_sessionmaker
from bot.db.participants import participant_for_message
from bot.domain import safety_check
from bot.domain.safety_check import SAFETY_CHECK_ACTION
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
        carried = carry_over_safety_question(tracker)
        if not carried:  # with a question still open the person is mid-conversation: no hello
            metadata = tracker.get_slot("session_started_metadata")
            intro = "utter_intro_participant" if is_participant(metadata) else "utter_intro"
            dispatcher.utter_message(response=intro, **values)
        return [
            SessionStarted(),
            *(SlotSet(name, value) for name, value in values.items()),
            *carried,
            ActionExecuted("action_listen"),
        ]


def carry_over_safety_question(tracker: Tracker) -> list[EventType]:
    """When the session that expired ended with a question about the person's safety still
    unanswered (the direct safety question, or "Are you safe right now?" after the crisis
    lines), the new session starts with it still asked, so that a late answer gets what it
    would have got (data/rules/safety.yml): a yes to the safety question the crisis reply and a
    flag, a no to "are you safe" the emergency numbers; anything else after the safety question
    gets it again (bot/rasa/policies.py). The question is not sent twice (the person has it on
    screen), nor is the introduction. For the flag, the message that prompted the safety
    question goes into a slot (the new session's tracker no longer holds it; a question carried
    over twice keeps the slot's value)."""
    events = safety_check.recent(tracker.events)
    waiting = safety_check.waiting_question(events)
    if waiting is None:
        return []
    carried: list[EventType] = []
    prompting = safety_check.pending_question(events) if waiting == SAFETY_CHECK_ACTION else None
    message = tracker.get_slot(safety_check.CARRIED_SLOT)  # carried once already
    if prompting:
        score = (prompting.get("parse_data") or {}).get("crisis_classifier")
        message = {"message_id": prompting.get("message_id"), "crisis_classifier": score}
    if prompting is not None and message:
        carried.append(SlotSet(safety_check.CARRIED_SLOT, message))
    # Marked, so that it does not count as a question asked in this session (bot/rasa/policies.py).
    return [*carried, ActionExecuted(waiting, policy=safety_check.CARRIED_POLICY)]
