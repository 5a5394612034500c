"""Real Rasa conversations written to the tracker store with Rasa's own classes (no model)."""

from __future__ import annotations

import time

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.apps.staff.transcript_views import run_coroutine
from bot.rasa.tracker_store import SettingsSQLTrackerStore

CRISIS_TEXT = "i don't want to be alive anymore"
CRISIS_MESSAGE_ID = "msg-crisis-0001"


def _user(text: str, intent: str, message_id: str, at: float) -> UserUttered:
    return UserUttered(
        text,
        {"name": intent, "confidence": 0.97},
        parse_data={"intent": {"name": intent, "confidence": 0.97}, "text": text},
        message_id=message_id,
        timestamp=at,
    )


def seed_crisis_conversation(conversation_id: str) -> str:
    """Save a visitor's conversation ending in crisis language; returns the flagged message id."""
    start = time.time() - 600
    events = [
        ActionExecuted("action_session_start", timestamp=start),
        ActionExecuted("action_listen", timestamp=start + 1),
        _user("hi", "greet", "msg-0001", start + 10),
        BotUttered(
            "Hi, I'm the clinic's automated assistant. What would you like to know?",
            data={
                "buttons": [
                    {"title": "What is IOP?", "payload": "/faq"},
                    {"title": "Take the screening", "payload": "/start_assessment"},
                ]
            },
            timestamp=start + 11,
        ),
        ActionExecuted("action_listen", timestamp=start + 12),
        _user("/start_assessment", "start_assessment", "msg-0002", start + 30),
        SlotSet("requested_slot", "consent", timestamp=start + 31),
        BotUttered("Before we start: this is a screening, not a diagnosis.", timestamp=start + 31),
        ActionExecuted("action_listen", timestamp=start + 32),
        _user(CRISIS_TEXT, "crisis", CRISIS_MESSAGE_ID, start + 60),
        BotUttered(
            "I'm really glad you told me. Call or text 988 now, or 911 if you are in danger.",
            timestamp=start + 61,
        ),
        ActionExecuted("action_listen", timestamp=start + 62),
    ]
    tracker = DialogueStateTracker.from_events(conversation_id, events)
    run_coroutine(SettingsSQLTrackerStore(domain=Domain.empty()).save(tracker))
    return CRISIS_MESSAGE_ID
