"""Both forms' validation actions with real rasa_sdk Trackers, as Rasa calls them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.assessment_form import ValidatePreassessmentForm
from actions.forms import CRISIS_MATCH_KEY, read_message
from bot.domain.preassessment import QUESTIONS
from bot.rasa.nlu.crisis_matcher import MATCH_KEY
from bot.settings import REPO_ROOT
from tests.conftest import run_async

DOMAIN = yaml.safe_load(Path(REPO_ROOT / "domain.yml").read_text(encoding="utf-8"))


def message(text: str, intent: str = "inform", confidence: float = 0.9) -> dict:
    return {"text": text, "intent": {"name": intent, "confidence": confidence}}


@pytest.mark.parametrize(
    ("slot", "msg", "kind"),
    [
        ("age", message("I'm 34"), "answer"),
        ("age", message("why do you need this?", "ask_why"), "why"),
        ("age", message("why"), "why"),
        ("age", message("stop", "stop"), "stop"),
        ("age", message("that's enough", "stop", 0.84), "stop"),
        ("age", message("old enough", "stop", 0.65), "invalid"),
        ("age", message("delete my data", "request_data_deletion"), "stop"),
        ("age", message("how long is the program?", "faq"), "interruption"),
        ("age", message("i want to end my life", "crisis", 1.0), "interruption"),
        ("age", message("banana"), "invalid"),
        ("age", message("weather today", "out_of_scope"), "invalid"),
        # A readable answer wins over a misread intent: "twice a week" is not an FAQ here.
        ("can_attend", message("twice a week", "faq", 0.95), "answer"),
        ("consent", message("yes", "affirm"), "answer"),
        # Digits are a bad answer, never an FAQ question, however DIET reads them.
        ("age", message("12 12", "faq", 0.99), "invalid"),
        ("contact_method", message("555-12", "faq", 0.99), "invalid"),
        ("contact_method", message("how much does it cost", "faq", 0.9), "interruption"),
        # Open questions take any text, unless it is clearly a question for the FAQ.
        ("insurance", message("Blue Cross", "faq", 0.9), "answer"),
        ("insurance", message("do you take medicaid?", "faq", 0.9), "interruption"),
        # Crisis language is never read as an answer, even to a yes/no question.
        ("wish_dead", message("yes i want to kill myself", "crisis", 1.0), "interruption"),
    ],
)
def test_read_message(slot: str, msg: dict, kind: str) -> None:
    assert read_message(QUESTIONS[slot], msg).kind == kind


@pytest.mark.parametrize(
    ("slot", "text", "kind"),
    [
        # DIET alone calling a short, readable answer a crisis: it is the answer.
        ("substances", "Cannabis", "answer"),
        ("substances", "xanax and pills", "answer"),
        ("impact", "5", "answer"),
        # Longer, unreadable, or an open answer: the crisis wins, the form ends.
        ("substances", "i took all my pills and cant wake up", "interruption"),
        ("substances", "goodbye everyone", "interruption"),
        ("insurance", "none left", "interruption"),
        ("impact", "purple", "interruption"),
    ],
)
def test_a_crisis_from_diet_alone_on_a_plain_answer(slot: str, text: str, kind: str) -> None:
    assert read_message(QUESTIONS[slot], message(text, "crisis", 0.7)).kind == kind


def test_a_crisis_rule_match_always_interrupts() -> None:
    said = {**message("Cannabis", "crisis", 1.0), CRISIS_MATCH_KEY: {"category": "overdose"}}
    assert read_message(QUESTIONS["substances"], said).kind == "interruption"
    assert CRISIS_MATCH_KEY == MATCH_KEY  # the key the spaCy layer writes


def test_a_sure_restart_wins_over_an_open_answer() -> None:
    restarts = frozenset({"start_assessment"})
    said = message("can we start over", "start_assessment", 0.95)
    assert read_message(QUESTIONS["insurance"], said, restarts=restarts).kind == "interruption"
    unsure = message("start over", "start_assessment", 0.5)
    assert read_message(QUESTIONS["insurance"], unsure, restarts=restarts).kind == "answer"


def form_tracker(requested: str | None, slots: dict, text: str, intent: str = "inform") -> Tracker:
    """The temporary tracker Rasa sends to the validation action right after a user message."""
    events = [
        {"event": "action", "name": "preassessment_form"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}},
        {"event": "slot", "name": "requested_slot", "value": requested},
        {"event": "action", "name": "preassessment_form"},
    ]
    return Tracker(
        sender_id="visitor",
        slots={**slots, "requested_slot": requested},
        latest_message=message(text, intent),
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": "preassessment_form"},
        latest_action_name="preassessment_form",
    )


def validate(tracker: Tracker) -> tuple[dict, list[str]]:
    dispatcher = CollectingDispatcher()
    events = run_async(ValidatePreassessmentForm().run(dispatcher, tracker, DOMAIN))
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}, [
        m.get("text") for m in dispatcher.messages
    ]


def test_an_answer_fills_its_slot_and_the_next_question_is_requested() -> None:
    slots, said = validate(form_tracker("consent", {}, "yeah sure", "affirm"))
    assert slots == {"consent": True, "requested_slot": "wish_dead"}
    assert said == []


SAFE = {"consent": True, "wish_dead": False, "suicidal_thoughts": False, "suicidal_behavior": False}


def test_an_invalid_answer_is_reasked_with_a_specific_message_and_not_stored() -> None:
    slots, said = validate(form_tracker("age", SAFE, "old enough"))
    assert slots == {"age": None, "requested_slot": "age"}
    assert said and "age in years" in said[0]


def test_why_gets_the_reason_then_the_same_question() -> None:
    slots, said = validate(form_tracker("age", SAFE, "why do you ask?", "ask_why"))
    assert slots["requested_slot"] == "age" and slots["age"] is None
    assert said == [QUESTIONS["age"].why]


def test_stop_asks_for_confirmation_and_no_resumes_the_question() -> None:
    slots, _ = validate(form_tracker("age", {"consent": True}, "stop", "stop"))
    assert slots == {"stop_requested": True, "requested_slot": "confirm_stop"}
    state = {"consent": True, "stop_requested": True}
    slots, _ = validate(form_tracker("confirm_stop", state, "no", "deny"))
    assert slots["requested_slot"] == "wish_dead"
    assert slots["stop_requested"] is None and slots["confirm_stop"] is None


def test_stop_confirmed_ends_the_form() -> None:
    state = {"consent": True, "stop_requested": True}
    slots, _ = validate(form_tracker("confirm_stop", state, "yes", "affirm"))
    assert slots == {"confirm_stop": True, "requested_slot": None}


def test_an_faq_question_is_left_to_the_rules() -> None:
    slots, said = validate(form_tracker("age", {"consent": True}, "what is iop?", "faq"))
    # No slot event for the question: Rasa's form rejects and the FAQ rule answers.
    assert "age" not in slots and said == []


def test_an_urgent_safety_answer_ends_the_form() -> None:
    state = {"consent": True, "wish_dead": True, "suicidal_thoughts": True, "suicide_method": True}
    slots, _ = validate(form_tracker("suicide_intent", state, "yes", "affirm"))
    assert slots == {"suicide_intent": True, "requested_slot": None}


def test_resuming_after_a_rule_reads_nothing_from_the_old_message() -> None:
    tracker = form_tracker("age", {"consent": True}, "how long is it?", "faq")
    tracker.events.insert(-1, {"event": "action", "name": "utter_faq"})
    slots, said = validate(tracker)
    assert "age" not in slots and said == []


def after_safety_check(tracker: Tracker) -> Tracker:
    """The same tracker with the safety question (bot/rasa/policies.py) asked after the form's."""
    tracker.events.insert(1, {"event": "action", "name": "utter_safety_check"})
    return tracker


@pytest.mark.parametrize(("text", "intent"), [("yes", "affirm"), ("no", "deny")])
def test_a_yes_or_no_to_the_safety_question_is_not_read_as_the_answer(
    text: str, intent: str
) -> None:
    # "consent" is a yes/no question too: the rules take this yes or no instead.
    slots, said = validate(after_safety_check(form_tracker("consent", {}, text, intent)))
    assert "consent" not in slots and said == []


def test_an_answer_after_the_safety_question_is_read_as_usual() -> None:
    slots, _ = validate(after_safety_check(form_tracker("age", {"consent": True}, "34")))
    assert slots["age"] == 34
