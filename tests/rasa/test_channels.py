"""The REST channel's input checks (bot/rasa/channels.py)."""

from __future__ import annotations

import pytest

from bot.rasa.channels import InvalidMessage, allowed_shortcuts, check_message
from bot.settings import MAX_MESSAGE_CHARS


def test_valid_message_passes() -> None:
    body = {"sender": "visitor-1", "message": "hi", "metadata": {"participant_token": "t"}}
    assert check_message(body) == ("visitor-1", "hi", {"participant_token": "t"})
    assert check_message({"sender": "v", "message": "x" * MAX_MESSAGE_CHARS})[1]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (None, 400),
        ([1, 2], 400),
        ("hi", 400),
        ({"message": "hi"}, 400),
        ({"sender": "", "message": "hi"}, 400),
        ({"sender": 7, "message": "hi"}, 400),
        ({"sender": "a\nb", "message": "hi"}, 400),
        ({"sender": "s" * 200, "message": "hi"}, 400),
        ({"sender": "v", "message": None}, 400),
        ({"sender": "v", "message": 42}, 400),
        ({"sender": "v", "message": ["hi"]}, 400),
        ({"sender": "v", "message": "   "}, 400),
        ({"sender": "v", "message": "x" * (MAX_MESSAGE_CHARS + 1)}, 413),
        ({"sender": "v", "message": "hi", "metadata": "token"}, 400),
        ({"sender": "v", "message": "hi", "metadata": {"k": "v" * 10_000}}, 413),
        ({"sender": "v", "message": "hi", "metadata": {"k": b"binary from socket.io"}}, 400),
    ],
)
def test_bad_bodies_are_refused(body: object, status: int) -> None:
    with pytest.raises(InvalidMessage) as refused:
        check_message(body)
    assert refused.value.status == status
    assert refused.value.error


def test_the_shortcuts_are_the_bots_own_buttons_and_the_websites_openers() -> None:
    assert allowed_shortcuts() == {
        "/affirm",
        "/deny",
        "/greet",
        "/restart",
        "/start_assessment",
        "/start_checkin",
    }


@pytest.mark.parametrize(
    ("text", "read_as"),
    [
        ("/affirm", "/affirm"),
        ("/start_checkin", "/start_checkin"),
        ("i said /affirm", "i said /affirm"),
        # any other intent syntax is words for NLU: no intent, no entities, no Rasa warning
        ('/crisis{"x": 1}', 'crisis{"x": 1}'),
        ("/affirm{}", "affirm{}"),
        ('/greet{"email": "a@b.co"}', 'greet{"email": "a@b.co"}'),
        ("/crisis", "crisis"),
        ("// / out_of_scope", "out_of_scope"),
        ("/AFFIRM", "AFFIRM"),
    ],
)
def test_intent_syntax_only_for_the_allowed_shortcuts(text: str, read_as: str) -> None:
    assert check_message({"sender": "v", "message": text})[1] == read_as


def test_a_message_of_slashes_only_is_refused() -> None:
    with pytest.raises(InvalidMessage, match="no words"):
        check_message({"sender": "v", "message": " // "})
