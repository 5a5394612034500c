"""Nothing lost when the database is unavailable for real: the app's SQLite file is locked by
another connection while a check-in or a pre-assessment completes. The person is told their
answers are kept; the record waits in the action server's durable queue and is stored exactly
once, with its flags, as soon as the lock is gone."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select

from actions.durable import SAVED_LATER
from bot.db import get_sessionmaker
from bot.db.models import Assessment, Flag
from tests.conftest import Chat
from tests.conversations.test_assessment import BUTTON_PATHS
from tests.conversations.test_checkin import flags, make_person, rows, text_of


@contextmanager
def locked(database_url: str) -> Iterator[None]:
    """Another connection holds the database's write lock (readers still read)."""
    connection = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        connection.execute("ROLLBACK")
        connection.close()


def eventually(check, seconds: float = 60.0):
    """`check()` once it is truthy, polling (the queue is retried every few seconds)."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def test_a_checkin_finished_while_the_database_is_locked_is_kept(
    stack, stack_database_url: str
) -> None:
    person = make_person(stack, stack_database_url, "Locked-out participant")
    answers = ["/start_checkin", "3", "9", "Stress", "No"]
    for message in answers:
        person.say(message)
    with locked(stack_database_url):
        last = text_of(person.say("Nothing to add"))
        assert "Thanks for checking in" in last and SAVED_LATER in last
        assert rows(stack_database_url, person.id) == []  # not stored yet, and not lost
    [row] = eventually(lambda: rows(stack_database_url, person.id))
    assert (row.mood, row.craving, row.triggers) == (3, 9, ["stress"])
    assert [(f.kind, f.severity) for f in flags(stack_database_url, person.id)] == [
        ("high_craving", "high")
    ]
    time.sleep(6)  # another round of the queue stores nothing twice
    assert len(rows(stack_database_url, person.id)) == 1
    assert len(flags(stack_database_url, person.id)) == 1


def stored_assessments(url: str, conversation_id: str) -> list[tuple[Assessment, list[Flag]]]:
    with get_sessionmaker(url)() as session:
        found = session.execute(
            select(Assessment).where(Assessment.conversation_id == conversation_id)
        ).scalars()
        result = []
        for assessment in found:
            assessment_flags = session.execute(
                select(Flag).where(Flag.assessment_id == assessment.id)
            ).scalars()
            result.append((assessment, list(assessment_flags)))
        return result


def test_a_preassessment_finished_while_the_database_is_locked_is_kept(
    stack, stack_database_url: str
) -> None:
    chat = Chat(stack)
    path = BUTTON_PATHS["iop"]
    for message in path[:-1]:
        chat.say(message)
    with locked(stack_database_url):
        last = text_of(chat.say(path[-1]))
        assert "IOP-" in last and SAVED_LATER in last
        assert stored_assessments(stack_database_url, chat.sender) == []
    [(assessment, [flag])] = eventually(lambda: stored_assessments(stack_database_url, chat.sender))
    # the reference the person was given is the one stored
    assert assessment.reference in last and assessment.recommendation == "iop"
    assert flag.kind == "assessment_followup"
