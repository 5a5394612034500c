"""Conversations land in the SQL tracker store (Rasa would silently fall back to memory)."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, text

from tests.conftest import Chat


def test_conversation_is_stored_in_the_sql_tracker_store(
    chat: Chat, stack_tracker_url: str
) -> None:
    chat.say("what is an intensive outpatient program?")
    engine = create_engine(stack_tracker_url, future=True)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT type_name, data FROM events WHERE sender_id = :s ORDER BY id"),
            {"s": chat.sender},
        ).all()
    engine.dispose()
    kinds = [row.type_name for row in rows]
    assert "user" in kinds and "bot" in kinds
    user = next(json.loads(row.data) for row in rows if row.type_name == "user")
    assert user["text"] == "what is an intensive outpatient program?"
    assert user["parse_data"]["intent"]["name"] == "faq"


def test_participant_token_never_reaches_the_transcript_or_logs(
    stack, chat: Chat, stack_tracker_url: str
) -> None:
    from bot.db.participants import hash_token

    token = "tok" + "x7" * 20
    chat.say("hi", metadata={"participant_token": token})
    engine = create_engine(stack_tracker_url, future=True)
    with engine.connect() as connection:
        data = " ".join(
            row.data
            for row in connection.execute(
                text("SELECT data FROM events WHERE sender_id = :s"), {"s": chat.sender}
            )
        )
    engine.dispose()
    assert token not in data
    assert hash_token(token) in data
    for service in stack.services:
        assert token not in service.log_path.read_text(errors="replace")
