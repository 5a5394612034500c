"""Daily check-ins through the REST channel with real participant tokens: parsing, rejections,
exactly-once storage, flags, the trend reply, and participants kept apart."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.db import get_sessionmaker
from bot.db.models import CheckIn, Flag
from bot.db.participants import enroll, revoke
from tests.conftest import Chat

BUTTONS = ["/start_checkin", "4", "2", "Nothing", "No", "Nothing to add"]


@dataclass
class Person:
    """An enrolled participant and their conversation."""

    id: int
    token: str
    chat: Chat

    def say(self, message: str, token: str | None = None) -> list[dict]:
        return self.chat.say(message, metadata={"participant_token": token or self.token})

    def run(self, messages: list[str]) -> list[list[dict]]:
        return [self.say(m) for m in messages]


@pytest.fixture
def person(stack, stack_database_url: str) -> Person:
    return make_person(stack, stack_database_url, "Test participant")


def make_person(stack, url: str, name: str) -> Person:
    with get_sessionmaker(url)() as session, session.begin():
        enrollment = enroll(session, name)
    return Person(enrollment.participant_id, enrollment.token, Chat(stack))


def rows(url: str, participant_id: int) -> list[CheckIn]:
    with get_sessionmaker(url)() as session:
        query = select(CheckIn).where(CheckIn.participant_id == participant_id)
        return list(session.execute(query.order_by(CheckIn.id)).scalars())


def flags(url: str, participant_id: int) -> list[Flag]:
    with get_sessionmaker(url)() as session:
        query = select(Flag).where(Flag.participant_id == participant_id).order_by(Flag.id)
        return list(session.execute(query).scalars())


def text_of(replies: list[dict]) -> str:
    return " ".join(r.get("text", "") for r in replies)


def test_buttons_complete_a_checkin_in_six_messages(
    person: Person, stack_database_url: str
) -> None:
    replies = person.run(BUTTONS)
    for turn in replies[:-1]:
        assert turn[-1].get("buttons"), text_of(turn)
    [row] = rows(stack_database_url, person.id)
    assert (row.mood, row.craving, row.triggers, row.used_since_last) == (4, 2, [], False)
    assert (row.coping, row.note) == (None, None)
    assert row.conversation_id == person.chat.sender
    assert "Thanks for checking in" in text_of(replies[-1])
    assert "average craving this week is 2.0" in text_of(replies[-1])
    assert flags(stack_database_url, person.id) == []


def test_a_participant_link_is_greeted_as_a_checkin_not_as_a_visitor(
    person: Person, chat: Chat
) -> None:
    first = text_of(person.say("/start_checkin"))
    assert "daily check-in" in first and "automated assistant" in first and "988" in first
    assert "questions about our Intensive Outpatient Program" not in first
    visitor = text_of(chat.say("/start_checkin"))
    assert "questions about our Intensive Outpatient Program" in visitor


# A whole check-in in the participant's own words (bench/load.py uses it too).
FREE_TEXT_CHECKIN = [
    "I want to do my check in",
    "pretty good",
    "like an 8",
    "fought with my sister at the bar",
    "had a few beers last night",
    "called my sponsor, and can we talk about my meds next time",
]


def test_free_text_answers_flags_and_coping(person: Person, stack_database_url: str) -> None:
    replies = person.run(FREE_TEXT_CHECKIN)
    [row] = rows(stack_database_url, person.id)
    assert (row.mood, row.craving) == (4, 8)
    assert row.triggers == ["conflict", "places"]
    assert (row.used_since_last, row.substances_used) == (True, "alcohol")
    assert row.coping == "called someone" and "meds" in row.note
    found = {(f.kind, f.severity, f.conversation_id) for f in flags(stack_database_url, person.id)}
    assert found == {
        ("high_craving", "high", person.chat.sender),
        ("lapse", "high", person.chat.sender),
    }
    reply = text_of(replies[-1])
    assert "slip doesn't erase your progress" in reply  # no judgement
    assert "Something to try" in reply


@pytest.mark.parametrize(
    ("answer", "craving"), [("7", 7), ("seven", 7), ("7/10", 7), ("pretty strong", 7), ("0", 0)]
)
def test_craving_answers(
    person: Person, stack_database_url: str, answer: str, craving: int
) -> None:
    person.run(["/start_checkin", "3", answer, "stress", "No", "Nothing to add"])
    assert [r.craving for r in rows(stack_database_url, person.id)] == [craving]


def test_out_of_range_answers_are_reasked_and_nothing_is_stored(
    person: Person, stack_database_url: str
) -> None:
    person.run(["/start_checkin"])
    assert "outside the scale" in text_of(person.say("7"))  # mood is 1-5
    person.say("3")
    for bad in ("12", "-1"):
        reply = text_of(person.say(bad))
        assert "outside the scale" in reply and "0 to 10" in reply
    assert "0 (none) to 10" in text_of(person.say("banana"))
    assert rows(stack_database_url, person.id) == []
    person.run(["5", "Nothing", "No", "Nothing to add"])
    assert [r.craving for r in rows(stack_database_url, person.id)] == [5]


def test_use_without_saying_what_asks_what(person: Person, stack_database_url: str) -> None:
    person.run(["/start_checkin", "2", "6", "anxiety", "Yes"])
    person.run(["I'd rather not say", "Nothing to add"])
    [row] = rows(stack_database_url, person.id)
    assert row.used_since_last is True and row.substances_used == "I'd rather not say"


def test_without_a_valid_token_nothing_is_stored(stack, stack_database_url: str) -> None:
    anonymous = Chat(stack)
    assert "personal check-in link" in " ".join(anonymous.texts("/start_checkin"))
    forged = Chat(stack)
    reply = forged.say("/start_checkin", metadata={"participant_token": "not-a-real-token"})
    assert "personal check-in link" in text_of(reply)
    revoked = make_person(stack, stack_database_url, "Revoked")
    with get_sessionmaker(stack_database_url)() as session, session.begin():
        revoke(session, revoked.id)
    assert "personal check-in link" in text_of(revoked.say("/start_checkin"))
    for message in ("4", "2"):
        revoked.say(message)
    assert rows(stack_database_url, revoked.id) == []


def test_a_message_without_the_token_ends_the_checkin_unsaved(
    person: Person, stack_database_url: str
) -> None:
    person.run(["/start_checkin", "4"])
    reply = person.chat.say("2")  # no metadata: could be anyone on this device
    assert "personal check-in link" in text_of(reply)
    assert rows(stack_database_url, person.id) == []


def test_exactly_once_when_the_last_message_is_retried_or_the_form_restarts(
    person: Person, stack_database_url: str
) -> None:
    person.run(["/start_checkin", "4", "3"])
    person.run(["/start_checkin", "4", "3", "Nothing", "No", "Nothing to add"])  # restarted
    person.say("Nothing to add")  # the final message sent again
    assert len(rows(stack_database_url, person.id)) == 1


def test_craving_right_now_gets_support_first(person: Person, stack_database_url: str) -> None:
    replies = person.say("I'm having a really bad craving right now")
    assert "urge" in text_of(replies).lower() or "craving" in text_of(replies).lower()
    assert "mood" in replies[-1]["text"]
    person.run(["3", "9", "stress", "No", "Nothing to add"])
    assert [r.craving for r in rows(stack_database_url, person.id)] == [9]


def test_crisis_mid_checkin_ends_it_with_an_urgent_flag(
    person: Person, stack_database_url: str
) -> None:
    person.run(["/start_checkin", "1"])
    replies = person.say("i want to kill myself")
    assert "988" in text_of(replies)
    with get_sessionmaker(stack_database_url)() as session:
        crisis = session.execute(
            select(Flag).where(Flag.conversation_id == person.chat.sender)
        ).scalars()
        assert [(f.kind, f.severity) for f in crisis] == [("crisis", "urgent")]
    assert rows(stack_database_url, person.id) == []


def test_two_participants_interleaving_stay_apart(stack, stack_database_url: str) -> None:
    ana = make_person(stack, stack_database_url, "Ana")
    ben = make_person(stack, stack_database_url, "Ben")
    scripts = {
        ana.id: ["/start_checkin", "5", "1", "Nothing", "No", "Nothing to add"],
        ben.id: ["/start_checkin", "2", "9", "money", "Yes, alcohol", "Nothing to add"],
    }
    for step in range(6):
        for p in (ana, ben):
            p.say(scripts[p.id][step])
    [a] = rows(stack_database_url, ana.id)
    [b] = rows(stack_database_url, ben.id)
    assert (a.mood, a.craving, a.used_since_last) == (5, 1, False)
    assert (b.mood, b.craving, b.used_since_last, b.triggers) == (2, 9, True, ["money"])
    assert flags(stack_database_url, ana.id) == []
    assert {f.kind for f in flags(stack_database_url, ben.id)} == {"high_craving", "lapse"}


def test_another_participants_token_cannot_finish_someone_elses_checkin(
    stack, stack_database_url: str
) -> None:
    ana = make_person(stack, stack_database_url, "Ana")
    ben = make_person(stack, stack_database_url, "Ben")
    ana.run(["/start_checkin", "4", "3", "Nothing", "No"])
    reply = ana.say("Nothing to add", token=ben.token)  # same conversation, Ben's token
    assert "personal check-in link" in text_of(reply)
    assert rows(stack_database_url, ana.id) == [] and rows(stack_database_url, ben.id) == []


def test_parallel_participants(stack, stack_database_url: str) -> None:
    people = [make_person(stack, stack_database_url, f"P{i}") for i in range(4)]

    def check_in(index: int) -> None:
        people[index].run(
            ["/start_checkin", "3", str(index + 1), "Nothing", "No", "Nothing to add"]
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(check_in, range(4)))
    for index, p in enumerate(people):
        assert [r.craving for r in rows(stack_database_url, p.id)] == [index + 1]


def test_the_reply_reflects_the_participants_own_trend(
    person: Person, stack_database_url: str
) -> None:
    now = datetime.now(timezone.utc)
    history = [(9, 6, ["stress"]), (8, 6, ["people"]), (2, 4, ["stress"]), (1, 4, ["stress"])]
    with get_sessionmaker(stack_database_url)() as session, session.begin():
        for days_ago, craving, triggers in history:
            session.add(
                CheckIn(
                    participant_id=person.id,
                    conversation_id="earlier",
                    dedup_key=f"seed-{person.id}-{days_ago}",
                    created_at=now - timedelta(days=days_ago),
                    mood=3,
                    craving=craving,
                    triggers=triggers,
                    used_since_last=False,
                )
            )
    reply = text_of(person.run(["/start_checkin", "4", "1", "stress", "No", "Nothing to add"])[-1])
    assert "average craving this week is 3.0, down from 6.0" in reply
    assert "3 days in a row" in reply
    assert "most common trigger this week: stress" in reply
