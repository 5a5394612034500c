"""Flags behind the safety replies: Rasa sends the crisis lines itself (rules), then these record
an urgent flag for staff, so help never waits on the action server or the database."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import IopAction, answers_safety_check
from actions.forms import QuestionForm
from bot.db import get_sessionmaker
from bot.db.assessments import record_callback
from bot.db.flags import open_flag
from bot.db.participants import participant_for_message
from bot.domain import safety_check
from bot.domain.form_answers import Question, is_only_unsure
from bot.domain.preassessment import QUESTIONS
from bot.settings import get_settings

logger = logging.getLogger(__name__)


def crisis_flag_reason(latest_message: dict[str, Any]) -> str:
    """Why the message was escalated, without quoting it (the transcript holds the words)."""
    match = latest_message.get("crisis_match")
    if match:
        return f"Crisis language ({match.get('category', 'unknown')} rule)"
    score = latest_message.get("crisis_classifier")
    if score is not None:  # bot/rasa/nlu/crisis_classifier.py decided
        return f"Crisis language (crisis classifier, score {score:.2f})"
    confidence = (latest_message.get("intent") or {}).get("confidence") or 0.0
    return f"Crisis language (classifier, confidence {confidence:.2f})"


def prompting_detail(prompted: dict[str, Any]) -> str:
    """What made the bot ask, for the flag's reason: a crisis rule a long message deferred to the
    question (bot/rasa/nlu/crisis_matcher.py), the classifier's score; never the words."""
    details = []
    deferred = prompted.get("crisis_match_deferred")
    if deferred:
        details.append(f"{deferred.get('category', 'unknown')} rule in a long message")
    score = prompted.get("crisis_classifier")
    if score is not None:
        details.append(f"crisis classifier, score {float(score):.2f}")
    return f" ({'; '.join(details)})" if details else ""


def answered_safety_check(tracker: Tracker) -> dict[str, Any] | None:
    """When the latest message says yes to the safety question (bot/rasa/policies.py), the message
    that prompted the question: its parse data as the NLU saw it, with its id and metadata; for a
    question carried over from an expired session (actions/session_actions.py), its id and score
    from the slot; {} when it is not known (the flag then points at the yes). None for any other
    message."""
    message = tracker.latest_message or {}
    intent = (message.get("intent") or {}).get("name")
    if intent == "crisis":
        return None  # crisis language in its own right: the flag points at it, as a crisis
    yes = intent == "affirm" or is_only_unsure(message.get("text"))
    if not yes or not answers_safety_check(tracker):
        return None
    prompting = safety_check.prompting_message(safety_check.recent(tracker.events))
    if prompting is not None:
        return {
            **(prompting.get("parse_data") or {}),
            "message_id": prompting.get("message_id"),
            "metadata": prompting.get("metadata"),
        }
    carried = tracker.get_slot(safety_check.CARRIED_SLOT)
    if isinstance(carried, dict) and carried.get("message_id"):
        return {
            "crisis_classifier": carried.get("crisis_classifier"),
            "message_id": str(carried["message_id"]),
            # the same person: their link's metadata comes with the message that answered
            "metadata": (tracker.latest_message or {}).get("metadata"),
        }
    return {}


def flag_latest_message(
    tracker: Tracker,
    *,
    kind: str,
    severity: str,
    reason: str,
    message: dict[str, Any] | None = None,
) -> None:
    """Open one flag of `kind` for the user's latest message, or for `message` (a user message's
    parse data, with its message_id and metadata); a retried action reuses the flag."""
    message = message if message is not None else (tracker.latest_message or {})
    message_id = message.get("message_id") or ""
    with get_sessionmaker()() as session, session.begin():
        # A participant's flag carries their id, so staff see it on their page too.
        participant = participant_for_message(session, message.get("metadata"))
        open_flag(
            session,
            kind=kind,
            severity=severity,
            conversation_id=tracker.sender_id,
            reason=reason,
            dedup_key=f"{kind}:{tracker.sender_id}:{message_id}",
            message_id=message_id or None,
            participant_id=participant.id if participant else None,
        )


class ActionFlagCrisis(IopAction):
    """One urgent `crisis` flag per crisis message, pointing at that message."""

    def name(self) -> str:
        """Name in the domain."""
        return "action_flag_crisis"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Store the flag; a storage failure is logged loudly, the person already has help.

        After a yes to the safety question the flag points at the message that prompted it."""
        try:
            prompted = answered_safety_check(tracker)
            if prompted is not None:
                intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
                said = "Said yes" if intent == "affirm" else "Was unsure"  # unsure counts as yes
                reason = f"{said} when asked directly about safety" + prompting_detail(prompted)
            else:
                reason = crisis_flag_reason(tracker.latest_message or {})
            flag_latest_message(
                tracker, kind="crisis", severity="urgent", reason=reason, message=prompted or None
            )
        except Exception as exc:
            logger.critical("crisis flag NOT stored: %s", type(exc).__name__)
        return []


class ActionRequestHuman(IopAction):
    """Says whether the office is staffed now and opens a `human_request` flag."""

    def name(self) -> str:
        """Name in the domain."""
        return "action_request_human"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Set `office_open` (utter_human_contact has a variant for each), then store the flag."""
        is_open = get_settings().clinic.is_open()
        flag_latest_message(
            tracker,
            kind="human_request",
            severity="normal",
            reason=f"Asked to talk to a person ({'office open' if is_open else 'after hours'})",
        )
        return [SlotSet("office_open", is_open)]


CALLBACK_SLOTS = ("contact_name", "contact_method", "contact_time")


class ValidateCallbackForm(QuestionForm):
    """A first name, a phone number or email, and a good time, read like the screening's."""

    def name(self) -> str:
        """Rasa's naming: validate_<form>."""
        return "validate_callback_form"

    def questions(self) -> Mapping[str, Question]:
        """The screening's contact questions, and the stop confirmation."""
        return {slot: QUESTIONS[slot] for slot in (*CALLBACK_SLOTS, "confirm_stop")}

    def to_ask(self, values: Mapping[str, Any]) -> list[str]:
        """Contact details still missing, unless the visitor stopped."""
        if values.get("confirm_stop") is True:
            return []
        if values.get("stop_requested"):
            return ["confirm_stop"]
        return [slot for slot in CALLBACK_SLOTS if values.get(slot) is None]


class ActionStartCallback(IopAction):
    """Clear any contact details from earlier before asking."""

    def name(self) -> str:
        """Name in the domain."""
        return "action_start_callback"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Reset the callback slots."""
        return [SlotSet(s, None) for s in (*CALLBACK_SLOTS, "confirm_stop", "stop_requested")]


class ActionSubmitCallback(IopAction):
    """Store the callback details on the human_request flag staff will see."""

    def name(self) -> str:
        """Name in the domain."""
        return "action_submit_callback"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Save and confirm, or say nothing was passed on."""
        clear = [SlotSet(s, None) for s in (*CALLBACK_SLOTS, "confirm_stop", "stop_requested")]
        contact = tracker.get_slot("contact_method")
        if tracker.get_slot("confirm_stop") is True or not contact:
            dispatcher.utter_message(response="utter_callback_stopped")
            return clear
        name, best_time = tracker.get_slot("contact_name"), tracker.get_slot("contact_time")
        with get_sessionmaker()() as session, session.begin():
            record_callback(
                session,
                conversation_id=tracker.sender_id,
                name=name,
                contact=contact,
                best_time=best_time,
            )
        how = " or ".join(contact[key] for key in ("phone", "email") if contact.get(key))
        when = "any time" if best_time in (None, "any") else f"in the {best_time}"
        dispatcher.utter_message(
            text=f"Thanks, {name}. Our team will reach you at {how}, {when}, on the next working "
            "day at the latest. If things get hard before then, call or text 988."
        )
        return clear
