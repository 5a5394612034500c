"""Crisis and human requests through the REST channel: the reply, and the flag staff will see."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.db import get_sessionmaker
from bot.db.models import Flag
from bot.settings import get_settings
from tests.conftest import Chat

VALUES = get_settings().clinic.response_values()


def flags_for(database_url: str, conversation_id: str) -> list[Flag]:
    with get_sessionmaker(database_url)() as session:
        query = select(Flag).where(Flag.conversation_id == conversation_id).order_by(Flag.id)
        return list(session.execute(query).scalars())


@pytest.mark.parametrize(
    "message",
    [
        "I don't want to live anymore",
        "i have a plan to end it",  # DIET once took this for an FAQ; the rule layer catches it
        "my friend is od'ing and wont wake up",
        "kms",
        "my boyfriend hits me and I'm scared to go home",
    ],
)
def test_crisis_gets_the_lines_and_one_urgent_flag(
    chat: Chat, stack_database_url: str, message: str
) -> None:
    replies = chat.say(message)
    texts = " ".join(r.get("text", "") for r in replies)
    assert "988" in texts and "911" in texts and "741741" in texts
    assert replies[-1]["text"] == "Are you safe right now?"
    assert [b["payload"] for b in replies[-1]["buttons"]] == ["/affirm", "/deny"]
    flags = flags_for(stack_database_url, chat.sender)
    assert [(f.kind, f.severity, f.status) for f in flags] == [("crisis", "urgent", "open")]
    assert flags[0].message_id  # points at the exact message
    assert message not in flags[0].reason  # the words stay in the transcript only


def test_crisis_mid_conversation_then_not_safe(chat: Chat, stack_database_url: str) -> None:
    chat.say("hi")
    chat.say("how much does the program cost?")
    chat.say("i want to kill myself")
    answer = chat.texts("/deny")[-1]
    assert "911" in answer and "988" in answer
    assert len(flags_for(stack_database_url, chat.sender)) == 1


def test_safe_after_crisis_gets_support(chat: Chat) -> None:
    chat.say("I've been cutting myself again")
    answer = chat.texts("yes I'm safe")[-1]
    assert "glad you're safe" in answer


@pytest.mark.parametrize(
    ("reply", "safe"),
    [
        ("not sure", False),  # DIET takes it for a yes; unsure is not safe
        ("idk", False),
        ("maybe", False),  # DIET takes it for an FAQ question
        ("i dont know", False),
        ("I'm ok", True),  # DIET's fallback; it says safe
        ("im fine now", True),
        ("ok no", False),  # a yes word first does not outweigh the no
        ("i am alone right now", False),
    ],
)
def test_are_you_safe_is_read_as_an_answer(
    chat: Chat, stack_database_url: str, reply: str, safe: bool
) -> None:
    assert chat.say("i want to kill myself")[-1]["text"] == "Are you safe right now?"
    answer = chat.texts(reply)
    assert len(answer) == 1, answer  # that reply alone, nothing else answers it
    if safe:
        assert "glad you're safe" in answer[0]
    else:
        assert "Please call 911 now" in answer[0] and "988" in answer[0]
    assert len(flags_for(stack_database_url, chat.sender)) == 1


def test_an_unclear_reply_to_are_you_safe_gets_the_question_again(chat: Chat) -> None:
    chat.say("i want to kill myself")
    assert chat.texts("what should I do?") == ["Are you safe right now?"]
    # Still no plain "I'm safe" ("for now" is not one): the emergency numbers.
    assert "Please call 911 now" in chat.texts("safe for now")[0]


def test_each_crisis_message_opens_its_own_flag(chat: Chat, stack_database_url: str) -> None:
    chat.say("I want to die")
    chat.say("I took a whole bottle of pills")
    flags = flags_for(stack_database_url, chat.sender)
    assert [f.kind for f in flags] == ["crisis", "crisis"]
    assert flags[0].message_id != flags[1].message_id


def test_questions_open_no_flags(chat: Chat, stack_database_url: str) -> None:
    chat.say("what is iop")
    chat.say("this schedule is killing me, is it always three days a week?")
    assert flags_for(stack_database_url, chat.sender) == []


def test_request_human_gives_phone_hours_and_a_flag(chat: Chat, stack_database_url: str) -> None:
    answer = " ".join(chat.texts("can I talk to a real person"))
    assert VALUES["clinic_phone"] in answer and VALUES["clinic_hours"] in answer
    assert ("in the office right now" in answer) == get_settings().clinic.is_open()
    flags = flags_for(stack_database_url, chat.sender)
    assert [(f.kind, f.severity) for f in flags] == [("human_request", "normal")]


def test_request_human_offers_a_callback_and_stores_it(chat: Chat, stack_database_url: str) -> None:
    replies = chat.say("can I talk to a real person")
    assert replies[-1]["text"].startswith("Would you like someone from our team")
    assert "first name" in chat.texts("/affirm")[-1]
    chat.say("Sam")
    assert "phone number or email" in chat.texts("not telling")[-1]
    chat.say("555 010 4477, or sam.l@example.org")  # both kept
    confirmation = chat.texts("Afternoon")[-1]
    assert "(555) 010-4477 or sam.l@example.org" in confirmation and "afternoon" in confirmation
    [flag] = flags_for(stack_database_url, chat.sender)
    assert (
        flag.kind,
        flag.callback_name,
        flag.callback_phone,
        flag.callback_email,
        flag.callback_time,
    ) == ("human_request", "Sam", "(555) 010-4477", "sam.l@example.org", "afternoon")


def test_declining_the_callback_stores_no_contact(chat: Chat, stack_database_url: str) -> None:
    chat.say("I want to speak to a human")
    assert "no problem" in chat.texts("/deny")[-1].lower()
    [flag] = flags_for(stack_database_url, chat.sender)
    assert flag.callback_phone is None and flag.callback_email is None
