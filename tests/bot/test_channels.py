"""The REST channel's input checks (bot/channels.py)."""

from __future__ import annotations

import pytest

from bot.channels import InvalidMessage, check_message
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
