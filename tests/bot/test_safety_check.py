"""What a reply answers after the direct safety question (bot/safety_check.py), on event dicts."""

from __future__ import annotations

from bot.safety_check import (
    asked_again_just_before,
    asked_just_before,
    picks_earlier_button,
    prompting_message,
)

USED = [{"title": "No", "payload": "No"}, {"title": "Yes, alcohol", "payload": "Yes, alcohol"}]
SAFETY = [{"title": "Yes", "payload": "/affirm"}, {"title": "No, I'm okay", "payload": "/deny"}]


def user(text: str, message_id: str) -> list[dict]:
    return [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "message_id": message_id},
    ]


def reply(*parts: tuple[str, list]) -> list[dict]:
    """Each part: an action name and the buttons of the message it sends."""
    events: list[dict] = []
    for name, buttons in parts:
        events += [
            {"event": "action", "name": name},
            {"event": "bot", "text": name, "data": {"buttons": buttons}},
        ]
    return events


ASKED = [
    *user("nothing matters much right now", "m-1"),
    *reply(("checkin_form", USED), ("utter_safety_check", SAFETY)),
]


def test_a_reply_to_the_safety_question() -> None:
    events = [*ASKED, *user("yes", "m-2")]
    assert asked_just_before(events) and not asked_again_just_before(events)
    assert prompting_message(events)["message_id"] == "m-1"
    assert not asked_just_before([*user("hi", "m-0"), *reply(("utter_greet", [])), *user("y", "m")])


def test_a_button_of_the_earlier_question_answers_that_question() -> None:
    assert picks_earlier_button([*ASKED, *user("Yes, alcohol", "m-2")])
    # "yes" or "no" typed after both questions is the safety question's; so are its buttons.
    for said in ("yes", "No", "nope.", "/affirm", "No, I'm okay"):
        assert not picks_earlier_button([*ASKED, *user(said, "m-2")])


def test_asked_again_after_an_unclear_reply_still_points_at_the_first_message() -> None:
    events = [*ASKED, *user("sometimes", "m-2"), *reply(("utter_safety_check", SAFETY))]
    events += user("yes", "m-3")
    assert asked_just_before(events) and asked_again_just_before(events)
    assert prompting_message(events)["message_id"] == "m-1"
