"""The shared reader behind both forms: one question at a time, answers in free text or buttons.

Rasa's idiom is `extract_<slot>` / `validate_<slot>` per slot; our forms have up to 27 slots
whose answers all follow the same rules, so one table of `Question`s (bot/domain/preassessment.py,
bot/domain/checkin_rules.py) says how each answer is read, and this class applies it to the question
just asked:
- a readable answer fills the slot;
- "why do you need this?" gets the question's one-line reason, then the same question;
- "stop" (or "delete my data") asks to confirm first (slot `stop_requested`);
- crisis language, an FAQ question, asking for a person or to restart are left to the rules
  (the form rejects, Rasa's rules answer, and the form resumes - or ends, for a crisis);
- anything else is re-asked with a message saying what kind of answer fits.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT, FormValidationAction
from rasa_sdk.types import DomainDict

from actions.base import answers_safety_check
from bot.domain.calm_replies import something_went_wrong
from bot.domain.form_answers import Invalid, Question, normalise

logger = logging.getLogger(__name__)

# Intents the rules answer in the middle of either form (data/rules/*.yml), when the message is
# not also a readable answer; each form adds its own restart intents. Crisis always goes to the
# rules, whatever else the message says.
INTERRUPTIONS = frozenset({"faq", "request_human", "bot_challenge"})
INTERRUPTION_CONFIDENCE = 0.6
RESTART_CONFIDENCE = 0.8
# Real stops ("cancel", "that's enough", "never mind") come at 0.84-0.99; an answer that merely
# shares a word ("old enough") comes lower and is read as an answer. "Stop" is confirmed anyway.
STOP_CONFIDENCE = 0.75
PLAIN_ANSWER_WORDS = 3
# Set by bot/rasa/nlu/crisis_matcher.py when a crisis rule, not a classifier, matched.
CRISIS_MATCH_KEY = "crisis_match"
STOP_INTENTS = frozenset({"stop", "request_data_deletion"})
STOP_WORDS = frozenset({"stop", "quit", "cancel", "exit", "end", "stop it", "i want to stop"})
WHY = re.compile(r"^(?:but )?(?:why|what for|how come)\b")
WORD = re.compile(r"[a-z]{2,}")


@dataclass(frozen=True)
class Reading:
    """What the latest message means for the question just asked."""

    kind: str  # answer | why | stop | interruption | invalid
    value: Any = None
    message: str = ""


def read_message(
    question: Question,
    message: Mapping[str, Any],
    interruptions: frozenset[str] = INTERRUPTIONS,
    restarts: frozenset[str] = frozenset(),
) -> Reading:
    """Decide what the user's latest message is, for `question` (pure; unit-tested)."""
    text = str(message.get("text") or "")
    intent = message.get("intent") or {}
    name, confidence = intent.get("name"), float(intent.get("confidence") or 0.0)
    cleaned = normalise(text)
    if name == "crisis" and not _plain_answer(question, text, message):
        return Reading("interruption")
    # "Can we start over" would read as an answer to an open question: a sure restart goes first.
    if name in restarts and confidence >= RESTART_CONFIDENCE:
        return Reading("interruption")
    sure = confidence >= INTERRUPTION_CONFIDENCE
    if cleaned in STOP_WORDS or (name in STOP_INTENTS and confidence >= STOP_CONFIDENCE):
        return Reading("stop")
    if (name == "ask_why" and sure) or WHY.match(cleaned):
        return Reading("why")
    is_question = cleaned.endswith("?")
    if question.free_text and is_question and name in interruptions and sure:
        return Reading("interruption")
    try:
        return Reading("answer", question.read(text))
    except Invalid as exc:
        # "12" or "555-12" is a bad answer, whatever DIET makes of it: only words can ask.
        if name in interruptions and sure and (is_question or len(WORD.findall(cleaned)) >= 2):
            return Reading("interruption")
        return Reading("invalid", message=str(exc))


def _plain_answer(question: Question, text: str, message: Mapping[str, Any]) -> bool:
    """A word or three that answers a closed question ("Cannabis", "xanax", "10"), which a
    classifier alone (no rule) took for a crisis. The spaCy rules' crisis, a longer message,
    or an open question's answer is always a crisis: the form ends and the crisis lines go out.
    """
    if message.get(CRISIS_MATCH_KEY) or len(normalise(text).split()) > PLAIN_ANSWER_WORDS:
        return False
    reader = question.strict_read or (None if question.free_text else question.read)
    if reader is None:
        return False
    try:
        return bool(reader(text))
    except Invalid:
        return False


def answered_just_now(tracker: Tracker) -> bool:
    """True when the form runs right after the user spoke (not when it resumes after a rule)."""
    actions = [e.get("name") for e in tracker.events if e.get("event") == "action"]
    # Rasa's temporary tracker for validation ends with the form's own ActionExecuted.
    return len(actions) >= 2 and actions[-2] == "action_listen"


class QuestionForm(FormValidationAction, ABC):
    """A FormValidationAction driven by a table of questions (see the module docstring)."""

    @abstractmethod
    def questions(self) -> Mapping[str, Question]:
        """The form's questions by slot name."""

    # Intents whose rules start this form again from the top (they win over an answer), and
    # other intents the rules answer mid-form when the message is not a readable answer.
    restart_intents: frozenset[str] = frozenset()
    extra_interruptions: frozenset[str] = frozenset()

    @abstractmethod
    def to_ask(self, values: Mapping[str, Any]) -> list[str]:
        """The slots still to ask, in order, given the slots filled so far."""

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """Only the questions that still apply (branches, early endings, stop confirmation)."""
        if not self.may_continue(tracker):
            return []
        return self.to_ask(tracker.slots)

    def may_continue(self, tracker: Tracker) -> bool:
        """Whether this message may go on with the form (the check-in checks the person)."""
        return True

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Read the answer to the question just asked; nothing else is taken from a message."""
        slot = tracker.get_slot(REQUESTED_SLOT)
        question = self.questions().get(slot)
        if question is None or not answered_just_now(tracker) or answers_safety_check(tracker):
            return []  # a yes or no to the safety question is not an answer to this one
        reading = read_message(
            question,
            tracker.latest_message or {},
            INTERRUPTIONS | self.restart_intents | self.extra_interruptions,
            self.restart_intents,
        )
        if reading.kind == "answer":
            return [SlotSet(slot, reading.value)]
        if reading.kind == "stop":
            if slot == "confirm_stop":  # "stop" said again: that's a yes
                return [SlotSet("confirm_stop", True)]
            return [SlotSet("stop_requested", True)]
        if reading.kind == "why":
            dispatcher.utter_message(text=question.why)
            return [SlotSet(slot, None)]
        if reading.kind == "invalid":
            dispatcher.utter_message(text=reading.message)
            return [SlotSet(slot, None)]
        return []  # an interruption: the form rejects and the rules take over

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Answers were checked as they were read (`Question.read`): pass them on unchanged."""
        events = [SlotSet(key, value) for key, value in tracker.slots_to_validate().items()]
        if tracker.slots_to_validate().get("confirm_stop") is False:
            # "No, keep going": forget the stop request and ask the interrupted question again.
            events += [SlotSet("confirm_stop", None), SlotSet("stop_requested", None)]
            tracker.slots.update({"confirm_stop": None, "stop_requested": None})
        return events

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Validate; an unexpected error gets a calm reply (the form asks again) and a log line."""
        try:
            return await super().run(dispatcher, tracker, domain)
        except Exception as exc:
            logger.error("form validation %s failed: %s", self.name(), type(exc).__name__)
            dispatcher.utter_message(text=something_went_wrong())
            return []
