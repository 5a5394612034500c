"""The pre-assessment form (SPEC §3.1): start, validation by question table, and the result."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import IopAction
from actions.durable import SAVED_LATER, queue_record
from actions.forms import QuestionForm
from bot.db import get_sessionmaker
from bot.db.assessments import save_assessment
from bot.db.spool import STORAGE_ERRORS
from bot.domain import preassessment
from bot.domain.form_answers import Question
from bot.domain.screening import new_reference, recommend_level_of_care

logger = logging.getLogger(__name__)


class ValidatePreassessmentForm(QuestionForm):
    """Reads each pre-assessment answer (bot/domain/preassessment.py says how and why)."""

    def name(self) -> str:
        """Rasa's naming: validate_<form>."""
        return "validate_preassessment_form"

    restart_intents = frozenset({"start_assessment"})

    def questions(self) -> Mapping[str, Question]:
        """The pre-assessment's questions."""
        return preassessment.QUESTIONS

    def to_ask(self, values: Mapping[str, Any]) -> list[str]:
        """Branching and early endings (consent declined, stop, urgent safety answer)."""
        return preassessment.questions_to_ask(values)


class ActionStartAssessment(IopAction):
    """A fresh screening: earlier answers cleared, a new key for storing it exactly once."""

    def name(self) -> str:
        """Name in the domain."""
        return "action_start_assessment"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Reset every assessment slot."""
        return [
            *(SlotSet(slot, None) for slot in preassessment.ALL_SLOTS),
            SlotSet("assessment_outcome", None),
            SlotSet("assessment_key", uuid.uuid4().hex),
        ]


class ActionSubmitAssessment(IopAction):
    """After the form: store a finished (or urgent) screening with its flag, and explain it."""

    def name(self) -> str:
        """Name in the domain."""
        return "action_submit_assessment"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Declined or stopped: nothing stored. Otherwise one row, one flag, the result."""
        values = {slot: tracker.get_slot(slot) for slot in preassessment.ALL_SLOTS}
        ending = preassessment.ending(values)
        clear = [SlotSet(slot, None) for slot in preassessment.ALL_SLOTS]
        if ending in ("declined", "stopped"):
            dispatcher.utter_message(response=f"utter_assessment_{ending}")
            return [*clear, SlotSet("assessment_outcome", ending)]
        if ending == "emergency":
            dispatcher.utter_message(response="utter_crisis")
        result = preassessment.screening_result(values)
        recommendation = recommend_level_of_care(result)
        wants_contact = bool(values.get("wants_contact"))
        contact = dict(values.get("contact_method") or {}) if wants_contact else {}
        if wants_contact:
            contact.update(name=values.get("contact_name"), time=values.get("contact_time"))
        key = tracker.get_slot("assessment_key") or uuid.uuid4().hex
        record = {
            "conversation_id": tracker.sender_id,
            "dedup_key": f"{tracker.sender_id}:{key}",
            "reference": new_reference(),
            "recommendation": recommendation.level,
            "flag_severity": recommendation.flag_severity,
            "answers": preassessment.stored_answers(values),
            "phq2": result.phq2 if values.get("phq_depressed") is not None else None,
            "gad2": result.gad2 if values.get("gad_worry") is not None else None,
            "contact": contact or None,
            "created_at": datetime.now(timezone.utc).isoformat(),
        }
        try:
            with get_sessionmaker()() as session, session.begin():
                assessment, _flag = store_assessment(session, record)
                reference = assessment.reference
            queued = False
        except STORAGE_ERRORS:
            queue_record("assessment", record)
            reference, queued = record["reference"], True
        if ending == "emergency":
            # The crisis lines came first; then where the answers went, without a sales pitch.
            text = preassessment.urgent_message(reference)
        else:
            text = preassessment.result_message(recommendation, reference, wants_contact)
        dispatcher.utter_message(text=f"{text} {SAVED_LATER}" if queued else text)
        outcome = "emergency" if ending == "emergency" else "saved"
        return [*clear, SlotSet("assessment_outcome", outcome), SlotSet("assessment_key", None)]


def store_assessment(session: Any, record: dict[str, Any]) -> tuple[Any, Any]:
    """Store an assessment record once, with its follow-up flag."""
    fields = dict(record)
    fields["created_at"] = datetime.fromisoformat(record["created_at"])
    return save_assessment(session, **fields)


def store_queued_assessment(record: dict[str, Any]) -> None:
    """An assessment from the durable queue (bot/db/spool.py)."""
    with get_sessionmaker()() as session, session.begin():
        store_assessment(session, record)
