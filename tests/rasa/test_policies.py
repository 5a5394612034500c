"""The safety question policy (bot/rasa/policies.py): a RulePolicy trained on real rules."""

from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.generator import TrainingDataGenerator
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.core.training_data.structures import StoryGraph

from bot.rasa.policies import SAFETY_CHECK_ACTION, SafetyCheckRulePolicy, should_ask, worrying

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet, faq, crisis, affirm, deny]
responses:
  utter_greet: [{text: "Hi"}]
  utter_faq: [{text: "An answer"}]
  utter_crisis: [{text: "Call 988"}]
  utter_safety_check: [{text: "Are you thinking of hurting yourself?"}]
  utter_safety_check_ok: [{text: "Thank you for telling me"}]
  utter_ask_safe_now: [{text: "Are you safe right now?"}]
  utter_crisis_safe: [{text: "I'm glad you're safe"}]
  utter_crisis_not_safe: [{text: "Please call 911 now"}]
actions: [action_flag_crisis]
forms:
  checkin_form:
    required_slots: []
"""
)
RULES = """
version: "3.1"
rules:
- rule: greet
  steps:
  - intent: greet
  - action: utter_greet
- rule: faq
  steps:
  - intent: faq
  - action: utter_faq
- rule: crisis
  steps:
  - intent: crisis
  - action: utter_crisis
- rule: safe after a crisis reply
  steps:
  - action: utter_ask_safe_now
  - intent: affirm
  - action: utter_crisis_safe
- rule: not safe after a crisis reply
  steps:
  - action: utter_ask_safe_now
  - intent: deny
  - action: utter_crisis_not_safe
- rule: no to the safety question
  steps:
  - action: utter_safety_check
  - intent: deny
  - action: utter_safety_check_ok
"""
FLOOR, EVERY = 0.4, 3


def said(text: str, intent: str, score: float | None = None) -> list:
    """The listen and the user's message, with the crisis classifier's score if it scored."""
    parse = {} if score is None else {"crisis_classifier": score}
    return [
        ActionExecuted(ACTION_LISTEN_NAME),
        UserUttered(text, {"name": intent, "confidence": 0.9}, parse_data=parse),
    ]


def tracker(*events) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("visitor", [e for group in events for e in group])


def test_a_worrying_message_under_the_threshold_is_asked_about() -> None:
    asked = tracker(said("the spiders are back", "faq", 0.42), [ActionExecuted("utter_faq")])
    assert should_ask(asked, FLOOR, EVERY)


@pytest.mark.parametrize(
    ("intent", "score"),
    [("faq", 0.2), ("faq", None), ("crisis", 0.9)],
    ids=["below the floor", "not scored", "already a crisis"],
)
def test_no_question(intent: str, score: float | None) -> None:
    assert not should_ask(tracker(said("some words", intent, score)), FLOOR, EVERY)


def test_not_after_crisis_lines_in_the_same_turn() -> None:
    state = tracker(said("i od'd", "faq", 0.45), [ActionExecuted("utter_crisis")])
    assert not should_ask(state, FLOOR, EVERY)


def test_not_soon_after_crisis_lines() -> None:
    crisis = [*said("i want to die", "crisis", 0.9), ActionExecuted("utter_crisis")]
    state = tracker(crisis, said("idk honestly, whatever", "faq", 0.4))
    assert not should_ask(state, FLOOR, EVERY)


def test_not_when_the_screening_asks_about_suicide_next() -> None:
    state = tracker(said("yes i guess, nothing matters", "affirm", 0.4))
    state.update(SlotSet("requested_slot", "wish_dead"))
    assert not should_ask(state, FLOOR, EVERY)
    state.update(SlotSet("requested_slot", "age"))
    assert should_ask(state, FLOOR, EVERY)


def test_not_right_after_the_screenings_last_suicide_question() -> None:
    asked = [ActionExecuted("preassessment_form"), SlotSet("requested_slot", "behavior_recent")]
    state = tracker(asked, said("not lately, it was a bad year though", "deny", 0.44))
    state.update(SlotSet("requested_slot", "contact_name"))  # the screening has moved on
    assert not should_ask(state, FLOOR, EVERY)
    other = [ActionExecuted("preassessment_form"), SlotSet("requested_slot", "primary_substance")]
    state = tracker(other, said("not lately, it was a bad year though", "deny", 0.44))
    assert should_ask(state, FLOOR, EVERY)


def test_a_long_conversation_still_counts_its_last_messages() -> None:
    chat = [e for _ in range(300) for e in (*said("when", "faq", 0.1), ActionExecuted("utter_faq"))]
    worrying = said("whats the point", "faq", 0.4)
    assert should_ask(tracker(chat, worrying), FLOOR, EVERY)
    asked = [ActionExecuted("utter_faq"), ActionExecuted(SAFETY_CHECK_ACTION)]
    assert not should_ask(
        tracker(chat, worrying, asked, said("no", "deny"), worrying), FLOOR, EVERY
    )


def test_not_for_a_button_the_bot_offered() -> None:
    buttons = [{"title": "Nothing", "payload": "Nothing"}, {"title": "Stress", "payload": "Stress"}]
    offered = [BotUttered("Did anything trigger cravings?", {"buttons": buttons})]
    assert not should_ask(tracker(offered, said("nothing", "inform", 0.41)), FLOOR, EVERY)
    assert should_ask(tracker(offered, said("nothing matters", "inform", 0.41)), FLOOR, EVERY)


def test_at_most_once_in_three_messages() -> None:
    asked = [ActionExecuted("utter_faq"), ActionExecuted(SAFETY_CHECK_ACTION)]
    worrying = said("whats the point", "faq", 0.4)
    assert not should_ask(
        tracker(worrying, asked, said("no", "deny", 0.01), worrying), FLOOR, EVERY
    )
    later = tracker(worrying, asked, said("no", "deny"), said("ok", "affirm"), worrying)
    assert should_ask(later, FLOOR, EVERY)


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> SafetyCheckRulePolicy:
    storage = LocalModelStorage(tmp_path_factory.mktemp("policy"))
    context = ExecutionContext(GraphSchema({}), "test")
    config = {**SafetyCheckRulePolicy.get_default_config(), "safety_check_floor": FLOOR}
    trained = SafetyCheckRulePolicy.create(config, storage, Resource("rules"), context)
    steps = YAMLStoryReader(DOMAIN).read_from_string(RULES)
    trackers = TrainingDataGenerator(StoryGraph(steps), DOMAIN, augmentation_factor=0).generate()
    trained.train(trackers, DOMAIN)
    return trained


def predicted(policy: SafetyCheckRulePolicy, state: DialogueStateTracker) -> str:
    prediction = policy.predict_action_probabilities(state, DOMAIN)
    return DOMAIN.action_names_or_texts[prediction.max_confidence_index]


def test_the_reply_goes_out_first_then_the_question_then_a_wait(
    policy: SafetyCheckRulePolicy,
) -> None:
    state = tracker(said("the spiders are back, what is iop", "faq", 0.42))
    assert predicted(policy, state) == "utter_faq"  # the rules answer as usual
    state.update(ActionExecuted("utter_faq"))
    assert predicted(policy, state) == SAFETY_CHECK_ACTION  # instead of the rules' listen
    state.update(ActionExecuted(SAFETY_CHECK_ACTION))
    assert predicted(policy, state) == ACTION_LISTEN_NAME
    for event in said("no", "deny", 0.02):
        state.update(event)
    assert predicted(policy, state) == "utter_safety_check_ok"
    state.update(ActionExecuted("utter_safety_check_ok"))
    assert predicted(policy, state) == ACTION_LISTEN_NAME


def test_an_unclear_reply_gets_the_question_once_more_then_the_rules(
    policy: SafetyCheckRulePolicy,
) -> None:
    state = tracker(
        said("the spiders are back, what is iop", "faq", 0.42),
        [ActionExecuted("utter_faq"), ActionExecuted(SAFETY_CHECK_ACTION)],
        said("what do you mean, what is iop", "faq", 0.1),
    )
    assert predicted(policy, state) == SAFETY_CHECK_ACTION  # not the FAQ answer first
    state.update(ActionExecuted(SAFETY_CHECK_ACTION))
    assert predicted(policy, state) == ACTION_LISTEN_NAME
    for event in said("what is iop", "faq", 0.1):
        state.update(event)
    assert predicted(policy, state) == "utter_faq"  # asked twice: the rules answer as usual


def test_a_question_carried_into_a_new_session_takes_its_answer(
    policy: SafetyCheckRulePolicy,
) -> None:
    # actions/session_actions.py: the last session expired with the question unanswered.
    start = [ActionExecuted("action_session_start"), SessionStarted()]
    carried = [*start, ActionExecuted(SAFETY_CHECK_ACTION)]
    assert predicted(policy, tracker(carried, said("no", "deny", 0.02))) == "utter_safety_check_ok"
    # Anything else gets the question once more before it is answered.
    assert predicted(policy, tracker(carried, said("hi again", "greet", 0.05))) == (
        SAFETY_CHECK_ACTION
    )
    # Without the question carried over, a new session's messages get the rules.
    assert predicted(policy, tracker(start, said("hi again", "greet", 0.05))) == "utter_greet"


@pytest.mark.parametrize(
    ("text", "intent"),
    [("i dont know", "deny"), ("maybe", "faq"), ("I think about it sometimes", "greet")],
)
@pytest.mark.parametrize("in_form", [False, True], ids=["no form", "mid-form"])
def test_unsure_counts_as_yes_to_the_safety_question(
    policy: SafetyCheckRulePolicy, text: str, intent: str, in_form: bool
) -> None:
    state = tracker(
        said("the spiders are back", "faq", 0.42),
        [ActionExecuted("utter_faq"), ActionExecuted(SAFETY_CHECK_ACTION)],
        said(text, intent, 0.1),
    )
    if in_form:
        state.update(ActiveLoop("checkin_form"))
    steps = []
    while not steps or steps[-1] != ACTION_LISTEN_NAME:
        steps.append(predicted(policy, state))
        state.update(ActionExecuted(steps[-1]))
        if steps[-1] == "action_deactivate_loop":
            state.update(ActiveLoop(None))
        assert len(steps) < 8, steps
    ended = ["action_deactivate_loop"] if in_form else []
    assert steps == [
        "utter_crisis", "action_flag_crisis", *ended, "utter_ask_safe_now", ACTION_LISTEN_NAME
    ]  # fmt: skip


def test_asked_twice_whether_they_are_safe_without_a_clear_yes_means_not_safe(
    policy: SafetyCheckRulePolicy,
) -> None:
    crisis = [*said("i want to die", "crisis", 0.9), ActionExecuted("utter_crisis")]
    asked = [ActionExecuted("utter_ask_safe_now")]
    unclear = said("yes, I have a plan", "affirm", 0.3)  # DIET's yes; not a plain "I'm safe"
    assert predicted(policy, tracker(crisis, asked, unclear)) == "utter_ask_safe_now"
    state = tracker(crisis, asked, unclear, asked, said("ok bye", "affirm", 0.1))
    assert predicted(policy, state) == "utter_crisis_not_safe"


@pytest.mark.parametrize(
    ("text", "intent"), [("definitely not", "deny"), ("uh what", "greet"), ("a little", "faq")]
)
def test_no_or_a_question_is_not_taken_for_an_unsure_yes(
    policy: SafetyCheckRulePolicy, text: str, intent: str
) -> None:
    state = tracker(
        said("the spiders are back", "faq", 0.42),
        [ActionExecuted("utter_faq"), ActionExecuted(SAFETY_CHECK_ACTION)],
        said(text, intent, 0.1),
    )
    assert predicted(policy, state) in ("utter_safety_check_ok", SAFETY_CHECK_ACTION)


def test_a_carried_question_does_not_hold_back_a_new_one() -> None:
    # actions/session_actions.py marks the question it carries into a new session; a worrying
    # message in that session is still asked about.
    carried = [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("utter_ask_safe_now", policy="carried_over"),
    ]
    assert should_ask(tracker(carried, said("the spiders are back", "faq", 0.46)), FLOOR, EVERY)


@pytest.mark.parametrize(
    ("text", "intent", "reply"),
    [
        ("not sure", "affirm", "utter_crisis_not_safe"),  # DIET's yes is not the answer
        ("idk", "greet", "utter_crisis_not_safe"),
        ("I'm ok", "faq", "utter_crisis_safe"),
        ("yes", "affirm", "utter_crisis_safe"),
        ("ok no", "affirm", "utter_crisis_not_safe"),
        ("what is iop", "faq", "utter_ask_safe_now"),  # neither: asked once more first
        ("no, I have the pills in my hand", "crisis", "utter_crisis"),  # a crisis is a crisis
    ],
)
def test_a_reply_to_are_you_safe_is_read_as_an_answer(
    policy: SafetyCheckRulePolicy, text: str, intent: str, reply: str
) -> None:
    crisis = [*said("i want to die", "crisis", 0.9), ActionExecuted("utter_crisis")]
    state = tracker(crisis, [ActionExecuted("utter_ask_safe_now")], said(text, intent, 0.1))
    assert predicted(policy, state) == reply
    state.update(ActionExecuted(reply))
    if reply != "utter_crisis":
        assert predicted(policy, state) == ACTION_LISTEN_NAME


def test_no_question_after_a_yes_or_no_question_outside_a_form() -> None:
    offer = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
    state = tracker(said("can someone call me, everything is falling apart", "faq", 0.42))
    state.update(BotUttered("Shall we call you back?", {"buttons": offer}))
    assert not should_ask(state, FLOOR, EVERY)


def test_an_untroubling_message_gets_the_rules_alone(policy: SafetyCheckRulePolicy) -> None:
    state = tracker(said("hello", "greet", 0.03), [ActionExecuted("utter_greet")])
    assert predicted(policy, state) == ACTION_LISTEN_NAME


def test_restart_still_restarts(policy: SafetyCheckRulePolicy) -> None:
    # Rasa warns at training that RulePolicy is missing: it looks for the exact class.
    assert predicted(policy, tracker(said("/restart", "restart"))) == "action_restart"


def test_a_message_at_the_repeat_score_is_asked_about_even_soon_after_a_question() -> None:
    """A long message the classifier's long_threshold kept from escalating (0.5 to 0.6) must
    not go without both the crisis reply and the question."""
    asked = [*said("so tired of all of it", "faq", 0.42), ActionExecuted(SAFETY_CHECK_ACTION)]
    long_worrying = said("a long message " * 20, "distress", 0.55)
    state = tracker(asked, said("no", "deny"), long_worrying)
    assert not should_ask(state, FLOOR, EVERY)
    assert should_ask(state, FLOOR, EVERY, repeat_from=0.5)
    below = tracker(asked, said("no", "deny"), said("meh", "faq", 0.45))
    assert not should_ask(below, FLOOR, EVERY, repeat_from=0.5)


def test_the_shipped_config_asks_long_messages_the_classifier_kept_from_escalating() -> None:
    from bot.rasa.nlu import pipeline_entry

    policy = pipeline_entry("SafetyCheckRulePolicy", "policies")
    classifier = pipeline_entry("CrisisClassifier")
    assert policy["safety_check_repeat_from"] <= classifier["threshold"]
    assert classifier["long_threshold"] >= classifier["threshold"]


def test_a_deferred_rule_match_is_asked_about_whatever_the_score_and_however_soon() -> None:
    """A rule the matcher's long_floor kept from escalating (a paragraph of advice or a story
    with crisis words) gets the question every time, even under the floor."""
    deferred = {"category": "suicidal", "rule": "suicidal:pattern:7", "text": "end your life"}
    paragraph = [
        ActionExecuted(ACTION_LISTEN_NAME),
        UserUttered(
            "a long message " * 20,
            {"name": "distress", "confidence": 0.9},
            parse_data={"crisis_classifier": 0.2, "crisis_match_deferred": deferred},
        ),
    ]
    asked = [*said("so tired of all of it", "faq", 0.42), ActionExecuted(SAFETY_CHECK_ACTION)]
    assert should_ask(tracker(paragraph), FLOOR, EVERY)
    assert should_ask(tracker(asked, said("no", "deny"), paragraph), FLOOR, EVERY)


@pytest.mark.parametrize(
    ("parse", "expected"),
    [
        ({"intent": {"name": "faq"}, "crisis_classifier": 0.35}, True),
        ({"intent": {"name": "faq"}, "crisis_classifier": 0.34}, False),
        ({"intent": {"name": "faq"}}, False),
        (
            {"intent": {"name": "distress"}, "crisis_classifier": 0.1, "crisis_match_deferred": {}},
            True,
        ),
        ({"intent": {"name": "crisis"}, "crisis_classifier": 0.9}, False),
    ],
    ids=["at the floor", "under it", "not scored", "a deferred rule", "escalated"],
)
def test_worrying_is_what_the_benches_count_as_asked(parse: dict, expected: bool) -> None:
    assert worrying(parse, 0.35) is expected


def test_the_shipped_config_defers_long_rule_matches_only_under_the_classifier_threshold() -> None:
    from bot.rasa.nlu import pipeline_entry

    matcher = pipeline_entry("CrisisMatcher")
    classifier = pipeline_entry("CrisisClassifier")
    assert matcher["long_floor"] <= classifier["threshold"]
    assert matcher["long_chars"] >= classifier["long_chars"]
