"""action_session_start: clinic slots and the introduction, with a real Tracker."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.session_actions import ActionSessionStart
from bot.settings import get_settings
from tests.conftest import run_async


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
    events = run_async(ActionSessionStart().run(dispatcher, empty_tracker(), {}))
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
    from bot.db.participants import TOKEN_HASH_KEY, enroll, hash_token

    url = f"sqlite:///{tmp_path / 'iop.db'}"
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    with get_sessionmaker(url)() as session, session.begin():
        token = enroll(session, "Pat").token
    tracker = empty_tracker()
    tracker.slots["session_started_metadata"] = {TOKEN_HASH_KEY: hash_token(token)}
    dispatcher = CollectingDispatcher()
    run_async(ActionSessionStart().run(dispatcher, tracker, {}))
    assert dispatcher.messages[0]["response"] == "utter_intro_participant"
    tracker.slots["session_started_metadata"] = {TOKEN_HASH_KEY: hash_token("not-a-token")}
    dispatcher = CollectingDispatcher()
    run_async(ActionSessionStart().run(dispatcher, tracker, {}))
    assert dispatcher.messages[0]["response"] == "utter_intro"
    get_settings.cache_clear()


def old_session(*tail: dict) -> Tracker:
    """The tracker Rasa hands to action_session_start when a session has expired."""
    worrying = {"text": "i gave my dog away", "crisis_classifier": 0.46}
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": worrying["text"], "parse_data": worrying, "message_id": "m-1"},
        {"event": "action", "name": "utter_out_of_scope"},
        {"event": "bot", "text": "I can help with questions about the program."},
        {"event": "action", "name": "utter_safety_check"},
        {"event": "bot", "text": "Are you having thoughts of ending your life?"},
        {"event": "action", "name": "action_listen"},
        *tail,
    ]
    tracker = empty_tracker()
    tracker.events = events
    return tracker


def test_an_unanswered_safety_question_is_carried_into_the_new_session() -> None:
    dispatcher = CollectingDispatcher()
    events = run_async(ActionSessionStart().run(dispatcher, old_session(), {}))
    assert events[0]["event"] == "session_started"
    assert [(e["event"], e.get("name")) for e in events[-2:]] == [
        ("action", "utter_safety_check"),
        ("action", "action_listen"),
    ]
    carried = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert carried["safety_check_message"] == {"message_id": "m-1", "crisis_classifier": 0.46}
    # Not sent again: the person still has it on screen; no introduction mid-conversation.
    assert dispatcher.messages == []
    assert events[-2]["policy"] == "carried_over"  # not a question asked in this session


def test_a_question_carried_over_twice_keeps_the_worrying_message() -> None:
    # Carried into this session, answered unclearly, asked again, and the session expired again.
    tracker = empty_tracker()
    tracker.slots["safety_check_message"] = {"message_id": "m-1", "crisis_classifier": 0.46}
    tracker.events = [
        {"event": "action", "name": "action_session_start"},
        {"event": "session_started"},
        {"event": "action", "name": "utter_safety_check", "policy": "carried_over"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "what do you mean", "message_id": "m-5"},
        {"event": "action", "name": "utter_safety_check"},
        {"event": "action", "name": "action_listen"},
    ]
    events = run_async(ActionSessionStart().run(CollectingDispatcher(), tracker, {}))
    carried = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert carried["safety_check_message"] == {"message_id": "m-1", "crisis_classifier": 0.46}


def test_an_answered_safety_question_is_not_carried_over() -> None:
    answered = old_session(
        {"event": "user", "text": "no", "message_id": "m-2"},
        {"event": "action", "name": "utter_safety_check_ok"},
        {"event": "action", "name": "action_listen"},
    )
    events = run_async(ActionSessionStart().run(CollectingDispatcher(), answered, {}))
    assert "utter_safety_check" not in [e.get("name") for e in events]
    assert "safety_check_message" not in [e.get("name") for e in events]


def test_an_unanswered_are_you_safe_is_carried_over_without_a_slot() -> None:
    after_crisis = old_session(
        {"event": "user", "text": "yes", "message_id": "m-2"},
        {"event": "action", "name": "utter_crisis"},
        {"event": "action", "name": "action_flag_crisis"},
        {"event": "action", "name": "utter_ask_safe_now"},
        {"event": "bot", "text": "Are you safe right now?"},
        {"event": "action", "name": "action_listen"},
    )
    events = run_async(ActionSessionStart().run(CollectingDispatcher(), after_crisis, {}))
    assert [e.get("name") for e in events[-2:]] == ["utter_ask_safe_now", "action_listen"]
    assert "safety_check_message" not in [e.get("name") for e in events]
