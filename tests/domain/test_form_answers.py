"""Reading free-text and button answers: every reader, its accepted forms and its re-asks."""

from __future__ import annotations

import pytest

from bot.domain import form_answers
from bot.domain.form_answers import Invalid


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes", True), ("yeah I guess", True), ("yep", True), ("sure thing", True),
        ("I have", True), ("/affirm", True), ("No", False), ("nah", False),
        ("nope, never", False), ("I don't think so", False), ("not really", False),
        ("/deny", False), ("I can't", False),
    ],
)  # fmt: skip
def test_yes_no(text: str, expected: bool) -> None:
    assert form_answers.parse_yes_no(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", True), ("/affirm", True), ("I'm ok", True), ("i’m fine thanks", True),
        ("im safe now", True), ("yeah I'm safe", True), ("all good", True),
        ("no", False), ("/deny", False), ("not really", False), ("I'm not okay", False),
        ("im not safe", False), ("not right now", False),
        # unsure is not safe, for safety's sake (DIET took "not sure" for a yes)
        ("not sure", False), ("idk", False), ("i dont know", False), ("maybe", False),
        ("kind of", False), ("yeah i guess", False),
        # a yes word first does not outweigh a no, a negation or a word of danger
        ("ok no", False), ("yeah no", False), ("uh no", False), ("definitely not", False),
        ("yes and no", False), ("okay, not really", False), ("ok i'm not safe", False),
        ("i am scared", False), ("i am alone right now", False), ("i have a knife", False),
        ("yes i am", True), ("feeling better thanks", True), ("I'm safe, don't worry", True),
        ("yeah I'm safe 🙂", True),
    ],
)  # fmt: skip
def test_are_you_safe_right_now(text: str, expected: bool) -> None:
    assert form_answers.parse_safe_now(text) is expected


@pytest.mark.parametrize(
    "text",
    [
        "help", "why do you ask", "what should I do", "i have a question",
        # more than a plain "I'm safe": asked again, and a second time means not safe
        "yes, I have a plan", "ok i took them all", "sure i will do it tonight", "OK BYE",
        "safe for now", "im ok until he gets home", "yeah right", "safe lol jk", "ok 😭",
        "y u asking", "okay I'll call them",
    ],
)  # fmt: skip
def test_a_reply_to_are_you_safe_that_says_neither(text: str) -> None:
    with pytest.raises(Invalid):
        form_answers.parse_safe_now(text)


@pytest.mark.parametrize("text", ["maybe", "not sure", "kind of", "sometimes"])
def test_unsure_is_reasked_unless_it_counts_as_yes_for_safety(text: str) -> None:
    with pytest.raises(Invalid, match="yes or no"):
        form_answers.parse_yes_no(text)
    assert form_answers.parse_yes_no(text, unsure_means_yes=True) is True


@pytest.mark.parametrize("text", ["purple", "", "🙂", "'; DROP TABLE assessments; --"])
def test_yes_no_rejects_what_is_neither(text: str) -> None:
    with pytest.raises(Invalid):
        form_answers.parse_yes_no(text)


@pytest.mark.parametrize(
    ("text", "age"),
    [("34", 34), ("I'm 34", 34), ("thirty four", 34), ("thirty-four", 34), ("just turned 18", 18),
     ("17", 17), ("seventeen", 17), ("19 years old", 19), ("im 16", 16)],
)  # fmt: skip
def test_age(text: str, age: int) -> None:
    assert form_answers.parse_age(text) == age


@pytest.mark.parametrize("text", ["200", "9", "-5", "old", "between 20 and 30", ""])
def test_age_rejects(text: str) -> None:
    with pytest.raises(Invalid, match="age"):
        form_answers.parse_age(text)


@pytest.mark.parametrize(
    ("text", "score"),
    [("Not at all", 0), ("never", 0), ("Several days", 1), ("some days", 1),
     ("More than half the days", 2), ("most days", 2), ("Nearly every day", 3),
     ("every day", 3), ("all the time", 3), ("0", 0), ("3", 3)],
)  # fmt: skip
def test_frequency(text: str, score: int) -> None:
    assert form_answers.parse_frequency(text) == score


@pytest.mark.parametrize("text", ["5", "12", "banana"])
def test_frequency_rejects(text: str) -> None:
    with pytest.raises(Invalid):
        form_answers.parse_frequency(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", 1), ("5", 5), ("three", 3), ("a little", 2), ("it's ruining my job", 5),
     ("pretty bad", 4), ("not at all", 1)],
)  # fmt: skip
def test_impact(text: str, value: int) -> None:
    assert form_answers.parse_impact(text) == value


@pytest.mark.parametrize("text", ["0", "6", "-1", "whatever"])
def test_impact_rejects(text: str) -> None:
    with pytest.raises(Invalid):
        form_answers.parse_impact(text)


@pytest.mark.parametrize(
    ("text", "can"),
    [("twice a week", False), ("once a week", False), ("3 evenings", True),
     ("three days a week", True), ("I can do 10 hours", True), ("6 hours", False),
     ("weekends only", False), ("yes", True), ("no", False)],
)  # fmt: skip
def test_attendance(text: str, can: bool) -> None:
    assert form_answers.parse_attendance(text) is can


@pytest.mark.parametrize(
    ("text", "value"),
    [("Morning", "morning"), ("after work", "evening"), ("afternoons", "afternoon"),
     ("anytime", "any"), ("evenings are best", "evening")],
)  # fmt: skip
def test_time_of_day(text: str, value: str) -> None:
    assert form_answers.parse_time_of_day(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [("In person", "in_person"), ("online would be better", "virtual"), ("zoom", "virtual"),
     ("either is fine", "either")],
)  # fmt: skip
def test_format(text: str, value: str) -> None:
    assert form_answers.parse_format(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [("I take the bus", True), ("I don't have a car", False), ("yes", True), ("no", False)],
)
def test_transportation(text: str, value: bool) -> None:
    assert form_answers.parse_transportation(text) is value


@pytest.mark.parametrize(
    ("text", "value"),
    [("Substance use", "substance"), ("mostly drinking", "substance"),
     ("Mental health", "mental_health"), ("my anxiety and depression", "mental_health"),
     ("Both", "both"), ("pills and anxiety", "both"), ("xanax", "substance")],
)  # fmt: skip
def test_concern(text: str, value: str) -> None:
    assert form_answers.parse_concern(text) == value


def test_substances_are_named_canonically() -> None:
    assert form_answers.parse_substances("alcohol and weed") == ["alcohol", "cannabis"]
    assert form_answers.parse_substances("fent and xanax bars") == ["opioids", "benzodiazepines"]
    assert form_answers.parse_substances("kratom") == ["other"]


@pytest.mark.parametrize(
    ("text", "value"),
    [("Aetna", "Aetna"), ("blue cross blue shield", "blue cross blue shield"),
     ("Self-pay", "self-pay"), ("no insurance", "self-pay"), ("Not sure", "unsure"),
     ("idk", "unsure")],
)  # fmt: skip
def test_insurance(text: str, value: str) -> None:
    assert form_answers.parse_insurance(text) == value


def test_insurance_rejects_numbers_and_essays() -> None:
    for text in ("12345", "x" * 200):
        with pytest.raises(Invalid):
            form_answers.parse_insurance(text)


@pytest.mark.parametrize(
    ("text", "name"), [("Sam", "Sam"), ("my name is sam", "Sam"), ("Mary-Jo", "Mary-Jo")]
)
def test_first_name(text: str, name: str) -> None:
    assert form_answers.parse_first_name(text) == name


@pytest.mark.parametrize("text", ["<script>", "R2D2", "", "a" * 60])
def test_first_name_rejects(text: str) -> None:
    with pytest.raises(Invalid):
        form_answers.parse_first_name(text)


@pytest.mark.parametrize(
    ("text", "contact"),
    [("555-010-4477", {"phone": "(555) 010-4477"}),
     ("call me at 212 555 0188", {"phone": "(212) 555-0188"}),
     ("+1 (212) 555-0188", {"phone": "(212) 555-0188"}),
     ("Sam@Example.com", {"email": "sam@example.com"}),
     # both given: both kept, whichever comes first
     ("sam@example.com or 555-010-4477", {"email": "sam@example.com", "phone": "(555) 010-4477"}),
     ("(212) 555-0188, sl@example.org", {"email": "sl@example.org", "phone": "(212) 555-0188"}),
     # digits that are no phone number next to an e-mail stay out
     ("sam2024@example.com after 5", {"email": "sam2024@example.com"})],
)  # fmt: skip
def test_contact(text: str, contact: dict) -> None:
    assert form_answers.parse_contact(text) == contact


@pytest.mark.parametrize("text", ["12345", "sam@", "call me", "011 555 0188 22"])
def test_contact_rejects(text: str) -> None:
    with pytest.raises(Invalid, match="phone number or email"):
        form_answers.parse_contact(text)


@pytest.mark.parametrize(
    ("text", "band"),
    [("Under 18", "under_18"), ("18 or older", "18_plus"), ("I'm a minor", "under_18")],
)
def test_age_buttons_give_a_band(text: str, band: str) -> None:
    assert form_answers.parse_age(text) == band
    assert form_answers.is_minor(form_answers.parse_age(text)) is (band == "under_18")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("maybe", True), ("i dont know", True), ("I think about it sometimes", True),
        ("not sure", True), ("idk", True), ("i guess", True),
        # a no, a negation or a question besides the doubt: not a yes
        ("maybe not", False), ("probably not", False), ("no, I'm not sure what you mean", False),
        ("i don't know why you're asking", False), ("not sure what you mean", False),
        ("maybe?", False), ("definitely not", False), ("ok no", False), ("i am fine", False),
        ("yes", False), ("no", False),
        # a check-in scale answer typed after the question
        ("a little", False), ("a bit", False),
        # doubt beside "I'm fine" or "just joking": asked again, not taken for a yes
        ("I'm fine, I guess", False), ("i'm good, probably just tired", False),
        ("all good, i was kinda joking", False), ("i dunno", True), ("sorta", True),
    ],
)  # fmt: skip
def test_only_unsure_counts_as_yes_to_the_safety_question(text: str, expected: bool) -> None:
    assert form_answers.is_only_unsure(text) is expected
