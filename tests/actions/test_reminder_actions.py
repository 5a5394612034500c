"""Daily check-in reminders asked for in the chat: the readers, the form as Rasa calls it, and the
start, submit and stop actions, with real rasa_sdk Trackers and a real database."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import time
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.forms import read_message
from actions.reminder_actions import (
    QUESTIONS,
    ActionStartReminder,
    ActionStopReminders,
    ActionSubmitReminder,
    ValidateReminderForm,
    read_email,
    read_time,
    ready_to_store,
    reminder_questions_to_ask,
)
from bot.db import get_sessionmaker
from bot.db.models import Reminder
from bot.db.participants import TOKEN_HASH_KEY, enroll, hash_token, revoke
from bot.domain.form_answers import Invalid
from bot.notify import reminders
from bot.settings import REPO_ROOT, get_settings
from tests.conftest import run_async

DOMAIN = yaml.safe_load(Path(REPO_ROOT / "domain.yml").read_text(encoding="utf-8"))
EMAIL = "sam.lee@example.com"


@dataclass
class Person:
    id: int
    token: str

    @property
    def metadata(self) -> dict:
        return {TOKEN_HASH_KEY: hash_token(self.token)}


@pytest.fixture
def person(db_url: str) -> Person:
    with get_sessionmaker(db_url)() as session, session.begin():
        enrollment = enroll(session, "Pat")
    return Person(enrollment.participant_id, enrollment.token)


def stored(url: str) -> list[Reminder]:
    with get_sessionmaker(url)() as session:
        return list(session.execute(select(Reminder).order_by(Reminder.id)).scalars())


def give_reminder(url: str, person: Person, at: str = "18:00", email: str = EMAIL) -> None:
    with get_sessionmaker(url)() as session, session.begin():
        reminders.set_reminder(session, person.id, local_time=time.fromisoformat(at), email=email)


def message(text: str, metadata: dict | None, intent: str = "inform", conf: float = 0.9) -> dict:
    return {
        "text": text,
        "intent": {"name": intent, "confidence": conf},
        "metadata": metadata or {},
    }


def plain_tracker(text: str, metadata: dict | None, intent: str, slots: dict | None = None):
    return Tracker(
        sender_id="conversation-1",
        slots=dict(slots or {}),
        latest_message=message(text, metadata, intent),
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def run(action, tracker: Tracker) -> tuple[dict, list[dict]]:
    dispatcher = CollectingDispatcher()
    events = run_async(action.run(dispatcher, tracker, DOMAIN))
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}, dispatcher.messages


def texts(messages: list[dict]) -> list[str]:
    return [m.get("text") or m.get("response") for m in messages]


def activation_tracker(slots: dict, text: str, metadata: dict | None) -> Tracker:
    """What the validation action gets when the form starts, with the slots the start action
    filled as the candidates to validate."""
    candidates = [{"event": "slot", "name": k, "value": v} for k, v in slots.items()]
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": {"intent": {"name": "set_reminder"}}},
        {"event": "action", "name": "action_start_reminder"},
        {"event": "active_loop", "name": "reminder_form"},
        {"event": "slot", "name": "requested_slot", "value": None},
        {"event": "action", "name": "reminder_form"},
        *candidates,
    ]
    return Tracker(
        sender_id="conversation-1",
        slots={**slots, "requested_slot": None},
        latest_message=message(text, metadata, "set_reminder"),
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": "reminder_form"},
        latest_action_name="action_start_reminder",
    )


def answer_tracker(
    requested: str, slots: dict, text: str, metadata: dict | None, intent: str = "inform"
) -> Tracker:
    """What the validation action gets right after the user answered `requested`."""
    events = [
        {"event": "action", "name": "reminder_form"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}},
        {"event": "slot", "name": "requested_slot", "value": requested},
        {"event": "action", "name": "reminder_form"},
    ]
    return Tracker(
        sender_id="conversation-1",
        slots={**slots, "requested_slot": requested},
        latest_message=message(text, metadata, intent),
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": "reminder_form"},
        latest_action_name="reminder_form",
    )


def start(person_or_none: Person | None, text: str) -> dict:
    metadata = person_or_none.metadata if person_or_none else None
    slots, said = run(ActionStartReminder(), plain_tracker(text, metadata, "set_reminder"))
    assert said == []
    return slots


# --- the readers ---


@pytest.mark.parametrize(
    ("text", "hhmm"),
    [
        ("7pm", "19:00"),
        ("7:30 pm", "19:30"),
        ("19:00", "19:00"),
        ("8 in the morning", "08:00"),
        ("noon", "12:00"),
        ("at 9", "09:00"),
        ("7", "19:00"),  # a bare hour, said to "what time?"
        ("8", "08:00"),
        ("8 am", "08:00"),
        ("around 6pm i guess", "18:00"),
    ],
)
def test_times_are_read(text: str, hhmm: str) -> None:
    assert read_time(text) == hhmm


@pytest.mark.parametrize("text", ["banana", "whenever", "every 2 days", "25", ""])
def test_no_time_is_reasked(text: str) -> None:
    with pytest.raises(Invalid, match="couldn't read a time"):
        read_time(text)


def test_addresses_are_read_alone_or_in_a_sentence() -> None:
    assert read_email(EMAIL) == EMAIL
    assert read_email(f"sure it's {EMAIL} thanks") == EMAIL
    for bad in ("sam at example dot com", "sam@", "no", "@example.com"):
        with pytest.raises(Invalid, match="e-mail address"):
            read_email(bad)


def test_what_is_asked() -> None:
    assert reminder_questions_to_ask({}) == ["reminder_time", "reminder_email"]
    assert reminder_questions_to_ask({"reminder_time": "19:00"}) == ["reminder_email"]
    on_file = {"reminder_time": "19:00", "reminder_email_on_file": True}
    assert reminder_questions_to_ask(on_file) == []
    assert reminder_questions_to_ask({"reminder_email_on_file": True}) == ["reminder_time"]
    assert reminder_questions_to_ask({"stop_requested": True}) == ["confirm_stop"]
    assert reminder_questions_to_ask({"stop_requested": True, "confirm_stop": True}) == []
    assert reminder_questions_to_ask({"reminder_saved": True}) == []


def test_when_to_store() -> None:
    known = {"reminder_time": "19:00", "reminder_email": EMAIL}
    assert ready_to_store(known)
    assert ready_to_store({"reminder_time": "19:00", "reminder_email_on_file": True})
    assert not ready_to_store({"reminder_time": "19:00"})
    assert not ready_to_store({"reminder_email": EMAIL, "reminder_email_on_file": True})
    assert not ready_to_store({**known, "reminder_saved": True})
    assert not ready_to_store({**known, "stop_requested": True})
    assert not ready_to_store({**known, "confirm_stop": True})


def test_crisis_and_other_requests_interrupt_the_questions() -> None:
    interruptions = frozenset({"faq", "stop_reminders", "craving_now", "start_checkin"})
    for slot in ("reminder_time", "reminder_email"):
        crisis = message("i want to end my life", None, "crisis", 1.0)
        assert read_message(QUESTIONS[slot], crisis, interruptions).kind == "interruption"
        stop_them = message("stop the reminders", None, "stop_reminders", 0.95)
        assert read_message(QUESTIONS[slot], stop_them, interruptions).kind == "interruption"
        assert read_message(QUESTIONS[slot], message("cancel", None)).kind == "stop"
    # a time is an answer to the time question whatever DIET made of it
    said = message("8 pm", None, "faq", 0.95)
    assert read_message(QUESTIONS["reminder_time"], said, interruptions).kind == "answer"


# --- starting: who, and the time from the message ---


def test_start_reads_the_time_and_notes_the_participant(person: Person) -> None:
    slots = start(person, "remind me every day at 7pm")
    assert slots["reminder_time"] == "19:00"
    assert slots["reminder_participant"] == person.id
    assert slots["reminder_email_on_file"] is False
    assert slots["reminder_saved"] is None and slots["confirm_stop"] is None


def test_start_without_a_time_leaves_it_to_ask(person: Person, db_url: str) -> None:
    give_reminder(db_url, person)
    slots = start(person, "can you send me reminders")
    assert "reminder_time" in slots and slots["reminder_time"] is None
    assert slots["reminder_email_on_file"] is True


@pytest.mark.parametrize("metadata", [None, {TOKEN_HASH_KEY: hash_token("not-a-token")}])
def test_start_for_a_visitor_reads_nothing(db_url: str, metadata: dict | None) -> None:
    slots, _ = run(
        ActionStartReminder(), plain_tracker("remind me at 7pm", metadata, "set_reminder")
    )
    assert slots["reminder_participant"] is None and slots["reminder_time"] is None


# --- the form ---


def fresh(person: Person, at: str | None = "19:00", on_file: bool = False) -> dict:
    return {
        "reminder_time": at,
        "reminder_participant": person.id,
        "reminder_email_on_file": on_file,
    }


def test_a_time_and_no_address_on_file_asks_for_the_address(person: Person, db_url) -> None:
    slots, said = run(
        ValidateReminderForm(),
        activation_tracker(fresh(person), "remind me every day at 7pm", person.metadata),
    )
    assert slots["reminder_time"] == "19:00"
    assert slots["requested_slot"] == "reminder_email"
    assert said == [] and stored(db_url) == []


def test_the_address_stores_the_reminder(person: Person, db_url: str) -> None:
    slots, said = run(
        ValidateReminderForm(),
        answer_tracker("reminder_email", fresh(person), f"it's {EMAIL}", person.metadata),
    )
    assert slots["reminder_email"] == EMAIL
    assert slots["reminder_saved"] is True and slots["requested_slot"] is None
    assert said == []
    [row] = stored(db_url)
    assert (row.participant_id, row.email, row.local_time) == (person.id, EMAIL, "19:00")
    assert row.timezone == get_settings().clinic.timezone and row.active is True


def test_an_address_on_file_is_kept_and_the_time_changed_at_once(
    person: Person, db_url: str
) -> None:
    give_reminder(db_url, person, "18:00")
    with get_sessionmaker(db_url)() as session, session.begin():
        reminders.stop_reminder(session, person.id)
    slots, _ = run(
        ValidateReminderForm(),
        activation_tracker(
            fresh(person, "08:00", on_file=True), "remind me at 8 in the morning", person.metadata
        ),
    )
    assert slots["reminder_saved"] is True and slots["requested_slot"] is None
    [row] = stored(db_url)
    assert (row.email, row.local_time, row.active, row.stopped_at) == (EMAIL, "08:00", True, None)


def test_a_time_in_quiet_hours_is_refused_and_asked_again(person: Person, db_url: str) -> None:
    slots, said = run(
        ValidateReminderForm(),
        activation_tracker(fresh(person, "23:00"), "remind me at 11pm", person.metadata),
    )
    assert slots["reminder_time"] is None and slots["requested_slot"] == "reminder_time"
    assert texts(said) == [
        "Sorry, I don't send reminders between 10 pm and 7 am, so your evenings and nights stay "
        "quiet."
    ]
    assert stored(db_url) == []
    # ... and a time outside them is taken
    slots, said = run(
        ValidateReminderForm(),
        answer_tracker("reminder_time", fresh(person, None), "9pm", person.metadata),
    )
    assert slots["reminder_time"] == "21:00" and slots["requested_slot"] == "reminder_email"


def test_a_new_time_where_the_address_was_asked_changes_the_time(
    person: Person, db_url: str
) -> None:
    slots, said = run(
        ValidateReminderForm(),
        answer_tracker(
            "reminder_email", fresh(person), "actually make it 8am", person.metadata, "inform"
        ),
    )
    assert slots["reminder_time"] == "08:00" and slots["requested_slot"] == "reminder_email"
    assert said == [] and stored(db_url) == []
    slots, said = run(
        ValidateReminderForm(),
        answer_tracker("reminder_email", fresh(person), "no wait, 11pm", person.metadata),
    )
    assert slots["reminder_time"] is None and slots["requested_slot"] == "reminder_time"
    assert "between 10 pm and 7 am" in texts(said)[0]
    # crisis language with a time in it is still a crisis, not a new time
    slots, said = run(
        ValidateReminderForm(),
        answer_tracker(
            "reminder_email", fresh(person), "i will kill myself at 7pm", person.metadata, "crisis"
        ),
    )
    assert "reminder_time" not in slots and said == []


def test_an_unreadable_time_is_asked_again(person: Person, db_url: str) -> None:
    slots, said = run(
        ValidateReminderForm(),
        answer_tracker("reminder_time", fresh(person, None), "whenever", person.metadata),
    )
    assert slots["reminder_time"] is None and slots["requested_slot"] == "reminder_time"
    assert "couldn't read a time" in texts(said)[0]


def test_a_bad_address_is_asked_again(person: Person, db_url: str) -> None:
    slots, said = run(
        ValidateReminderForm(),
        answer_tracker("reminder_email", fresh(person), "sam at gmail", person.metadata),
    )
    assert slots["reminder_email"] is None and slots["requested_slot"] == "reminder_email"
    assert "doesn't look like an e-mail address" in texts(said)[0]
    assert stored(db_url) == []


def test_a_reminder_error_is_said_and_its_question_asked_again(
    person: Person, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args, **kwargs):
        raise reminders.ReminderError("that does not look like an e-mail address")

    monkeypatch.setattr(reminders, "set_reminder", refuse)
    slots, said = run(
        ValidateReminderForm(),
        answer_tracker("reminder_email", fresh(person), EMAIL, person.metadata),
    )
    assert texts(said) == ["Sorry, that does not look like an e-mail address."]
    assert slots["reminder_email"] is None and slots["requested_slot"] == "reminder_email"
    assert "reminder_saved" not in slots


def test_stop_confirmed_stores_nothing_even_with_an_address_on_file(
    person: Person, db_url: str
) -> None:
    give_reminder(db_url, person, "18:00")
    asked = {**fresh(person, on_file=True), "stop_requested": True}
    slots, said = run(
        ValidateReminderForm(),
        answer_tracker("confirm_stop", asked, "yes", person.metadata, "affirm"),
    )
    assert slots["confirm_stop"] is True and slots["requested_slot"] is None
    assert said == [] and "reminder_saved" not in slots
    assert [r.local_time for r in stored(db_url)] == ["18:00"]


def test_no_keep_going_asks_the_interrupted_question_again(person: Person, db_url: str) -> None:
    asked = {**fresh(person, None), "stop_requested": True}
    slots, _ = run(
        ValidateReminderForm(),
        answer_tracker("confirm_stop", asked, "no", person.metadata, "deny"),
    )
    assert slots["stop_requested"] is None and slots["requested_slot"] == "reminder_time"


def test_a_crisis_is_not_read_as_an_answer(person: Person, db_url: str) -> None:
    slots, said = run(
        ValidateReminderForm(),
        answer_tracker(
            "reminder_email", fresh(person), "i want to kill myself", person.metadata, "crisis"
        ),
    )
    assert "reminder_email" not in slots and said == []  # the form rejects; the rules answer
    assert stored(db_url) == []


def test_without_the_same_participant_the_form_ends_and_stores_nothing(
    person: Person, db_url: str
) -> None:
    for metadata in (None, {TOKEN_HASH_KEY: hash_token("someone-else")}):
        slots, _ = run(
            ValidateReminderForm(),
            answer_tracker("reminder_email", fresh(person), EMAIL, metadata),
        )
        assert slots["requested_slot"] is None and "reminder_saved" not in slots
    with get_sessionmaker(db_url)() as session, session.begin():
        revoke(session, person.id)
    slots, _ = run(
        ValidateReminderForm(),
        answer_tracker("reminder_email", fresh(person), EMAIL, person.metadata),
    )
    assert slots["requested_slot"] is None
    assert stored(db_url) == []


def test_a_failure_is_logged_without_the_address(
    person: Person, db_url: str, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError(f"database down while saving {EMAIL}")

    monkeypatch.setattr(reminders, "set_reminder", broken)
    with caplog.at_level(logging.DEBUG):
        _, said = run(
            ValidateReminderForm(),
            answer_tracker("reminder_email", fresh(person), EMAIL, person.metadata),
        )
    assert said  # a calm reply
    assert "RuntimeError" in caplog.text
    assert EMAIL not in caplog.text and "sam.lee" not in caplog.text


# --- the reply after the form, and stopping ---


def test_submit_confirms_the_stored_reminder(person: Person, db_url: str) -> None:
    give_reminder(db_url, person, "19:00")
    slots = {**fresh(person), "reminder_saved": True, "reminder_email": EMAIL}
    cleared, said = run(
        ActionSubmitReminder(), plain_tracker("x", person.metadata, "inform", slots)
    )
    assert texts(said) == [
        "Done: I'll e-mail you a check-in reminder every day at 7 pm (New York time). Each "
        "e-mail has a link to stop them, or just tell me 'stop reminders'."
    ]
    assert cleared["reminder_email"] is None and cleared["reminder_time"] is None


def test_submit_after_stop_or_for_a_visitor(person: Person, db_url: str) -> None:
    stopped = {**fresh(person), "confirm_stop": True}
    _, said = run(ActionSubmitReminder(), plain_tracker("yes", person.metadata, "affirm", stopped))
    assert texts(said) == ["utter_reminder_cancelled"]
    _, said = run(ActionSubmitReminder(), plain_tracker("x", None, "inform", fresh(person)))
    assert texts(said) == ["utter_reminder_needs_enrollment"]
    assert stored(db_url) == []


def test_stop_reminders(person: Person, db_url: str) -> None:
    give_reminder(db_url, person)
    stop = plain_tracker("stop reminders", person.metadata, "stop_reminders")
    _, said = run(ActionStopReminders(), stop)
    assert texts(said) == ["utter_reminders_stopped"]
    [row] = stored(db_url)
    assert row.active is False and row.stopped_at is not None
    _, said = run(ActionStopReminders(), stop)
    assert texts(said) == ["utter_no_reminders"]


def test_a_visitor_has_no_reminders_to_stop(person: Person, db_url: str) -> None:
    give_reminder(db_url, person)
    _, said = run(ActionStopReminders(), plain_tracker("stop reminders", None, "stop_reminders"))
    assert texts(said) == ["utter_reminder_needs_enrollment"]
    assert stored(db_url)[0].active is True
