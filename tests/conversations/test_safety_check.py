"""The direct safety question (bot/rasa/policies.py) through the REST channel and the real actions.

A message the crisis classifier scores between config.yml's `safety_check_floor` and its threshold
is answered as usual, then asked about: "are you having thoughts of ending your life or hurting
yourself, or is someone in danger right now?". Yes is a crisis (lines, urgent flag on the message
that worried us, a form ends); no gets a thank-you and a form asks its question again. The
messages below score in that band with the shipped model (`bench/safety.py --file` or the parse
result's `crisis_classifier` show it); if retraining moves them out of it, these tests say so.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import Chat
from tests.conversations.test_checkin import Person, make_person, rows, text_of
from tests.conversations.test_safety import flags_for

# Giving away a pet is a warning sign; DIET takes it for small talk (out of scope).
WORRYING = "I gave my dog to my neighbor today, she'll take good care of him"
WORRYING_TRIGGER = "nothing matters much right now"  # a check-in's trigger answer
QUESTION = "I want to check on something you wrote"
SAFE_NOW = "Are you safe right now?"


def user_message_ids(tracker_url: str, sender: str) -> list[str]:
    """The ids Rasa gave the user's messages, in order (from the tracker store)."""
    engine = create_engine(tracker_url, future=True)
    try:
        with engine.connect() as connection:
            found = connection.execute(
                text(
                    "SELECT data FROM events WHERE sender_id = :s AND type_name = 'user'"
                    " ORDER BY id"
                ),
                {"s": sender},
            )
            return [json.loads(row.data)["message_id"] for row in found]
    finally:
        engine.dispose()


def pause(tracker_url: str, sender: str, seconds: float) -> None:
    """Move the conversation `seconds` into the past in the tracker store, as if the person had
    gone quiet that long (Rasa reads a session's age from the events' own timestamps)."""
    engine = create_engine(tracker_url, future=True)
    try:
        with engine.begin() as connection:
            found = connection.execute(
                text("SELECT id, data FROM events WHERE sender_id = :s"), {"s": sender}
            ).all()
            for row in found:
                data = json.loads(row.data)
                data["timestamp"] -= seconds
                connection.execute(
                    text("UPDATE events SET data = :d, timestamp = :t WHERE id = :i"),
                    {"d": json.dumps(data), "t": data["timestamp"], "i": row.id},
                )
    finally:
        engine.dispose()


def asked(replies: list[dict]) -> bool:
    """The turn ends with the safety question and its yes / no buttons."""
    last = replies[-1] if replies else {}
    payloads = [b["payload"] for b in last.get("buttons", [])]
    return last.get("text", "").startswith(QUESTION) and payloads == ["/affirm", "/deny"]


def test_a_worrying_message_is_answered_then_asked_about(
    chat: Chat, stack_database_url: str
) -> None:
    replies = chat.say(WORRYING)
    assert asked(replies), f"no safety question (is {WORRYING!r} still in the band?)"
    assert len(replies) >= 2  # the usual reply came first
    # A question, not an escalation: no crisis reply (the welcome names 988 to everyone), no flag.
    assert "741741" not in text_of(replies) and SAFE_NOW not in [r.get("text") for r in replies]
    assert flags_for(stack_database_url, chat.sender) == []
    # Neither yes nor no: asked once more (and nothing else answers it first), then not again.
    again = chat.say(WORRYING)
    assert asked(again) and len(again) == 1
    assert not asked(chat.say(WORRYING))


def test_yes_gets_the_crisis_lines_and_one_flag_on_the_worrying_message(
    chat: Chat, stack_database_url: str, stack_tracker_url: str
) -> None:
    assert asked(chat.say(WORRYING))
    replies = chat.say("yes")
    said = text_of(replies)
    assert "988" in said and "911" in said and "741741" in said
    assert replies[-1]["text"] == SAFE_NOW
    [flag] = flags_for(stack_database_url, chat.sender)
    assert (flag.kind, flag.severity, flag.status) == ("crisis", "urgent", "open")
    assert flag.reason.startswith("Said yes when asked directly about safety")
    worrying_id, yes_id = user_message_ids(stack_tracker_url, chat.sender)
    assert flag.message_id == worrying_id != yes_id


def test_no_gets_thanks_and_no_flag(chat: Chat, stack_database_url: str) -> None:
    assert asked(chat.say(WORRYING))
    said = text_of(chat.say("no"))
    assert "Thank you for telling me" in said and "988" in said  # where help is, if it changes
    assert flags_for(stack_database_url, chat.sender) == []


@pytest.fixture
def person(stack, stack_database_url: str) -> Person:
    return make_person(stack, stack_database_url, "Safety question participant")


def test_no_mid_checkin_asks_the_same_question_again_and_the_checkin_completes(
    person: Person, stack_database_url: str
) -> None:
    person.run(["/start_checkin", "4", "2"])
    replies = person.say(WORRYING_TRIGGER)
    assert asked(replies), f"no safety question (is {WORRYING_TRIGGER!r} still in the band?)"
    pending = replies[-2]["text"]  # the check-in's next question, a yes / no one
    again = person.say("no")  # to the safety question, not to the pending one
    assert "Thank you for telling me" in text_of(again) and again[-1]["text"] == pending
    person.run(["Yes, alcohol", "Nothing to add"])
    [row] = rows(stack_database_url, person.id)
    assert row.used_since_last is True  # the "no" was not taken as the answer
    assert not [f for f in flags_for(stack_database_url, person.chat.sender) if f.kind == "crisis"]


def test_yes_mid_checkin_ends_it_with_the_crisis_lines_and_a_flag(
    person: Person, stack_database_url: str
) -> None:
    person.run(["/start_checkin", "4", "2"])
    assert asked(person.say(WORRYING_TRIGGER))
    replies = person.say("yes")
    assert "988" in text_of(replies) and replies[-1]["text"] == SAFE_NOW
    flags = flags_for(stack_database_url, person.chat.sender)
    assert [(f.kind, f.severity) for f in flags] == [("crisis", "urgent")]
    assert flags[0].participant_id == person.id
    # The check-in ended: the next message is not read as its answer, and nothing was stored.
    person.say("No")
    assert rows(stack_database_url, person.id) == []


def test_an_unclear_reply_is_asked_once_more_and_a_yes_still_flags_the_first_message(
    chat: Chat, stack_database_url: str, stack_tracker_url: str
) -> None:
    assert asked(chat.say(WORRYING))
    again = chat.say("what do you mean?")
    assert asked(again) and len(again) == 1  # nothing else answers it first
    assert "741741" in text_of(chat.say("yes"))
    [flag] = flags_for(stack_database_url, chat.sender)
    assert flag.message_id == user_message_ids(stack_tracker_url, chat.sender)[0]


def test_a_button_of_the_checkin_question_after_the_safety_question_answers_the_checkin(
    person: Person, stack_database_url: str
) -> None:
    person.run(["/start_checkin", "4", "2"])
    assert asked(person.say(WORRYING_TRIGGER))
    # "Yes, alcohol" is the pending check-in question's button, not a yes to the safety question.
    assert "741741" not in text_of(person.say("Yes, alcohol"))
    person.say("Nothing to add")
    [row] = rows(stack_database_url, person.id)
    assert row.used_since_last is True and row.substances_used == "alcohol"
    assert not [f for f in flags_for(stack_database_url, person.chat.sender) if f.kind == "crisis"]


def test_not_asked_after_an_answer_to_the_screenings_own_suicide_question(
    chat: Chat, stack_database_url: str
) -> None:
    # Consent, no wish to be dead, no thoughts, yes to ever having prepared: "within 3 months?"
    for message in ["/start_assessment", "Yes", "No", "No", "Yes"]:
        chat.say(message)
    # scores in the band (0.40; "...I had a rope in the garage" escalates since the crisis
    # classifier trains on real posts)
    history = "no, it was 2 years ago, I had pills saved up in the garage"
    replies = chat.say(history)
    # The screening just asked about suicide itself: it goes on to its next question.
    assert not asked(replies), f"safety question after the screening's own ({history!r})"
    assert replies[-1]["text"].startswith("Thank you for answering those. How old are you?")
    assert not flags_for(stack_database_url, chat.sender)


def test_a_yes_after_the_session_expired_still_gets_help_and_flags_the_worrying_message(
    chat: Chat, stack_database_url: str, stack_tracker_url: str
) -> None:
    assert asked(chat.say(WORRYING))
    pause(stack_tracker_url, chat.sender, 2 * 3600)  # sessions expire after 60 minutes
    replies = chat.say("yes")
    said = text_of(replies)
    assert "741741" in said and replies[-1]["text"] == SAFE_NOW
    [flag] = flags_for(stack_database_url, chat.sender)
    assert (flag.kind, flag.severity) == ("crisis", "urgent")
    assert flag.reason.startswith("Said yes when asked directly about safety (crisis classifier")
    worrying_id, yes_id = user_message_ids(stack_tracker_url, chat.sender)
    assert flag.message_id == worrying_id != yes_id


def test_after_the_session_expired_anything_but_an_answer_gets_the_question_again(
    chat: Chat, stack_database_url: str, stack_tracker_url: str
) -> None:
    assert asked(chat.say(WORRYING))
    pause(stack_tracker_url, chat.sender, 2 * 3600)
    replies = chat.say("hi, are you there?")
    assert asked(replies)  # after the new session's introduction
    assert "thank you" in text_of(chat.say("no")).lower()
    assert flags_for(stack_database_url, chat.sender) == []


def test_a_late_no_to_are_you_safe_gets_the_emergency_numbers(
    chat: Chat, stack_database_url: str, stack_tracker_url: str
) -> None:
    assert chat.say("i want to kill myself")[-1]["text"] == SAFE_NOW
    pause(stack_tracker_url, chat.sender, 2 * 3600)
    said = text_of(chat.say("no"))
    assert "Please call 911 now" in said
    # Still the one flag the crisis message opened.
    assert [(f.kind, f.severity) for f in flags_for(stack_database_url, chat.sender)] == [
        ("crisis", "urgent")
    ]


@pytest.mark.parametrize("reply", ["i dont know", "maybe", "I think about it sometimes"])
def test_unsure_counts_as_yes(
    chat: Chat, stack_database_url: str, stack_tracker_url: str, reply: str
) -> None:
    # DIET reads "i dont know" as deny ("Thank you for telling me") and "maybe" as an FAQ.
    assert asked(chat.say(WORRYING))
    replies = chat.say(reply)
    assert "741741" in text_of(replies) and replies[-1]["text"] == SAFE_NOW
    [flag] = flags_for(stack_database_url, chat.sender)
    assert flag.severity == "urgent" and flag.reason.startswith("Was unsure when asked directly")
    assert flag.message_id == user_message_ids(stack_tracker_url, chat.sender)[0]


def test_unsure_mid_checkin_ends_it_with_the_crisis_lines(
    person: Person, stack_database_url: str
) -> None:
    person.run(["/start_checkin", "4", "2"])
    assert asked(person.say(WORRYING_TRIGGER))
    replies = person.say("idk")
    assert "741741" in text_of(replies) and replies[-1]["text"] == SAFE_NOW
    assert [f.severity for f in flags_for(stack_database_url, person.chat.sender)] == ["urgent"]
    person.say("No")  # not read as the check-in's answer: it ended
    assert rows(stack_database_url, person.id) == []
