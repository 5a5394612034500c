"""Rasa's RulePolicy plus safety steps: ask plainly about a worrying message under the threshold.

The crisis classifier (bot/rasa/nlu/crisis_classifier.py) escalates at its threshold; below it, a
message is answered as what DIET took it for. A message that scores just under the threshold is
where the remaining misses are ("the spiders are back", a goodbye, a plan with a time and a
place), and also where hard look-alikes sit ("my boss is going to kill me", a heavy but safe
check-in). Crisis-line practice for that middle ground is to ask plainly. So when the latest
message scored at least `safety_check_floor` but did not escalate, this policy lets the normal
reply go out first and then, where the rules would wait for the user, asks instead:
`utter_safety_check` ("are you thinking about ending your life or hurting yourself, or is someone
in danger?", with yes and no buttons). The rules (data/rules/safety.yml) take the answer: yes
gets the crisis reply and an urgent flag on the worrying message, as a crisis message would; no
gets a short thank-you, and a form picks up its question again. Where DIET's intent would misread
an answer about safety, this policy reads it instead: an unsure reply to the question ("I don't
know", "maybe") counts as yes and gets the same reply step by step, and a reply to the crisis
reply's "Are you safe right now?" is read by bot.domain.form_answers.parse_safe_now ("not sure"
is not safe; an unclear reply gets that question once more).

The question carries no crisis numbers and opens no flag: a look-alike is not escalated, and a
crisis caught this way still counts as missed at the first turn (bench/safety.py reports both).
It is asked at most once in `safety_check_every` user messages, not within as many messages of a
crisis reply, never for a message already treated as a crisis or for a button the bot offered
("Nothing" among the check-in's triggers), and not when the pre-assessment's next question is one
of its own suicide screening questions or the message answers one of them.

It is a subclass rather than a separate policy because only the rules know when a reply has ended
(they predict `action_listen`); a policy beside them cannot tell the end of a reply from its middle.
"""

from __future__ import annotations

from typing import Any

from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME, REQUESTED_SLOT
from rasa.shared.core.domain import Domain
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot.domain import safety_check
from bot.domain.form_answers import Invalid, is_only_unsure, parse_safe_now
from bot.domain.preassessment import SAFETY_SLOTS
from bot.domain.safety_check import SAFETY_CHECK_ACTION
from bot.rasa.nlu.crisis_matcher import CLASSIFIER_SCORE_KEY, CRISIS_INTENT, DEFERRED_KEY

# Bot actions after which the person has just been given the crisis lines or asked about safety.
SAFE_NOW_QUESTION = "utter_ask_safe_now"
SAFETY_REPLIES = frozenset({SAFETY_CHECK_ACTION, "utter_crisis", SAFE_NOW_QUESTION})
# The reply to a yes to the safety question (data/rules/safety.yml), a form ended after the flag.
YES_REPLY = ("utter_crisis", "action_flag_crisis", SAFE_NOW_QUESTION)
DEACTIVATE = "action_deactivate_loop"
# The replies to "Are you safe right now?": safe, not safe.
SAFE_NOW_REPLIES = {True: "utter_crisis_safe", False: "utter_crisis_not_safe"}
# After these the bot waits for the person (every rule that has them ends there).
WAIT_AFTER = frozenset({SAFETY_CHECK_ACTION, SAFE_NOW_QUESTION, *SAFE_NOW_REPLIES.values()})


def configured_floor() -> float:
    """config.yml's `safety_check_floor` (for the benches, which parse without the policies)."""
    from bot.rasa.nlu import pipeline_entry

    entry = pipeline_entry(SafetyCheckRulePolicy.__name__, "policies")
    return float(
        entry.get(
            "safety_check_floor", SafetyCheckRulePolicy.get_default_config()["safety_check_floor"]
        )
    )


def recent_events(tracker: DialogueStateTracker, every: int) -> list[dict[str, Any]]:
    """The standing events of the last few user messages, as dicts (bot/domain/safety_check.py):
    enough for the readings and for the last `every` messages, not the whole conversation every
    turn."""
    events = list(tracker.events)
    turns = max(safety_check.TURNS_READ, every)
    start = safety_check.start_of_recent(events, turns, kind=lambda event: event.type_name)
    return safety_check.applied([event.as_dict() for event in events[start:]])


Events = list[dict[str, Any]]


def worrying(parse_data: dict[str, Any], floor: float) -> bool:
    """Whether a parsed message that did not escalate calls for the safety question by its own
    words: the crisis classifier scored it at `floor` or more, or a crisis rule matched in a long
    message that the classifier's low score kept from escalating (the crisis matcher's
    `long_floor`). Pure; the benches count the question with it."""
    if (parse_data.get("intent") or {}).get("name") == CRISIS_INTENT:
        return False
    if parse_data.get(DEFERRED_KEY) is not None:
        return True
    score = parse_data.get(CLASSIFIER_SCORE_KEY)
    return score is not None and float(score) >= floor


def should_ask(
    tracker: DialogueStateTracker,
    floor: float,
    every: int,
    events: Events | None = None,
    repeat_from: float | None = None,
) -> bool:
    """Whether the latest user message calls for the safety question (pure; unit-tested);
    `events`: `recent_events(tracker, every)` when the caller has them already. A message
    scored at `repeat_from` or more (a long message the crisis classifier's long_threshold kept
    from escalating), or with a crisis rule match the matcher's long_floor kept from escalating,
    is asked about even soon after an earlier question."""
    latest = tracker.latest_message
    if latest is None or not worrying(latest.parse_data, floor):  # type: ignore[attr-defined]
        return False
    if tracker.get_slot(REQUESTED_SLOT) in SAFETY_SLOTS:
        return False  # the pre-assessment is about to ask its own suicide screening question
    events = recent_events(tracker, every) if events is None else events
    if safety_check.requested_before_latest(events) in SAFETY_SLOTS:
        return False  # the message answers one of those questions (the last one, say)
    if safety_check.picks_offered_button(events):
        return False  # "Nothing" from the check-in's trigger buttons is our word, not theirs
    if not tracker.active_loop_name and safety_check.ends_with_yes_no_question(events):
        return False  # "shall we call you back?" is waiting for its own yes or no
    score = float(latest.parse_data.get(CLASSIFIER_SCORE_KEY) or 0.0)  # type: ignore[attr-defined]
    if DEFERRED_KEY in latest.parse_data or (repeat_from is not None and score >= repeat_from):
        return True
    users = 0
    for event in reversed(events):
        if event.get("event") == "user":
            users += 1
            if users >= every:
                break
        elif (
            event.get("event") == "action"
            and event.get("name") in SAFETY_REPLIES
            and event.get("policy") != safety_check.CARRIED_POLICY  # asked last session
        ):
            return False  # asked, or given the crisis lines, within the last `every` messages
    return True


def unclear_answer(tracker: DialogueStateTracker, events: Events) -> bool:
    """The latest message follows the safety question but is neither yes, no nor a crisis, nor a
    button of the question before it, and the question has not been asked twice already."""
    intent = (tracker.latest_message.intent or {}).get("name") if tracker.latest_message else None
    if intent in ("affirm", "deny", CRISIS_INTENT):
        return False
    return (
        safety_check.asked_just_before(events)
        and not safety_check.asked_again_just_before(events)
        and not safety_check.picks_earlier_button(events)
    )


def unsure_yes_next(tracker: DialogueStateTracker, events: Events) -> str | None:
    """The next step of the reply to a yes (data/rules/safety.yml: crisis lines, flag, a form
    ended, "are you safe?") when the reply to the safety question counts as yes but DIET did not
    call it one ("I don't know": deny; "maybe", "kind of": an FAQ or the fallback); else None."""
    latest = tracker.latest_message
    intent = (latest.intent or {}).get("name") if latest else None
    if latest is None or intent in ("affirm", CRISIS_INTENT):
        return None  # the rules' own yes and crisis replies
    if (
        not safety_check.asked_just_before(events)
        or safety_check.picks_earlier_button(events)
        or not is_only_unsure(latest.text or "")
    ):
        return None
    done = [name for name in safety_check.actions_since_latest(events) if name != DEACTIVATE]
    if done != list(YES_REPLY[: len(done)]):
        return None  # something else answered it
    if len(done) == YES_REPLY.index("action_flag_crisis") + 1 and tracker.active_loop_name:
        return DEACTIVATE  # a form ends, as on a yes
    return YES_REPLY[len(done)] if len(done) < len(YES_REPLY) else ACTION_LISTEN_NAME


def safe_now_step(tracker: DialogueStateTracker, events: Events) -> str | None:
    """The reply to the latest message when it answers "Are you safe right now?", read by
    bot.domain.form_answers.parse_safe_now instead of DIET's intent ("not sure" and "ok no" are
    not safe, "I'm fine" is safe); an unclear reply gets the question once more, and a second
    unclear one the not-safe reply; None when it was not asked, or for a crisis message (the
    crisis rules take it)."""
    latest = tracker.latest_message
    if latest is None or (latest.intent or {}).get("name") == CRISIS_INTENT:
        return None
    if not safety_check.asked_just_before(events, SAFE_NOW_QUESTION):
        return None
    try:
        return SAFE_NOW_REPLIES[parse_safe_now(latest.text or "")]
    except Invalid:
        if safety_check.asked_again_just_before(events, SAFE_NOW_QUESTION):
            return SAFE_NOW_REPLIES[False]  # still no clear "I'm safe": the emergency numbers
        return SAFE_NOW_QUESTION


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class SafetyCheckRulePolicy(RulePolicy):
    """RulePolicy that asks the safety question at the end of the reply to a worrying message."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """RulePolicy's, plus `safety_check_floor` (the crisis classifier's score from which the
        question is asked; at or above the classifier's threshold the message is a crisis) and
        `safety_check_every` (at most once in this many user messages, unless the score is at
        `safety_check_repeat_from` or more)."""
        return {
            **RulePolicy.get_default_config(),
            "safety_check_floor": 0.4,
            "safety_check_every": 3,
            "safety_check_repeat_from": None,
        }

    def train(
        self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any
    ) -> Resource:
        """RulePolicy's training, after the domain check Rasa runs only for RulePolicy itself."""
        self.raise_if_incompatible_with_domain(self.config, domain)
        return super().train(training_trackers, domain, **kwargs)

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """The rules' prediction, with the safety question in place of their `action_listen`."""
        prediction = super().predict_action_probabilities(tracker, domain, rule_only_data, **kwargs)
        every = int(self.config["safety_check_every"])
        events = recent_events(tracker, every)  # read once, by every step below
        step = unsure_yes_next(tracker, events)
        if step is not None:
            # "I don't know", "maybe", "sometimes": a yes, for safety's sake.
            return self._only(step, domain)
        if tracker.latest_action_name in WAIT_AFTER:
            # Wait for the answer (mid-form the rules would run the form again), or for the
            # person after the reply to "are you safe?".
            return self._only(ACTION_LISTEN_NAME, domain)
        if tracker.latest_action_name == ACTION_LISTEN_NAME:
            if unclear_answer(tracker, events):
                # "why?", "what do you mean": ask once more, before anything else answers it.
                return self._only(SAFETY_CHECK_ACTION, domain)
            step = safe_now_step(tracker, events)
            if step is not None:
                # Read as an answer, not by DIET's intent ("not sure" is not "affirm").
                return self._only(step, domain)
        listen = domain.index_for_action(ACTION_LISTEN_NAME)
        if (
            prediction.max_confidence_index == listen
            and prediction.max_confidence >= 1.0
            and should_ask(
                tracker,
                float(self.config["safety_check_floor"]),
                every,
                events,
                self.config.get("safety_check_repeat_from"),
            )
        ):
            return self._only(SAFETY_CHECK_ACTION, domain)
        return prediction

    def _only(self, action: str, domain: Domain) -> PolicyPrediction:
        probabilities = [0.0] * domain.num_actions
        probabilities[domain.index_for_action(action)] = 1.0
        # Hidden from the learned policies' view of the dialogue, like the rules' own turns.
        return PolicyPrediction(
            probabilities, self.__class__.__name__, self.priority, hide_rule_turn=True
        )
