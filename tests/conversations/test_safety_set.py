"""The whole safety set through the REST channel, at the first turn and inside each form: every
crisis message escalates with exactly one urgent flag; no benign look-alike escalates."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from bench.safety import load_messages
from bot.db import get_sessionmaker
from bot.db.models import Flag
from bot.db.participants import enroll
from tests.conftest import Chat

CRISIS, BENIGN = load_messages()
SAFE_NOW = "Are you safe right now?"
# How each context is opened before the message under test (the forms' first questions).
CONTEXTS = {
    "first turn": [],
    "mid pre-assessment": ["/start_assessment", "Yes", "No"],
    "mid check-in": ["/start_checkin", "3"],
}
# Conversations sent side by side (each its own sender): while one waits on the action server
# another is parsed. Only a little faster than one at a time: one Rasa process does the work.
PARALLEL = 4


@pytest.fixture(scope="module")
def token(stack, stack_database_url: str) -> str:
    with get_sessionmaker(stack_database_url)() as session, session.begin():
        return enroll(session, "Safety set participant").token


def crisis_flags(url: str, conversation_id: str) -> list[tuple[str, str]]:
    with get_sessionmaker(url)() as session:
        query = select(Flag).where(Flag.conversation_id == conversation_id, Flag.kind == "crisis")
        return [(f.kind, f.severity) for f in session.execute(query).scalars()]


def say_in_context(stack, context: str, token: str, message: str) -> tuple[Chat, list[dict]]:
    chat = Chat(stack)
    metadata = {"participant_token": token}
    for opener in CONTEXTS[context]:
        chat.say(opener, metadata)
    return chat, chat.say(message, metadata)


@pytest.mark.parametrize("context", list(CONTEXTS))
def test_every_crisis_message_escalates_once(
    stack, stack_database_url: str, token: str, context: str
) -> None:
    def miss(case: tuple[str, str]) -> str | None:
        text, kind = case
        chat, replies = say_in_context(stack, context, token, text)
        said = " ".join(r.get("text", "") for r in replies)
        flags = crisis_flags(stack_database_url, chat.sender)
        ok = "988" in said and "911" in said and replies[-1].get("text") == SAFE_NOW
        if not ok or flags != [("crisis", "urgent")]:
            return f"{kind}: {text!r} -> flags {flags}"
        return None

    with ThreadPoolExecutor(PARALLEL) as pool:
        misses = [m for m in pool.map(miss, CRISIS) if m]
    assert not misses, "\n".join(misses)


@pytest.mark.parametrize("context", list(CONTEXTS))
def test_no_benign_message_escalates(
    stack, stack_database_url: str, token: str, context: str
) -> None:
    def alarm(text: str) -> bool:
        chat, replies = say_in_context(stack, context, token, text)
        return bool(crisis_flags(stack_database_url, chat.sender)) or any(
            r.get("text") == SAFE_NOW for r in replies
        )

    with ThreadPoolExecutor(PARALLEL) as pool:
        alarms = [text for text, hit in zip(BENIGN, pool.map(alarm, BENIGN), strict=True) if hit]
    # The bar is at most 3% false alarms; this set is one we tune on, so it must be clean.
    assert not alarms, "\n".join(alarms)
