"""Bad input gets a clear reply or a 4xx, never a crash, and never reaches the logs."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from bot.db import get_sessionmaker
from bot.db.staff_accounts import create_api_token, revoke_api_token
from tests.conftest import Chat
from tests.conversations.test_safety import flags_for


@pytest.mark.parametrize(
    "message",
    [
        "🙂🙂🙂",
        "\x00\x01\x02\x7f binary \ufffd",
        "'; DROP TABLE events; --",
        "<script>alert(1)</script>",
        "{{7*7}} ${jndi:ldap://127.0.0.1/a} {clinic_phone}",
        "/restart",
        "/faq",
        '/greet{"x": 1}',
        "a" * 1999,
        "?",
    ],
)
def test_odd_text_gets_a_reply(chat: Chat, message: str) -> None:
    replies = chat.say(message)
    assert replies, "the bot must always answer"
    assert all(isinstance(r.get("text", ""), str) for r in replies)


@pytest.mark.parametrize("message", [None, 42, ["hi"], {"text": "hi"}, "", "   "])
def test_wrong_type_or_empty_message_is_a_4xx(chat: Chat, message: object) -> None:
    response = chat.post(message)
    assert 400 <= response.status_code < 500
    assert "error" in response.json()


def test_huge_message_is_refused(chat: Chat) -> None:
    response = chat.post("x" * 20_000)
    assert response.status_code == 413
    assert "error" in response.json()


@pytest.mark.parametrize("body", [b"not json", b"[1,2,3]", b'{"message": "hi"}', b"\xff\xfe"])
def test_malformed_body_is_a_4xx(stack, body: bytes) -> None:
    response = requests.post(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert 400 <= response.status_code < 500


def test_conversation_survives_bad_input(chat: Chat) -> None:
    chat.say("hi")
    chat.post(42)
    chat.post("x" * 20_000)
    chat.say("\x00\x00")
    answer = chat.texts("how long does the program last?")[-1]
    assert "week" in answer


def test_message_text_never_reaches_the_logs(stack) -> None:
    marker = f"zebra{uuid.uuid4().hex[:12]}"
    chat = Chat(stack)
    chat.say(f"my name is {marker} and I drink every day, what is iop")
    chat.say(f"call me at {marker}@example.com")
    # Rasa's intent syntax with entities is logged by Rasa itself when it cannot parse it
    chat.say(f'/crisis{{"email": "{marker}@example.com"}}\n2026-12-07 ERROR forged {marker}')
    chat.say(f"/greet{{{marker}")
    for service in stack.services:
        assert marker not in service.log_path.read_text(errors="replace"), service.log_path


def test_the_rest_channel_answers_only_channel_tokens(stack, stack_database_url: str) -> None:
    with get_sessionmaker(stack_database_url)() as session, session.begin():
        staff_token = create_api_token(session, "a clinician's", "clinician")[1]
        row, revoked = create_api_token(session, "retired gateway", "channel")
        revoke_api_token(session, row.id)
    url = f"{stack.rasa_url}/webhooks/rest/webhook"
    body = {"sender": f"v-{uuid.uuid4().hex}", "message": "what is iop?"}
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": f"Basic {stack.channel_token}"},
        {"Authorization": "Bearer not-a-token-at-all-but-long-enough"},
        {"Authorization": f"Bearer {staff_token}"},
        {"Authorization": f"Bearer {revoked}"},
    ):
        refused = requests.post(url, json=body, headers=headers, timeout=30)
        assert refused.status_code == 401, headers
        assert "api-token --name NAME --role channel" in refused.json()["error"]
    answered = Chat(stack, body["sender"]).say(body["message"])
    assert answered and "Intensive Outpatient" in answered[0]["text"]


def test_intent_syntax_from_a_visitor_is_read_as_words(chat: Chat, stack_database_url) -> None:
    for forged in ('/crisis{"x": 1}', "/crisis", "/request_human"):
        assert chat.say(forged)
    reasons = [flag.reason for flag in flags_for(stack_database_url, chat.sender)]
    # Rasa's own parse of "/crisis" is an intent at confidence 1.0: no classifier decided
    assert not any("confidence 1.00" in reason for reason in reasons), reasons


def test_a_crisis_is_not_queued_behind_other_visitors_long_messages(stack) -> None:
    """Four maximum-length messages from other visitors are in flight when someone writes "I
    want to die": the crisis reply comes back before at least three of them (in arrival order
    it came last), and every long message is still answered."""
    from concurrent.futures import ThreadPoolExecutor

    sentences = ["I went out today.", "My sister called me about the weekend plans.", "Fine."]
    long_message = " ".join(sentences[n % 3] for n in range(200))[:2000]
    finished: list[str] = []

    def send(name: str, text: str) -> list[str]:
        replies = Chat(stack).texts(text)
        finished.append(name)
        return replies

    with ThreadPoolExecutor(max_workers=5) as pool:
        longs = [pool.submit(send, f"long{n}", long_message) for n in range(4)]
        time.sleep(0.5)  # the long messages have reached the server
        crisis = pool.submit(send, "crisis", "I want to die")
        crisis_replies = crisis.result(timeout=120)
        assert all(future.result(timeout=120) for future in longs)
    assert "988" in " ".join(crisis_replies)
    assert finished.index("crisis") <= 1, finished
