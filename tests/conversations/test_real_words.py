"""Graded safety, greetings with a request, and off-topic questions, as a visitor meets them:
REST channel, trained model, real action server. The messages are this file's own (none is a
training example or comes from a held-out set)."""

from __future__ import annotations

import pytest
import yaml

from bot.settings import REPO_ROOT, get_settings
from tests.conftest import Chat
from tests.conversations.test_safety import flags_for

DOMAIN = yaml.safe_load((REPO_ROOT / "domain.yml").read_text())["responses"]
VALUES = get_settings().clinic.response_values()


def squash(text: str) -> str:
    return " ".join(text.split())


def distress_reply() -> str:
    return squash(DOMAIN["utter_distress"][0]["text"].format(**VALUES))


@pytest.mark.parametrize(
    "message",
    [
        "My fiance went back to using last month and I have no clue how to reach him anymore.",
        "I feel like I've been failing at everything since my divorce.",
    ],
)
def test_distress_gets_a_warm_reply_and_no_crisis_lines(
    chat: Chat, stack_database_url: str, message: str
) -> None:
    replies = chat.say(message)
    texts = " ".join(squash(r.get("text", "")) for r in replies)
    assert "741741" not in texts and "Are you safe right now?" not in texts
    assert [f.kind for f in flags_for(stack_database_url, chat.sender)] == []
    assert "Sorry, I can't help with that" not in texts
    assert "not sure I understood" not in texts
    assert distress_reply() in texts


@pytest.mark.parametrize(
    "message",
    [
        "hello, can you tell me if your program would fit someone like me?",
        "hey there, i want to find out what level of care i need",
    ],
)
def test_a_greeting_with_a_screening_request_starts_the_screening(chat: Chat, message: str) -> None:
    replies = chat.say(message)
    texts = " ".join(r.get("text", "") for r in replies)
    greeting = squash(DOMAIN["utter_greet"][0]["text"])
    assert greeting not in squash(texts)
    buttons = [b["payload"] for r in replies for b in r.get("buttons", [])]
    # the screening starts (its first question) or is offered as a button
    assert "/start_assessment" in buttons or "screening" in texts.lower()


@pytest.mark.parametrize(
    "message",
    [
        "hey, I need some help with my drinking",
        "hi there, i think i'm addicted to painkillers and want to stop",
    ],
)
def test_a_greeting_with_a_request_for_help_offers_the_screening(chat: Chat, message: str) -> None:
    replies = chat.say(message)
    buttons = [b["payload"] for r in replies for b in r.get("buttons", [])]
    texts = squash(" ".join(r.get("text", "") for r in replies))
    assert squash(DOMAIN["utter_greet"][0]["text"]) not in texts
    assert "/start_assessment" in buttons


@pytest.mark.parametrize(
    "message",
    [
        "how do i reset the password on my online banking",
        "who won the world series in 1998",
        "turn the living room lights off",
        "book me a table for two at an italian place tonight",
    ],
)
def test_off_topic_questions_get_the_honest_answer(chat: Chat, message: str) -> None:
    replies = chat.say(message)
    texts = squash(" ".join(r.get("text", "") for r in replies))
    assert "can't help with that" in texts or "not sure I understood" in texts


def safety_question() -> str:
    return squash(DOMAIN["utter_safety_check"][0]["text"])


@pytest.mark.parametrize(
    "message",
    [
        # a saying quoted, then a question about the program
        "My sponsor likes to say that relapse doesn't mean you should end it all and throw away"
        " your progress, you just pick up the phone. I've been sober eight months and I'd like to"
        " know if your program has an alumni group or step-down sessions after the intensive part"
        " ends.",
        # a story retold, then a family's question
        "Our book club read a novel where the main character tries to end her life in chapter"
        " three, and it got my sister and me talking about our mom's drinking. She won't admit"
        " there's a problem. Do you have anything for families, like a group or a counselor we"
        " could see first?",
    ],
)
def test_a_paragraph_with_crisis_words_gets_the_question_not_the_crisis_lines(
    chat: Chat, stack_database_url: str, message: str
) -> None:
    """A long message whose crisis words only a rule saw (advice, a story) is asked the safety
    question plainly: no crisis lines, no urgent flag, never "I can't help with that"."""
    assert len(message) > 200
    texts = squash(" ".join(r.get("text", "") for r in chat.say(message)))
    assert safety_question() in texts
    assert "741741" not in texts and "Are you safe right now?" not in texts
    assert "Sorry, I can't help with that" not in texts and "not sure I understood" not in texts
    assert flags_for(stack_database_url, chat.sender) == []
