"""The shared base of our actions: failures end in a calm reply, never in a stack trace to Rasa."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.domain import safety_check
from bot.domain.calm_replies import something_went_wrong
from bot.domain.form_answers import is_only_unsure

logger = logging.getLogger(__name__)


def answers_safety_check(tracker: Tracker) -> bool:
    """The latest message is a yes or no to the safety question (bot/rasa/policies.py), not a button
    of the question before it; the rules take it, and a form does not read it as its answer."""
    message = tracker.latest_message or {}
    intent = (message.get("intent") or {}).get("name")
    if intent not in ("affirm", "deny") and not is_only_unsure(message.get("text")):
        return False  # "maybe", "I don't know" count as yes (bot/rasa/policies.py)
    events = safety_check.recent(tracker.events)
    return safety_check.asked_just_before(events) and not safety_check.picks_earlier_button(events)


class IopAction(Action, ABC):
    """Abstract, so rasa_sdk does not register it as an action of its own."""

    @abstractmethod
    def name(self) -> str:
        """The action's name in the domain."""

    @abstractmethod
    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """The action's work; exceptions are handled by `run`."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Run `act`; on any error log the error type (no conversation text) and apologise."""
        try:
            return await self.act(dispatcher, tracker, domain)
        except Exception as exc:
            # The action server would answer 500 and echo the conversation (SPEC §6).
            logger.error("action %s failed: %s", self.name(), type(exc).__name__)
            dispatcher.utter_message(text=something_went_wrong())
            return []
