"""Daily check-in reminders by e-mail, opted into in the chat (issue #26): "remind me every day
at 7pm", "stop the reminders".

Only for a participant identified on every message by the token hash in the message metadata
(actions/checkin_form.py `current_participant`); anyone else gets a plain "ask your clinician" and
nothing is stored. `reminder_form` asks, one question at a time with the shared reader
(actions/forms.py), for what the first message did not say: the time of day, then an e-mail
address if none is on file. Once both are known the form stores the setting
(bot/notify/reminders.py `set_reminder`); a ReminderError is said and its question asked again.
The address and the message text are never logged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.types import DomainDict

from actions.base import IopAction, answers_safety_check
from actions.checkin_form import current_participant
from actions.forms import INTERRUPTIONS, QuestionForm, answered_just_now, read_message
from bot.db import get_sessionmaker
from bot.db.models import Participant
from bot.domain.form_answers import EMAIL as EMAIL_IN_TEXT
from bot.domain.form_answers import Invalid, Question, normalise
from bot.domain.preassessment import QUESTIONS as ASSESSMENT_QUESTIONS
from bot.notify import reminders

TIME_SLOT = "reminder_time"
EMAIL_SLOT = "reminder_email"
PARTICIPANT_SLOT = "reminder_participant"
ON_FILE_SLOT = "reminder_email_on_file"
SAVED_SLOT = "reminder_saved"
REMINDER_SLOTS = (TIME_SLOT, EMAIL_SLOT, PARTICIPANT_SLOT, ON_FILE_SLOT, SAVED_SLOT)
STOP_SLOTS = ("confirm_stop", "stop_requested")
BARE_HOUR = re.compile(r"\d{1,2}(?:[:.]\d{2})?")


def read_time(text: str) -> str:
    """'7pm', '8:30 in the morning', 'noon', or a bare '7' said to "what time?": "HH:MM"."""
    cleaned = normalise(text).strip(" .!")
    found = reminders.parse_clock(cleaned)
    if found is None and BARE_HOUR.fullmatch(cleaned):
        found = reminders.parse_clock(f"at {cleaned}")  # answering "what time?", 7 means 7 pm
    if found is None:
        raise Invalid(
            "Sorry, I couldn't read a time in that. You can say something like 7pm, 8:30 am "
            'or noon, or "cancel" to leave it.'
        )
    return found.strftime("%H:%M")


def read_email(text: str) -> str:
    """An e-mail address, on its own or in a sentence ("it's sam@example.com")."""
    found = EMAIL_IN_TEXT.search(" ".join(str(text).split()))
    address = found.group(0) if found else ""
    if not reminders.EMAIL.match(address):
        raise Invalid(
            "That doesn't look like an e-mail address. Could you type it like "
            'name@example.com? Or say "cancel" to leave it.'
        )
    return address


QUESTIONS: dict[str, Question] = {
    TIME_SLOT: Question(
        TIME_SLOT,
        read_time,
        "So the reminder comes when a check-in suits your day. It goes out once a day at that "
        "time (clinic time), never at night, and not on a day you've already checked in.",
    ),
    EMAIL_SLOT: Question(
        EMAIL_SLOT,
        read_email,
        "The reminder is an e-mail with a link to your check-in. Your address is used only for "
        "these reminders, and every e-mail has a link to stop them.",
    ),
    "confirm_stop": ASSESSMENT_QUESTIONS["confirm_stop"],
}


def reminder_questions_to_ask(values: Mapping[str, Any]) -> list[str]:
    """The time, then an e-mail address unless one is on file; stop asks to confirm first."""
    if values.get("confirm_stop") is True or values.get(SAVED_SLOT):
        return []
    if values.get("stop_requested"):
        return ["confirm_stop"]
    missing = [TIME_SLOT] if not values.get(TIME_SLOT) else []
    if not values.get(EMAIL_SLOT) and not values.get(ON_FILE_SLOT):
        missing.append(EMAIL_SLOT)
    return missing


def ready_to_store(values: Mapping[str, Any]) -> bool:
    """A time and an address (given or on file), not stored yet, and no stop under way."""
    return (
        bool(values.get(TIME_SLOT))
        and bool(values.get(EMAIL_SLOT) or values.get(ON_FILE_SLOT))
        and not values.get(SAVED_SLOT)
        and not values.get("stop_requested")
        and values.get("confirm_stop") is not True
    )


def quiet_hours_problem(participant_id: int, hhmm: str) -> str | None:
    """Why this time cannot be used (it falls in quiet hours), or None."""
    with get_sessionmaker()() as session:
        quiet = reminders.quiet_hours(session, participant_id)
    problem = reminders.quiet_problem(time.fromisoformat(hhmm), quiet)
    if problem is None:
        return None
    return f"Sorry, I don't send reminders between {reminders.clock_text(quiet[0])} and " + (
        f"{reminders.clock_text(quiet[1])}, so your evenings and nights stay quiet."
    )


def same_participant(tracker: Tracker) -> Participant | None:
    """The participant of this message, if it is the one who asked for the reminder."""
    participant = current_participant(tracker)
    if participant is None or participant.id != tracker.get_slot(PARTICIPANT_SLOT):
        return None
    return participant


def zone_label(zone: str) -> str:
    """'America/New_York' -> 'New York time'."""
    return zone.rsplit("/", 1)[-1].replace("_", " ") + " time"


def confirmation(reminder: Any) -> str:
    """What the participant is told once their reminder is stored."""
    at = reminders.clock_text(time.fromisoformat(reminder.local_time))
    return (
        f"Done: I'll e-mail you a check-in reminder every day at {at} "
        f"({zone_label(reminder.timezone)}). Each e-mail has a link to stop them, or just tell "
        "me 'stop reminders'."
    )


class ValidateReminderForm(QuestionForm):
    """Reads the time and the address, refuses quiet hours at once, and stores the setting as
    soon as everything is known (a ReminderError is said, and its question asked again)."""

    def name(self) -> str:
        """Rasa's naming: validate_<form>."""
        return "validate_reminder_form"

    restart_intents = frozenset({"set_reminder"})
    # Answered by data/rules/reminders.yml mid-form when the message is not a readable answer.
    extra_interruptions = frozenset({"stop_reminders", "craving_now", "start_checkin"})

    def questions(self) -> Mapping[str, Question]:
        """The reminder's questions."""
        return QUESTIONS

    def to_ask(self, values: Mapping[str, Any]) -> list[str]:
        """What's left to ask."""
        return reminder_questions_to_ask(values)

    def may_continue(self, tracker: Tracker) -> bool:
        """No valid token on this message, or another participant's: ask nothing, store nothing."""
        return same_participant(tracker) is not None

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """As every form reads answers; but a new time where the address was asked ("actually
        make it 8am") is taken as the new time, and the address asked again."""
        message = tracker.latest_message or {}
        if (
            tracker.get_slot(REQUESTED_SLOT) == EMAIL_SLOT
            and answered_just_now(tracker)
            and not answers_safety_check(tracker)
        ):
            interruptions = INTERRUPTIONS | self.restart_intents | self.extra_interruptions
            reading = read_message(
                QUESTIONS[EMAIL_SLOT], message, interruptions, self.restart_intents
            )
            new_time = reminders.parse_clock(str(message.get("text") or ""))
            if reading.kind == "invalid" and new_time is not None:
                return [SlotSet(TIME_SLOT, new_time.strftime("%H:%M")), SlotSet(EMAIL_SLOT, None)]
        return await super().get_extraction_events(dispatcher, tracker, domain)

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Pass the answers on; refuse a time in quiet hours; store once all is known."""
        events = await super().get_validation_events(dispatcher, tracker, domain)
        participant = same_participant(tracker)
        if participant is None:
            return events
        chosen = tracker.slots_to_validate().get(TIME_SLOT)
        if chosen:
            problem = quiet_hours_problem(participant.id, chosen)
            if problem:
                dispatcher.utter_message(text=problem)
                events.append(SlotSet(TIME_SLOT, None))
                tracker.slots[TIME_SLOT] = None
        if not ready_to_store(tracker.slots):
            return events
        return events + self.store(dispatcher, tracker, participant.id)

    def store(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, participant_id: int
    ) -> list[EventType]:
        """set_reminder; on a ReminderError, say it and clear the answer it is about."""
        email = tracker.slots.get(EMAIL_SLOT)
        try:
            with get_sessionmaker()() as session, session.begin():
                reminders.set_reminder(
                    session,
                    participant_id,
                    local_time=time.fromisoformat(tracker.slots[TIME_SLOT]),
                    email=email,
                )
        except reminders.ReminderError as exc:
            dispatcher.utter_message(text=f"Sorry, {exc}.")
            # An address typed now is the likelier culprit; otherwise the time is asked again.
            slot = EMAIL_SLOT if email and "e-mail" in str(exc) else TIME_SLOT
            tracker.slots[slot] = None
            return [SlotSet(slot, None)]
        tracker.slots[SAVED_SLOT] = True
        return [SlotSet(SAVED_SLOT, True)]


class ActionStartReminder(IopAction):
    """A fresh reminder request: whose it is, the time if the message gave one, and whether an
    address is already on file."""

    def name(self) -> str:
        """Name in the domain."""
        return "action_start_reminder"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Clear the slots, then fill what this message and the database already say."""
        events: list[EventType] = [SlotSet(s, None) for s in (*REMINDER_SLOTS, *STOP_SLOTS)]
        participant = current_participant(tracker)
        if participant is None:
            return events  # the form asks nothing; action_submit_reminder explains
        text = str((tracker.latest_message or {}).get("text") or "")
        found = reminders.parse_clock(text)
        with get_sessionmaker()() as session:
            existing = reminders.reminder_for(session, participant.id)
            on_file = bool(existing and existing.email)
        return [
            *events,
            SlotSet(PARTICIPANT_SLOT, participant.id),
            SlotSet(ON_FILE_SLOT, on_file),
            *([SlotSet(TIME_SLOT, found.strftime("%H:%M"))] if found else []),
        ]


class ActionSubmitReminder(IopAction):
    """After the form: confirm the stored reminder, or say why nothing was stored."""

    def name(self) -> str:
        """Name in the domain."""
        return "action_submit_reminder"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Stored (by the form): the confirmation. Not a participant, or stopped: say so."""
        clear = [SlotSet(s, None) for s in (*REMINDER_SLOTS, *STOP_SLOTS)]
        participant = same_participant(tracker)
        if participant is None:
            dispatcher.utter_message(response="utter_reminder_needs_enrollment")
            return clear
        reminder = None
        if tracker.get_slot(SAVED_SLOT) and tracker.get_slot("confirm_stop") is not True:
            with get_sessionmaker()() as session:
                reminder = reminders.reminder_for(session, participant.id)
        if reminder is None or not reminder.active:
            dispatcher.utter_message(response="utter_reminder_cancelled")
            return clear
        dispatcher.utter_message(text=confirmation(reminder))
        return clear


class ActionStopReminders(IopAction):
    """'Stop the reminders': stopped and confirmed, or there were none."""

    def name(self) -> str:
        """Name in the domain."""
        return "action_stop_reminders"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Stop the participant's reminders; a visitor has none to stop."""
        clear = [SlotSet(s, None) for s in (*REMINDER_SLOTS, *STOP_SLOTS)]
        participant = current_participant(tracker)
        if participant is None:
            dispatcher.utter_message(response="utter_reminder_needs_enrollment")
            return clear
        with get_sessionmaker()() as session, session.begin():
            stopped = reminders.stop_reminder(session, participant.id)
        dispatcher.utter_message(
            response="utter_reminders_stopped" if stopped else "utter_no_reminders"
        )
        return clear
