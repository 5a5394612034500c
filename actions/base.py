"""The shared base of our actions: failures end in a calm reply, never in a stack trace to Rasa."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.replies import something_went_wrong

logger = logging.getLogger(__name__)

# Asked by bot/policies.py after the reply to a worrying message under the crisis threshold.
SAFETY_CHECK_ACTION = "utter_safety_check"


def user_message_indexes(tracker: Tracker) -> list[int]:
    """Where the user's messages are in `tracker.events`."""
    return [i for i, event in enumerate(tracker.events) if event.get("event") == "user"]


def asked_before_latest_message(tracker: Tracker) -> str | None:
    """The bot's last action before the user's latest message (not counting the listen)."""
    users = user_message_indexes(tracker)
    if not users:
        return None
    start = users[-2] + 1 if len(users) >= 2 else 0
    names = [
        event.get("name")
        for event in tracker.events[start : users[-1]]
        if event.get("event") == "action" and event.get("name") != "action_listen"
    ]
    return names[-1] if names else None


def answers_safety_check(tracker: Tracker) -> bool:
    """The latest message is a yes or no to the safety question; the rules take it."""
    intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
    return intent in ("affirm", "deny") and asked_before_latest_message(tracker) == (
        SAFETY_CHECK_ACTION
    )


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
