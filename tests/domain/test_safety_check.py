"""Reading a reply to the direct safety question from event dicts (bot/domain/safety_check.py)."""

from __future__ import annotations

from bot.domain.safety_check import (
    applied,
    asked_again_just_before,
    asked_just_before,
    ends_with_yes_no_question,
    picks_earlier_button,
    prompting_message,
    recent,
    requested_before_latest,
    start_of_recent,
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


def chat(turns: int) -> list[dict]:
    """`turns` ordinary exchanges."""
    return [e for n in range(turns) for e in (*user(f"q{n}", f"c-{n}"), *reply(("utter_faq", [])))]


def test_a_message_the_fallback_took_back_is_not_the_one_that_prompted_the_question() -> None:
    # The core fallback (action_default_fallback) rewinds "m-0", then the bot asks about "m-1".
    events = [*user("asdf qwer", "m-0"), {"event": "action", "name": "action_default_fallback"}]
    events += [{"event": "rewind"}, *ASKED, *user("yes", "m-2")]
    assert [e["message_id"] for e in applied(events) if e["event"] == "user"] == ["m-1", "m-2"]
    # Had the fallback taken back the worrying message itself, there is nothing to point at.
    taken_back = [*ASKED, {"event": "rewind"}, *user("yes", "m-2")]
    assert prompting_message(recent(taken_back)) is None
    assert prompting_message(recent(events))["message_id"] == "m-1"


def test_a_new_session_or_a_restart_starts_over() -> None:
    for starts_over in ("session_started", "restart"):
        events = [*ASKED, {"event": starts_over}, *user("yes", "m-2")]
        assert not asked_just_before(recent(events))
        assert not asked_just_before(applied(events))


def test_a_long_conversation_is_read_from_its_last_turns_only() -> None:
    events = [*chat(200), *ASKED, *user("sometimes", "m-2"), *reply(("utter_safety_check", SAFETY))]
    events += user("yes", "m-3")
    tail = recent(events)
    assert len(tail) < 20 and [e["message_id"] for e in tail if e["event"] == "user"] == [
        "m-1",
        "m-2",
        "m-3",
    ]
    assert prompting_message(tail) == prompting_message(events)
    assert asked_again_just_before(tail)
    # A rewound message does not use up one of the turns read: the slice reaches further back.
    rewound = [*chat(5), *user("oops", "m-x"), {"event": "rewind"}, *user("yes", "m-4")]
    start = start_of_recent(rewound, 2)
    assert [e["message_id"] for e in applied(rewound[start:]) if e["event"] == "user"] == [
        "c-4",
        "m-4",
    ]


def test_the_slot_the_form_had_just_asked_for() -> None:
    asked = [
        {"event": "action", "name": "preassessment_form"},
        {"event": "slot", "name": "requested_slot", "value": "behavior_recent"},
        {"event": "bot", "text": "Was that in the past 3 months?"},
    ]
    events = [*user("yes", "m-1"), *asked, *user("no, years ago", "m-2")]
    assert requested_before_latest(events) == "behavior_recent"
    after = [*events, {"event": "slot", "name": "requested_slot", "value": "contact_name"}]
    assert requested_before_latest(after) == "behavior_recent"  # what the message answered
    assert requested_before_latest([*user("hi", "m-1"), *reply(("utter_greet", []))]) is None


def test_a_yes_or_no_question_waits_for_its_answer() -> None:
    offer = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
    assert ends_with_yes_no_question([*user("call me", "m-1"), *reply(("utter_offer", offer))])
    assert not ends_with_yes_no_question([*user("hi", "m-1"), *reply(("utter_greet", []))])
    assert not ends_with_yes_no_question(
        [*user("x", "m-0"), *reply(("utter_offer", offer)), *user("y", "m-1")]
    )


def test_a_question_still_waiting_for_its_answer() -> None:
    from bot.domain.safety_check import pending_question

    assert pending_question(ASKED)["message_id"] == "m-1"
    # Rasa may already have logged the session start; an unclear reply and the question again.
    session = [{"event": "action", "name": "action_session_start"}]
    again = [*ASKED, *user("hmm", "m-2"), *reply(("utter_safety_check", SAFETY))]
    assert (
        pending_question([*again, {"event": "action", "name": "action_listen"}, *session])[
            "message_id"
        ]
        == "m-1"
    )
    assert pending_question([*ASKED, *user("no", "m-2"), *reply(("utter_ok", []))]) is None
    assert pending_question(reply(("utter_safety_check", SAFETY))) == {}  # its message is gone
