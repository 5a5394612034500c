"""The product as a visitor meets it: REST channel, trained model, real action server."""

from __future__ import annotations

import pytest
import yaml

from bot.settings import REPO_ROOT, get_settings
from tests.conftest import Chat

RESPONSES = yaml.safe_load((REPO_ROOT / "data" / "responses" / "faq.yml").read_text())["responses"]
DOMAIN = yaml.safe_load((REPO_ROOT / "domain.yml").read_text())["responses"]
VALUES = get_settings().clinic.response_values()


def rendered(templates: list[dict]) -> set[str]:
    """The texts a response can produce once the clinic's details are filled in."""
    return {" ".join(t["text"].format(**VALUES).split()) for t in templates}


def squash(text: str) -> str:
    return " ".join(text.split())


# One question per topic, phrased unlike the training examples.
FAQ_QUESTIONS = {
    "what_is_iop": "Could you explain what an IOP is?",
    "iop_vs_inpatient": "Do I have to live at the clinic, like in inpatient rehab?",
    "who_is_it_for": "Who is this program meant for?",
    "schedule": "What days and times do the groups meet?",
    "duration": "How long is the program, start to finish?",
    "therapies": "What kind of therapy approaches do you use?",
    "group_therapy": "I'm nervous about group therapy. What is it like?",
    "individual_counseling": "Do I get my own counselor for one-on-one sessions?",
    "family_involvement": "Can my parents be involved in my treatment?",
    "workshops": "What workshops or life skills classes are there?",
    "relapse_prevention": "What if I relapse during the program?",
    "drug_testing": "Do you do urine testing?",
    "work_school": "Can I still go to college classes while doing this?",
    "cost_insurance": "How much does IOP cost?",
    "transportation_telehealth": "Is there a virtual option? I don't have a car.",
    "confidentiality": "Will my employer find out I'm in treatment?",
    "dual_diagnosis": "I struggle with anxiety and with pills. Can you help with both?",
    "aftercare": "What happens after I graduate from the program?",
    "effectiveness": "Is IOP effective?",
    "getting_started": "What's the first step to get enrolled?",
    "medication": "Can I take my antidepressants while in the program?",
    "detox_withdrawal": "Is it safe to stop drinking on my own before I start?",
    "contact": "Where are you located?",
}


def test_every_faq_topic_has_a_question_here() -> None:
    assert {key.split("/", 1)[1] for key in RESPONSES} == set(FAQ_QUESTIONS)


def test_first_reply_says_it_is_an_automated_assistant(chat: Chat) -> None:
    replies = chat.say("hi")
    first = replies[0]["text"]
    assert "automated assistant" in first
    assert get_settings().clinic.name in first
    assert "988" in first and "911" in first
    greeting = replies[-1]
    assert {b["title"] for b in greeting["buttons"]} >= {"What is IOP?", "Talk to a person"}


def test_intro_comes_once_per_conversation(chat: Chat) -> None:
    chat.say("hello")
    later = chat.texts("what is iop?")
    assert not any("automated assistant" in text for text in later)


@pytest.mark.parametrize("topic", sorted(FAQ_QUESTIONS))
def test_faq_topic_answered_with_its_own_answer(chat: Chat, topic: str) -> None:
    texts = [squash(t) for t in chat.texts(FAQ_QUESTIONS[topic])]
    answer = texts[-1]
    assert answer in rendered(RESPONSES[f"utter_faq/{topic}"]), answer
    assert "{" not in answer and "}" not in answer


def test_contact_answer_uses_clinic_settings(chat: Chat) -> None:
    answer = chat.texts("what's your phone number and address?")[-1]
    clinic = get_settings().clinic
    assert clinic.phone in answer and clinic.address in answer


@pytest.mark.parametrize(
    "message",
    [
        "what's the weather in Chicago this weekend?",
        "who won the Lakers game?",
        "how do I open a savings account",
        "write me a python function that sorts a list",
        "book me a hotel in Paris",
        "what's a good recipe for lasagna",
    ],
)
def test_out_of_scope_gets_an_honest_no(chat: Chat, message: str) -> None:
    answer = squash(chat.texts(message)[-1])
    assert answer in rendered(DOMAIN["utter_out_of_scope"]) | rendered(DOMAIN["utter_default"])
    assert not any(answer in rendered(r) for r in RESPONSES.values())


def test_bot_challenge(chat: Chat) -> None:
    answer = chat.texts("are you a real human?")[-1]
    assert "automated assistant" in answer and "not a person" in answer


def test_two_conversations_do_not_mix(stack) -> None:
    a, b = Chat(stack), Chat(stack)
    assert "automated assistant" in a.texts("hi")[0]
    assert "automated assistant" in b.texts("hello")[0]
    assert not any("automated assistant" in t for t in a.texts("thanks"))


BUTTON_TOPICS = {
    "What's the weekly schedule?": "schedule",
    "How much does IOP cost?": "cost_insurance",
    "How many weeks does the program last?": "duration",
    "Can I keep working while I do IOP?": "work_school",
    "What is group therapy like?": "group_therapy",
    "Do I get one-on-one counseling?": "individual_counseling",
}


def test_every_follow_up_button_is_known_here() -> None:
    payloads = {
        b["payload"]
        for templates in RESPONSES.values()
        for t in templates
        for b in t.get("buttons", [])
    }
    # "/start_assessment" starts the screening (tests/conversations/test_assessment.py).
    assert payloads == {*BUTTON_TOPICS, "/start_assessment"}


@pytest.mark.parametrize(("payload", "topic"), sorted(BUTTON_TOPICS.items()))
def test_follow_up_buttons_lead_to_their_answer(chat: Chat, payload: str, topic: str) -> None:
    answer = squash(chat.texts(payload)[-1])
    assert answer in rendered(RESPONSES[f"utter_faq/{topic}"])
