"""The pre-assessment through the REST channel with the real action server: every path by
buttons and by free text, interruptions, validation, and the row and flag it leaves behind."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from bot.db import get_sessionmaker
from bot.db.models import Assessment, Flag
from tests.conftest import Chat

SAFE_BUTTONS = ["/start_assessment", "Yes", "No", "No", "No"]
ADULT_BUTTONS = [
    "18 or older", "Substance use", "Alcohol", "No", "Yes", "No",
    "Several days", "Several days", "Several days", "Several days", "4",
    "Yes", "Evening", "In person", "Yes", "Self-pay", "No",
]  # fmt: skip
BUTTON_PATHS = {
    "iop": SAFE_BUTTONS + ADULT_BUTTONS,
    "outpatient": SAFE_BUTTONS
    + ADULT_BUTTONS[:6]
    + ["Not at all"] * 4
    + ["2"]
    + ADULT_BUTTONS[11:],
    "higher_level_of_care": SAFE_BUTTONS + ADULT_BUTTONS[:3] + ["Yes"] + ADULT_BUTTONS[4:],
    "adolescent_services": SAFE_BUTTONS + ["Under 18", "No"],
    "emergency": ["/start_assessment", "Yes", "Yes", "Yes", "Yes", "Yes"],
}
SAFE_TEXT = ["I'd like to take the screening", "yeah sure", "nah", "no never", "nope"]
ADULT_TEXT = [
    "I'm 34", "mostly drinking", "beer and vodka", "no", "yes I live with my sober sister",
    "not really", "some days", "a few days", "sometimes", "some days", "pretty bad, a 4",
    "I can do 3 evenings", "after work", "in person", "I take the bus", "Aetna", "nah",
]  # fmt: skip
TEXT_PATHS = {
    "iop": SAFE_TEXT + ADULT_TEXT,
    "outpatient": SAFE_TEXT
    + ADULT_TEXT[:6]
    + ["not at all", "never", "not at all", "nope"]
    + ["barely, a 1"]
    + ADULT_TEXT[11:],
    "higher_level_of_care": SAFE_TEXT
    + ADULT_TEXT[:3]
    + ["yeah I drink a fifth every day and get the shakes"]
    + ADULT_TEXT[4:],
    "adolescent_services": SAFE_TEXT + ["im 16", "no thanks"],
    "emergency": ["can you screen me", "ok", "yes", "yeah", "i guess so", "yes"],
}
REFERENCE = re.compile(r"IOP-[2-9A-HJ-NP-Z]{6}")


def assessments(url: str, conversation_id: str) -> list[Assessment]:
    with get_sessionmaker(url)() as session:
        query = select(Assessment).where(Assessment.conversation_id == conversation_id)
        return list(session.execute(query).scalars())


def flags(url: str, conversation_id: str) -> list[Flag]:
    with get_sessionmaker(url)() as session:
        query = select(Flag).where(Flag.conversation_id == conversation_id).order_by(Flag.id)
        return list(session.execute(query).scalars())


def run(chat: Chat, messages: list[str]) -> list[list[dict]]:
    return [chat.say(message) for message in messages]


def text_of(replies: list[dict]) -> str:
    return " ".join(r.get("text", "") for r in replies)


def assert_stored(url: str, chat: Chat, level: str, last: list[dict]) -> Assessment:
    rows = assessments(url, chat.sender)
    assert [r.recommendation for r in rows] == [level]
    row = rows[0]
    assert REFERENCE.fullmatch(row.reference) and row.reference in text_of(last)
    followups = [f for f in flags(url, chat.sender) if f.kind == "assessment_followup"]
    assert len(followups) == 1 and followups[0].assessment_id == row.id
    assert followups[0].severity == ("urgent" if level == "emergency" else "normal")
    return row


@pytest.mark.parametrize("level", list(BUTTON_PATHS))
def test_every_level_by_buttons_alone(chat: Chat, stack_database_url: str, level: str) -> None:
    replies = run(chat, BUTTON_PATHS[level])
    for turn in replies[:-1]:
        assert turn and turn[-1].get("buttons") or "How old" in text_of(turn), text_of(turn)
    row = assert_stored(stack_database_url, chat, level, replies[-1])
    assert row.answers["consent"] is True
    if level == "emergency":
        assert "988" in text_of(replies[-1]) and "911" in text_of(replies[-1])
        assert replies[-1][-1]["text"] == "Are you safe right now?"
        assert "age" not in row.answers  # the form stopped at the urgent answer
    else:
        assert "because" in text_of(replies[-1]) and "not a diagnosis" in text_of(replies[-1])


@pytest.mark.parametrize("level", list(TEXT_PATHS))
def test_every_level_by_free_text_alone(chat: Chat, stack_database_url: str, level: str) -> None:
    replies = run(chat, TEXT_PATHS[level])
    row = assert_stored(stack_database_url, chat, level, replies[-1])
    if level == "iop":
        assert row.answers["age"] == 34
        assert row.answers["substances"] == ["alcohol"]
        assert row.answers["can_attend"] is True and row.answers["preferred_time"] == "evening"
        assert row.answers["insurance"] == "Aetna"
        assert (row.phq2, row.gad2) == (2, 2)  # "some days", "a few days": 1 each
        assert row.contact_phone is None and row.contact_email is None


def test_every_answer_is_stored_with_both_scores(chat: Chat, stack_database_url: str) -> None:
    run(chat, BUTTON_PATHS["iop"])
    row = assessments(stack_database_url, chat.sender)[0]
    assert row.answers == {
        "consent": True, "wish_dead": False, "suicidal_thoughts": False,
        "suicidal_behavior": False, "age": "18_plus", "concern": "substance",
        "substances": ["alcohol"], "withdrawal_risk": False, "safe_housing": True,
        "recent_higher_care": False, "phq_interest": 1, "phq_depressed": 1, "gad_nervous": 1,
        "gad_worry": 1, "impact": 4, "can_attend": True, "preferred_time": "evening",
        "attend_format": "in_person", "transportation": True, "insurance": "self-pay",
        "wants_contact": False,
    }  # fmt: skip
    assert (row.phq2, row.gad2, row.status) == (2, 2, "new")


def test_contact_details_are_validated_and_stored_with_consent(
    chat: Chat, stack_database_url: str
) -> None:
    run(chat, BUTTON_PATHS["iop"][:-1] + ["Yes", "my name is sam"])
    reask = text_of(chat.say("call me maybe"))
    assert "phone number or email" in reask
    assert "10-digit" in text_of(chat.say("555-12"))
    chat.say("555-010-4477")
    last = chat.say("Morning")
    row = assessments(stack_database_url, chat.sender)[0]
    assert (row.contact_name, row.contact_phone, row.contact_time) == (
        "Sam", "(555) 010-4477", "morning"
    )  # fmt: skip
    assert "in touch" in text_of(last)


def test_invalid_answers_are_reasked_and_never_stored(chat: Chat, stack_database_url: str) -> None:
    run(chat, SAFE_BUTTONS)
    assert "age in years" in text_of(chat.say("old enough"))
    assert "doesn't look like an age" in text_of(chat.say("250"))
    chat.say("34")
    chat.say("Both")
    chat.say("Cannabis")
    assert "yes or no" in text_of(chat.say("purple")).lower()  # withdrawal risk
    assert assessments(stack_database_url, chat.sender) == []


def test_why_gets_a_reason_then_the_same_question(chat: Chat) -> None:
    run(chat, SAFE_BUTTONS)
    replies = chat.say("why do you need to know that?")
    assert "18 and over" in text_of(replies)
    assert "How old are you?" in replies[-1]["text"]


def test_faq_mid_form_is_answered_and_the_form_resumes(chat: Chat, stack_database_url: str) -> None:
    run(chat, SAFE_BUTTONS)
    replies = chat.say("how many weeks does the program last?")
    assert "8 to 12 weeks" in text_of(replies)
    assert "How old are you?" in replies[-1]["text"]
    run(chat, ["34"] + ADULT_BUTTONS[1:])
    assert [a.recommendation for a in assessments(stack_database_url, chat.sender)] == ["iop"]


def test_stop_asks_first_then_no_continues_and_yes_leaves_nothing(
    chat: Chat, stack_database_url: str
) -> None:
    run(chat, SAFE_BUTTONS + ["34"])
    assert "Nothing from this will be saved" in text_of(chat.say("stop"))
    assert "mainly like help with" in text_of(chat.say("No"))  # the same question again
    chat.say("I want to stop")
    assert "nothing from it was saved" in text_of(chat.say("yes"))
    assert assessments(stack_database_url, chat.sender) == []
    assert flags(stack_database_url, chat.sender) == []
    # The next message is not read as an answer to an old question.
    assert "How old" not in text_of(chat.say("34"))


def test_declining_consent_leaves_nothing(chat: Chat, stack_database_url: str) -> None:
    replies = run(chat, ["/start_assessment", "No"])
    assert "nothing was saved" in text_of(replies[-1])
    assert assessments(stack_database_url, chat.sender) == []


def test_restart_begins_again_and_stores_one_row(chat: Chat, stack_database_url: str) -> None:
    run(chat, SAFE_BUTTONS + ["34", "Both"])
    replies = chat.say("can we start over")
    assert "Shall we begin?" in text_of(replies)
    run(chat, BUTTON_PATHS["adolescent_services"][1:])
    rows = assessments(stack_database_url, chat.sender)
    assert [r.recommendation for r in rows] == ["adolescent_services"]
    assert "concern" not in rows[0].answers  # answers from before the restart are gone


def test_crisis_mid_form_ends_it_with_help_and_one_urgent_flag(
    chat: Chat, stack_database_url: str
) -> None:
    run(chat, SAFE_BUTTONS + ["34"])
    replies = chat.say("honestly i just want to end my life")
    assert "988" in text_of(replies) and replies[-1]["text"] == "Are you safe right now?"
    assert [(f.kind, f.severity) for f in flags(stack_database_url, chat.sender)] == [
        ("crisis", "urgent")
    ]
    assert "safe right now" in text_of(chat.say("/affirm"))
    assert "help with" not in text_of(chat.say("Both"))  # no cheerful return to the form
    assert assessments(stack_database_url, chat.sender) == []


def test_parallel_conversations_never_mix_answers(stack, stack_database_url: str) -> None:
    first, second = Chat(stack), Chat(stack)
    scripts = [(first, BUTTON_PATHS["iop"]), (second, BUTTON_PATHS["higher_level_of_care"])]

    def interleaved(index: int) -> None:
        chat, script = scripts[index]
        for message in script:
            chat.say(message)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(interleaved, [0, 1]))
    a = assessments(stack_database_url, first.sender)
    b = assessments(stack_database_url, second.sender)
    assert [x.recommendation for x in a] == ["iop"] and a[0].answers["withdrawal_risk"] is False
    assert [x.recommendation for x in b] == ["higher_level_of_care"]
    assert b[0].answers["withdrawal_risk"] is True and a[0].reference != b[0].reference
