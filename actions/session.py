"""Conversation start: fill the clinic-detail slots and say who (and what) the assistant is."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.settings import get_settings


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
        dispatcher.utter_message(response="utter_intro", **values)
        return [
            SessionStarted(),
            *(SlotSet(name, value) for name, value in values.items()),
            ActionExecuted("action_listen"),
        ]
