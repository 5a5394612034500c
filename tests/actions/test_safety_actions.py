"""Safety actions with real Trackers and a real database."""

from __future__ import annotations

import logging

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.base import IopAction
from actions.safety_actions import (
    ActionFlagCrisis,
    ActionRequestHuman,
    crisis_flag_reason,
    prompting_detail,
)
from bot.db import get_sessionmaker
from bot.db.models import Flag
from bot.settings import get_settings
from tests.conftest import run_async


def tracker(message: dict, sender: str = "visitor-1") -> Tracker:
    return Tracker(
        sender_id=sender,
        slots={},
        latest_message=message,
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def run(action, message: dict, sender: str = "visitor-1") -> tuple[list, CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    events = run_async(action.run(dispatcher, tracker(message, sender), {}))
    return events, dispatcher


def flags(url: str) -> list[Flag]:
    with get_sessionmaker(url)() as session:
        return list(session.execute(select(Flag).order_by(Flag.id)).scalars())


RULE_MESSAGE = {
    "text": "i want to kill myself",
    "message_id": "m-1",
    "intent": {"name": "crisis", "confidence": 1.0},
    "crisis_match": {"category": "suicidal", "rule": "suicidal:pattern:0", "text": "kill myself"},
}


def test_crisis_flag_once_per_message_even_if_retried(db_url: str) -> None:
    run(ActionFlagCrisis(), RULE_MESSAGE)
    run(ActionFlagCrisis(), RULE_MESSAGE)  # Rasa retried the action
    run(ActionFlagCrisis(), {**RULE_MESSAGE, "message_id": "m-2"})
    stored = flags(db_url)
    assert [(f.kind, f.severity, f.message_id) for f in stored] == [
        ("crisis", "urgent", "m-1"),
        ("crisis", "urgent", "m-2"),
    ]
    assert stored[0].reason == "Crisis language (suicidal rule)"
    assert "kill" not in stored[0].reason


def test_yes_to_the_safety_question_flags_the_message_that_prompted_it(db_url: str) -> None:
    worrying = {
        "text": "the spiders are back",
        "intent": {"name": "out_of_scope", "confidence": 0.7},
        "crisis_classifier": 0.42,
    }
    yes = {"text": "yes", "message_id": "m-2", "intent": {"name": "affirm", "confidence": 0.99}}
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": worrying["text"], "parse_data": worrying, "message_id": "m-1"},
        {"event": "action", "name": "utter_out_of_scope"},
        {"event": "action", "name": "utter_safety_check"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "yes", "parse_data": yes, "message_id": "m-2"},
    ]
    state = Tracker("visitor-1", {}, yes, events, False, None, {}, "action_listen")
    run_async(ActionFlagCrisis().run(CollectingDispatcher(), state, {}))
    stored = flags(db_url)
    assert [(f.kind, f.severity, f.message_id) for f in stored] == [("crisis", "urgent", "m-1")]
    assert stored[0].reason == (
        "Said yes when asked directly about safety (crisis classifier, score 0.42)"
    )
    # A yes to any other question is flagged as itself (a crisis rule must have matched it).
    events[3] = {"event": "action", "name": "utter_anything_else"}
    state = Tracker("visitor-1", {}, yes, events, False, None, {}, "action_listen")
    run_async(ActionFlagCrisis().run(CollectingDispatcher(), state, {}))
    assert [f.message_id for f in flags(db_url)] == ["m-1", "m-2"]


def test_the_reason_after_a_yes_names_a_deferred_rule_never_its_words() -> None:
    deferred = {"category": "suicidal", "rule": "suicidal:pattern:7", "text": "end your life"}
    prompted = {"crisis_classifier": 0.2468, "crisis_match_deferred": deferred}
    assert prompting_detail(prompted) == (
        " (suicidal rule in a long message; crisis classifier, score 0.25)"
    )
    assert "end your life" not in prompting_detail(prompted)
    assert prompting_detail({}) == ""


def test_crisis_reason_from_the_classifier() -> None:
    message = {"intent": {"name": "crisis", "confidence": 0.912}}
    assert crisis_flag_reason(message) == "Crisis language (classifier, confidence 0.91)"
    message["crisis_classifier"] = 0.8765
    assert crisis_flag_reason(message) == "Crisis language (crisis classifier, score 0.88)"


def test_crisis_flag_storage_failure_is_logged_not_raised(
    tmp_path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'never-migrated.db'}")
    get_settings.cache_clear()
    try:
        with caplog.at_level(logging.CRITICAL):
            events, dispatcher = run(ActionFlagCrisis(), RULE_MESSAGE)
    finally:
        get_settings.cache_clear()
    assert events == [] and dispatcher.messages == []
    assert "crisis flag NOT stored" in caplog.text
    assert "kill" not in caplog.text


def test_request_human_sets_office_open_and_flags(db_url: str) -> None:
    events, _ = run(ActionRequestHuman(), {"text": "a person please", "message_id": "m-9"})
    assert events == [
        {
            "event": "slot",
            "timestamp": None,
            "name": "office_open",
            "value": get_settings().clinic.is_open(),
        }
    ]
    assert [(f.kind, f.severity, f.message_id) for f in flags(db_url)] == [
        ("human_request", "normal", "m-9")
    ]


def test_a_failing_action_apologises_and_logs_no_text(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(IopAction):
        def name(self) -> str:
            return "action_broken"

        async def act(self, dispatcher, tracker, domain):  # noqa: ANN001
            raise RuntimeError("secret user words")

    with caplog.at_level(logging.ERROR):
        events, dispatcher = run(Broken(), {"text": "secret user words"})
    assert events == []
    assert "something went wrong" in dispatcher.messages[0]["text"]
    assert "RuntimeError" in caplog.text and "secret" not in caplog.text


def test_the_base_class_is_not_an_action_of_its_own() -> None:
    import inspect

    assert inspect.isabstract(IopAction)


def test_a_late_yes_in_a_new_session_flags_the_message_carried_over(db_url: str) -> None:
    # actions/session_actions.py started the new session with the question still asked and the
    # worrying message's id in a slot; the old session's events are no longer in the tracker.
    yes = {"text": "yes", "message_id": "m-9", "intent": {"name": "affirm", "confidence": 0.99}}
    events = [
        {"event": "action", "name": "action_session_start"},
        {"event": "session_started"},
        {"event": "slot", "name": "safety_check_message", "value": {"message_id": "m-1"}},
        {"event": "action", "name": "utter_safety_check"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "yes", "parse_data": yes, "message_id": "m-9"},
    ]
    carried = {"safety_check_message": {"message_id": "m-1", "crisis_classifier": 0.47}}
    state = Tracker("visitor-1", carried, yes, events, False, None, {}, "action_listen")
    run_async(ActionFlagCrisis().run(CollectingDispatcher(), state, {}))
    # Without the slot (the message was not known), the flag points at the yes itself.
    state = Tracker("visitor-2", {}, yes, events, False, None, {}, "action_listen")
    run_async(ActionFlagCrisis().run(CollectingDispatcher(), state, {}))
    stored = flags(db_url)
    assert [(f.conversation_id, f.severity, f.message_id) for f in stored] == [
        ("visitor-1", "urgent", "m-1"),
        ("visitor-2", "urgent", "m-9"),
    ]
    assert stored[0].reason == (
        "Said yes when asked directly about safety (crisis classifier, score 0.47)"
    )
    assert stored[1].reason == "Said yes when asked directly about safety"


def test_crisis_language_after_the_safety_question_is_flagged_as_itself(db_url: str) -> None:
    worrying = {"text": "the spiders are back", "crisis_classifier": 0.45}
    crisis = {
        "text": "idk, i have the pills here",
        "message_id": "m-2",
        "intent": {"name": "crisis", "confidence": 1.0},
        "crisis_classifier": 0.91,
    }
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": worrying["text"], "parse_data": worrying, "message_id": "m-1"},
        {"event": "action", "name": "utter_safety_check"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": crisis["text"], "parse_data": crisis, "message_id": "m-2"},
    ]
    state = Tracker("visitor-1", {}, crisis, events, False, None, {}, "action_listen")
    run_async(ActionFlagCrisis().run(CollectingDispatcher(), state, {}))
    [flag] = flags(db_url)
    assert flag.message_id == "m-2"
    assert flag.reason == "Crisis language (crisis classifier, score 0.91)"
