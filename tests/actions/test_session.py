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


def test_a_participant_link_gets_the_check_in_hello(tmp_path, monkeypatch) -> None:
    from bot.db import get_sessionmaker
    from bot.db.migrate import upgrade
    from bot.participants import TOKEN_HASH_KEY, enroll, hash_token

    url = f"sqlite:///{tmp_path / 'iop.db'}"
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    with get_sessionmaker(url)() as session, session.begin():
        token = enroll(session, "Pat").token
    tracker = empty_tracker()
    tracker.slots["session_started_metadata"] = {TOKEN_HASH_KEY: hash_token(token)}
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionSessionStart().run(dispatcher, tracker, {}))
    assert dispatcher.messages[0]["response"] == "utter_intro_participant"
    tracker.slots["session_started_metadata"] = {TOKEN_HASH_KEY: hash_token("not-a-token")}
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionSessionStart().run(dispatcher, tracker, {}))
    assert dispatcher.messages[0]["response"] == "utter_intro"
    get_settings.cache_clear()
