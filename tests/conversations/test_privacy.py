"""'Delete my data': a visitor's answers and transcript go after a yes; a participant's request
goes to staff; an open crisis keeps the transcript until staff follow up."""

from __future__ import annotations

from sqlalchemy import create_engine, select, text

from bot.db import get_sessionmaker
from bot.db.models import Assessment, CheckIn, Flag
from bot.db.participants import enroll
from tests.conftest import Chat
from tests.conversations.test_assessment import BUTTON_PATHS


def transcript_events(tracker_url: str, sender: str) -> int:
    engine = create_engine(tracker_url, future=True)
    with engine.connect() as connection:
        count = connection.execute(
            text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": sender}
        ).scalar_one()
    engine.dispose()
    return count


def stored(url: str, model, conversation_id: str) -> list:
    with get_sessionmaker(url)() as session:
        query = select(model).where(model.conversation_id == conversation_id)
        return list(session.execute(query).scalars())


def text_of(replies: list[dict]) -> str:
    return " ".join(r.get("text", "") for r in replies)


def test_a_visitor_deletes_answers_and_transcript(
    chat: Chat, stack_database_url: str, stack_tracker_url: str
) -> None:
    for message in BUTTON_PATHS["iop"]:
        chat.say(message)
    assert stored(stack_database_url, Assessment, chat.sender)
    assert "can't be undone" in text_of(chat.say("please delete my data"))
    replies = chat.say("/affirm")
    assert "have been deleted" in text_of(replies)
    assert all("custom" not in r for r in replies)  # the channel's marker never reaches clients
    assert stored(stack_database_url, Assessment, chat.sender) == []
    assert stored(stack_database_url, Flag, chat.sender) == []
    assert transcript_events(stack_tracker_url, chat.sender) == 0
    # The same visitor can carry on: a fresh conversation.
    assert chat.say("what is iop?")


def test_saying_no_deletes_nothing(
    chat: Chat, stack_database_url: str, stack_tracker_url: str
) -> None:
    for message in BUTTON_PATHS["adolescent_services"]:
        chat.say(message)
    chat.say("delete everything you have on me")
    assert "nothing was deleted" in text_of(chat.say("/deny"))
    assert len(stored(stack_database_url, Assessment, chat.sender)) == 1
    assert transcript_events(stack_tracker_url, chat.sender) > 0


def test_an_open_crisis_keeps_the_transcript_for_staff(
    chat: Chat, stack_database_url: str, stack_tracker_url: str
) -> None:
    chat.say("i want to kill myself")
    chat.say("/affirm")
    chat.say("delete my data")
    assert "needs this conversation" in text_of(chat.say("/affirm"))
    assert [f.kind for f in stored(stack_database_url, Flag, chat.sender)] == ["crisis"]
    assert transcript_events(stack_tracker_url, chat.sender) > 0


def test_a_participants_request_goes_to_staff(stack, stack_database_url: str) -> None:
    with get_sessionmaker(stack_database_url)() as session, session.begin():
        enrollment = enroll(session, "Deleting participant")
    chat = Chat(stack)
    metadata = {"participant_token": enrollment.token}
    for message in ["/start_checkin", "4", "2", "Nothing", "No", "Nothing to add"]:
        chat.say(message, metadata)
    replies = chat.say("I want you to delete my data", metadata)
    assert "care team will handle your deletion request" in text_of(replies)
    flags = stored(stack_database_url, Flag, chat.sender)
    assert [(f.kind, f.participant_id) for f in flags] == [
        ("human_request", enrollment.participant_id)
    ]
    assert len(stored(stack_database_url, CheckIn, chat.sender)) == 1
