"""action_session_start: clinic slots and the introduction, with a real Tracker."""

from __future__ import annotations

import asyncio

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.session import ActionSessionStart
from bot.settings import get_settings


def empty_tracker() -> Tracker:
    return Tracker(
        sender_id="visitor",
        slots={},
        latest_message={},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )


def test_session_start_sets_clinic_slots_and_introduces_itself() -> None:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionSessionStart().run(dispatcher, empty_tracker(), {}))
    values = get_settings().clinic.response_values()

    assert events[0]["event"] == "session_started"
    assert (events[-1]["event"], events[-1]["name"]) == ("action", "action_listen")
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots == values
    assert len(dispatcher.messages) == 1
    intro = dispatcher.messages[0]
    assert intro["response"] == "utter_intro"
    assert intro["clinic_name"] == values["clinic_name"]
    assert intro["crisis_lifeline"] == "988"
