"""The REST and socket.io channels under hostile input, against the session's real stack: no
5xx, no dropped server, and the bot still answers a plain question afterwards."""

from __future__ import annotations

import json
import logging
import time
import uuid

import pytest
import requests
import socketio
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import Chat
from tests.fuzz.conftest import FUZZ
from tests.fuzz.strategies import chat_bodies, json_values, metadata, odd_text

REQUEST_TIMEOUT = 60  # seconds, for each of the widget's HTTP requests


class ProblemLog(logging.Handler):
    """Keeps what python-engineio logs at WARNING and above (never message text: it logs
    transport events)."""

    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(f"engineio: {record.getMessage()}"[:300])


def still_answers(stack) -> None:
    replies = Chat(stack).texts("what is iop?")
    assert replies and "Intensive Outpatient" in replies[0]


@FUZZ
@given(body=chat_bodies)
def test_rest_channel_never_fails_on_any_json(stack, body: object) -> None:
    url = f"{stack.rasa_url}/webhooks/rest/webhook"
    headers = {"Authorization": f"Bearer {stack.channel_token}"}
    answer = requests.post(url, json=body, headers=headers, timeout=60)
    assert answer.status_code < 500, answer.text[:200]
    if answer.status_code == 200:
        replies = answer.json()
        assert isinstance(replies, list) and replies, "a message the channel took gets a reply"
    else:
        assert "error" in answer.json()


@FUZZ
@given(
    raw=st.binary(max_size=300),
    content_type=st.sampled_from(["application/json", "text/plain", ""]),
)
def test_rest_channel_never_fails_on_any_bytes(stack, raw: bytes, content_type: str) -> None:
    url = f"{stack.rasa_url}/webhooks/rest/webhook"
    headers = {"Authorization": f"Bearer {stack.channel_token}", "Content-Type": content_type}
    answer = requests.post(url, data=raw, headers=headers, timeout=60)
    assert answer.status_code < 500


def test_rest_channel_answers_after_the_fuzz(stack) -> None:
    still_answers(stack)


class Widget:
    """A socket.io client like the website's widget (long-polling: the pinned aiohttp is too
    old for python-engineio's websocket client; the server side is the same channel).

    Like a browser, it gives the server a minute per request (python-engineio's own default, 5 s,
    drops the connection whenever a loaded machine takes longer to answer a POST), and it sends
    one event at a time. Why it lost the connection, if it did, is kept in `problems` for the
    failure message."""

    def __init__(self, stack) -> None:
        self.stack = stack
        self.problems: list[str] = []
        engineio_log = logging.getLogger(f"{__name__}.engineio.{id(self)}")
        engineio_log.addHandler(ProblemLog(self.problems))
        engineio_log.setLevel(logging.WARNING)
        engineio_log.propagate = False
        self.client = socketio.Client(
            reconnection=False, request_timeout=REQUEST_TIMEOUT, engineio_logger=engineio_log
        )
        self.replies: list[object] = []
        self.confirmed: list[object] = []
        self.client.on("bot_uttered", self.replies.append)
        self.client.on("session_confirm", self.confirmed.append)
        self.client.on("disconnect", self.disconnected)

    def disconnected(self, reason: object = None) -> None:
        self.problems.append(f"disconnected ({reason})")

    def connect(self) -> None:
        origin = self.stack.extra_env["IOP_WEBSITE_URL"]
        self.client.connect(
            self.stack.rasa_url, headers={"Origin": origin}, transports=["polling"], wait_timeout=30
        )

    def emit(self, event: str, data: object) -> None:
        """Send one event and wait until it has been posted, as a person's widget sends one
        message at a time: events queued faster than the server takes them would go out in one
        ever larger POST, and one over the server's 1 MB body limit ends the connection."""
        self.client.emit(event, data)
        deadline = time.monotonic() + REQUEST_TIMEOUT
        while self.client.eio.queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)

    def wait(self, seconds: float) -> None:
        self.client.sleep(seconds)

    def close(self) -> None:
        # without waiting for the pending long-poll to come back (up to the 25 s ping interval)
        self.client.eio.disconnect(abort=True)


@pytest.fixture(scope="module")
def widget(stack):
    if "IOP_WEBSITE_URL" not in stack.extra_env:
        pytest.fail("the session stack runs without the website: run `make web` first")
    client = Widget(stack)
    client.connect()
    client.emit("session_request", {"session_id": None})
    client.wait(1)
    assert client.confirmed, "the server issues a conversation"
    yield client
    client.close()


socket_events = st.one_of(
    st.tuples(
        st.just("session_request"),
        st.one_of(json_values, st.fixed_dictionaries({"session_id": json_values})),
    ),
    st.tuples(
        st.just("user_uttered"),
        st.one_of(
            json_values,
            st.fixed_dictionaries(
                {"message": st.one_of(odd_text, json_values), "session_id": json_values},
                optional={"customData": st.one_of(metadata, st.text(max_size=40))},
            ),
        ),
    ),
    st.tuples(st.text(max_size=20), json_values),
)


@FUZZ
@given(event=socket_events)
def test_socketio_channel_stays_up_on_any_event(stack, widget: Widget, event: tuple) -> None:
    name, data = event
    assert widget.client.connected, ("before", widget.problems)
    widget.emit(name, data)
    assert widget.client.connected, (name, json.dumps(data, default=str)[:200], widget.problems)


def test_socketio_channel_answers_after_the_fuzz(stack, widget: Widget) -> None:
    assert widget.client.connected, widget.problems
    fresh = Widget(stack)  # a new visitor: the server serves on after the fuzzed socket
    fresh.connect()
    try:
        fresh.emit("session_request", {"session_id": None})
        fresh.wait(0.5)
        fresh.emit("user_uttered", {"message": "what is iop?", "session_id": fresh.confirmed[-1]})
        for _ in range(60):
            if any("Intensive Outpatient" in str(r) for r in fresh.replies):
                break
            fresh.wait(0.5)
        assert any("Intensive Outpatient" in str(r) for r in fresh.replies), fresh.replies[-3:]
    finally:
        fresh.close()
    still_answers(stack)


def test_a_guessed_socket_session_reads_nothing(stack, widget: Widget) -> None:
    other = Widget(stack)
    other.connect()
    try:
        other.emit("session_request", {"session_id": widget.confirmed[-1] + "x"})
        other.emit("session_request", {"session_id": f"web-{uuid.uuid4().hex}"})
        other.wait(1)
        assert widget.confirmed[-1] not in other.confirmed
    finally:
        other.close()
