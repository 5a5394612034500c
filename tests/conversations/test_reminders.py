"""Daily check-in reminders asked for in the chat, through the REST channel with the trained
model, the real action server and real participant tokens: what is stored, changed and stopped,
and what a visitor, a time in quiet hours or a crisis gets."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from bot.db import get_sessionmaker
from bot.db.models import Flag, Reminder
from bot.db.participants import enroll
from tests.conftest import Chat

CONFIRMED = "Done: I'll e-mail you a check-in reminder every day at {} (New York time)."
ASK_TIME = "What time of day suits you?"
ASK_EMAIL = "What e-mail address should I send the reminders to?"
FOR_PARTICIPANTS = "Check-in reminders are for people enrolled in our program"


@dataclass
class Person:
    """An enrolled participant and their conversation."""

    id: int
    token: str
    chat: Chat

    def say(self, message: str) -> str:
        replies = self.chat.say(message, metadata={"participant_token": self.token})
        return " ".join(r.get("text", "") for r in replies)


@pytest.fixture
def person(stack, stack_database_url: str) -> Person:
    with get_sessionmaker(stack_database_url)() as session, session.begin():
        enrollment = enroll(session, "Reminder participant")
    return Person(enrollment.participant_id, enrollment.token, Chat(stack))


def reminder(url: str, participant_id: int) -> Reminder | None:
    with get_sessionmaker(url)() as session:
        return session.execute(
            select(Reminder).where(Reminder.participant_id == participant_id)
        ).scalar_one_or_none()


def count(url: str) -> int:
    with get_sessionmaker(url)() as session:
        return session.execute(select(func.count(Reminder.id))).scalar_one()


def test_opt_in_asks_for_the_address_stores_it_and_stop_ends_it(
    person: Person, stack_database_url: str
) -> None:
    assert ASK_EMAIL in person.say("remind me every day at 7pm")
    assert reminder(stack_database_url, person.id) is None
    reply = person.say("sure, it's pat.doe@example.com")
    assert CONFIRMED.format("7 pm") in reply and "stop reminders" in reply
    row = reminder(stack_database_url, person.id)
    assert (row.local_time, row.email, row.timezone, row.active) == (
        "19:00",
        "pat.doe@example.com",
        "America/New_York",
        True,
    )
    # Changing the time keeps the address on file: nothing more is asked.
    assert CONFIRMED.format("6 pm") in person.say("can you change my reminder to 6pm")
    row = reminder(stack_database_url, person.id)
    assert (row.local_time, row.email, row.active) == ("18:00", "pat.doe@example.com", True)

    assert "stopped your daily reminder" in person.say("stop reminders")
    row = reminder(stack_database_url, person.id)
    assert row.active is False and row.stopped_at is not None
    assert "nothing to stop" in person.say("no more reminder emails")


def test_no_time_given_asks_for_one(person: Person, stack_database_url: str) -> None:
    assert ASK_TIME in person.say("can you send me a reminder to check in")
    assert ASK_EMAIL in person.say("8 in the morning")
    assert CONFIRMED.format("8 am") in person.say("pat@example.org")
    assert reminder(stack_database_url, person.id).local_time == "08:00"


def test_a_time_in_quiet_hours_is_refused_and_asked_again(
    person: Person, stack_database_url: str
) -> None:
    reply = person.say("remind me at 11pm")
    assert "don't send reminders between 10 pm and 7 am" in reply and ASK_TIME in reply
    assert reminder(stack_database_url, person.id) is None
    assert ASK_EMAIL in person.say("9pm then")
    assert CONFIRMED.format("9 pm") in person.say("pat@example.net")
    assert reminder(stack_database_url, person.id).local_time == "21:00"


def test_a_new_time_instead_of_the_address(person: Person, stack_database_url: str) -> None:
    assert ASK_EMAIL in person.say("remind me every day at 7pm")
    assert ASK_EMAIL in person.say("actually make it 8 in the morning")
    assert CONFIRMED.format("8 am") in person.say("pat@example.com")
    assert reminder(stack_database_url, person.id).local_time == "08:00"


def test_cancel_confirmed_stores_nothing(person: Person, stack_database_url: str) -> None:
    assert ASK_EMAIL in person.say("remind me every day at 7pm")
    assert "Do you want to stop?" in person.say("cancel")
    assert "left your reminders as they were" in person.say("yes")
    assert reminder(stack_database_url, person.id) is None


def test_an_anonymous_visitor_gets_a_plain_reply_and_nothing_is_stored(
    chat: Chat, stack, stack_database_url: str
) -> None:
    before = count(stack_database_url)
    assert FOR_PARTICIPANTS in " ".join(chat.texts("remind me every day at 7pm"))
    forged = Chat(stack)
    replies = forged.say("remind me every day at 7pm", metadata={"participant_token": "nope"})
    assert FOR_PARTICIPANTS in " ".join(r.get("text", "") for r in replies)
    assert FOR_PARTICIPANTS in " ".join(chat.texts("stop the reminders"))
    assert count(stack_database_url) == before


def test_after_a_checkin(person: Person, stack_database_url: str) -> None:
    for message in ["/start_checkin", "4", "2", "Nothing", "No", "Nothing to add"]:
        last = person.say(message)
    assert "Thanks for checking in" in last
    assert ASK_EMAIL in person.say("could you email me a reminder to check in at 8pm every day")
    assert CONFIRMED.format("8 pm") in person.say("pat.checkin@example.com")
    assert reminder(stack_database_url, person.id).local_time == "20:00"


def test_a_crisis_ends_the_form_and_nothing_is_stored(
    person: Person, stack_database_url: str
) -> None:
    assert ASK_EMAIL in person.say("remind me every day at 7pm")
    reply = person.say("i want to kill myself")
    assert "988" in reply and "Are you safe right now?" in reply
    with get_sessionmaker(stack_database_url)() as session:
        crisis = session.execute(
            select(Flag).where(Flag.conversation_id == person.chat.sender)
        ).scalars()
        assert [(f.kind, f.severity) for f in crisis] == [("crisis", "urgent")]
    assert reminder(stack_database_url, person.id) is None
