"""The website's socket.io channel (bot/rasa/channels.py WebsiteSocketIOInput): the origin check,
the awaited enter_room, participant tokens hashed, refused input, and no message text in logs."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from rasa.core.channels.channel import UserMessage

from bot.db.participants import TOKEN_HASH_KEY, TOKEN_KEY, hash_token
from bot.rasa.channels import (
    ConversationIds,
    RateLimit,
    WebsiteSocketIOInput,
    client_address,
    origin_of,
    website_origins,
)
from bot.rasa.forget import forget_marker
from bot.settings import MAX_MESSAGE_CHARS, get_settings

TOKEN = "a-participant-token-that-is-long-enough-123"
CREDENTIALS = {
    "user_message_evt": "user_uttered",
    "bot_message_evt": "bot_uttered",
    "session_persistence": True,
    "metadata_key": "customData",
}


@pytest.fixture
def website(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """IOP_WEBSITE_URL set for one test, with the settings re-read."""
    monkeypatch.setenv("IOP_WEBSITE_URL", "https://www.Clinic.example/")
    get_settings.cache_clear()
    yield "https://www.clinic.example"
    get_settings.cache_clear()


class Recorder:
    """Stands in for Rasa's message handler and the socket server's emits."""

    def __init__(self) -> None:
        self.messages: list[UserMessage] = []
        self.emitted: list[tuple[str, object, str | None]] = []
        self.rooms: list[tuple[str, str]] = []

    async def on_new_message(self, message: UserMessage) -> None:
        self.messages.append(message)

    async def emit(self, event: str, data: object = None, room: str | None = None, **_: object):
        self.emitted.append((event, data, room))

    async def enter_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        self.rooms.append((sid, room))

    async def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        self.rooms.remove((sid, room))


def channel_with_recorder(credentials: dict) -> tuple[WebsiteSocketIOInput, Recorder]:
    channel = WebsiteSocketIOInput.from_credentials(credentials)
    recorder = Recorder()
    channel.blueprint(recorder.on_new_message)
    channel.sio.emit = recorder.emit
    channel.sio.enter_room = recorder.enter_room
    channel.sio.leave_room = recorder.leave_room
    return channel, recorder


def run(coroutine: Coroutine) -> object:
    """Run a handler on a loop of its own (playwright's sync API may hold this thread's loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def handler(channel: WebsiteSocketIOInput, event: str):
    return channel.sio.handlers["/"][event]


def join(channel: WebsiteSocketIOInput, recorder: Recorder) -> str:
    """The widget's first session_request from socket sid-1, then a clean record; returns the
    session id the server issued."""
    run(handler(channel, "session_request")("sid-1", {}))
    [(event, session_id, _)] = recorder.emitted
    assert event == "session_confirm" and channel.ids.valid(session_id)
    recorder.emitted.clear()
    recorder.rooms.clear()
    return session_id


def conversation(session_id: str) -> str:
    return ConversationIds.conversation(session_id)


def test_origins_default_to_the_website(website: str) -> None:
    channel = WebsiteSocketIOInput.from_credentials(CREDENTIALS)
    assert channel.cors_allowed_origins == [website]
    channel.blueprint(Recorder().on_new_message)
    # python-engineio checks the Origin header against this list; [] would mean no check at all
    assert channel.sio.eio.cors_allowed_origins == [website]


def test_origins_from_the_credentials(website: str) -> None:
    credentials = {
        **CREDENTIALS,
        "cors_allowed_origins": ["https://a.example/page", "http://127.0.0.1:8080"],
    }
    channel = WebsiteSocketIOInput.from_credentials(credentials)
    assert channel.cors_allowed_origins == ["http://127.0.0.1:8080", "https://a.example"]


@pytest.mark.parametrize("empty", [None, "", []])
def test_an_empty_list_never_turns_the_check_off(website: str, empty: object) -> None:
    assert website_origins(empty) == [website]


@pytest.mark.parametrize("bad", ["*", "ftp://x.example", "not a url", "https://*.example"])
def test_wildcards_and_non_web_origins_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        origin_of(bad)
    with pytest.raises(ValueError):
        website_origins([bad])


def test_session_request_awaits_enter_room(website: str) -> None:
    channel, recorder = channel_with_recorder(CREDENTIALS)
    issued = channel.ids.issue()
    run(handler(channel, "session_request")("sid-1", {"session_id": issued}))
    # Rasa 3.6 calls the coroutine without await: the room was never joined
    assert recorder.rooms == [("sid-1", conversation(issued))]
    assert recorder.emitted == [("session_confirm", issued, "sid-1")]
    run(handler(channel, "session_request")("sid-2", None))
    (_, new_session, _) = recorder.emitted[-1]
    assert recorder.rooms[-1] == ("sid-2", conversation(new_session))
    assert channel.ids.valid(new_session) and new_session != issued


def test_only_an_issued_id_joins_its_conversation(website: str) -> None:
    channel, recorder = channel_with_recorder(CREDENTIALS)
    victim = channel.ids.issue()
    nonce, _, signature = victim.partition(".")
    other_key = ConversationIds("another deployment's key").issue()
    for attempt in (
        "victim",  # guessed or made up by the client
        uuid.uuid4().hex,  # the old, unsigned kind
        conversation(victim),  # the conversation id, copied from a transcript or a log
        nonce,
        f"{nonce}.",
        f"{nonce}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}",
        f"{nonce}x.{signature}",
        other_key,
    ):
        recorder.emitted.clear()
        run(handler(channel, "session_request")("sid-9", {"session_id": attempt}))
        [(_, confirmed, _)] = recorder.emitted
        assert confirmed not in (attempt, victim) and channel.ids.valid(confirmed), attempt
        run(handler(channel, "disconnect")("sid-9"))
    assert all(room != conversation(victim) for _, room in recorder.rooms)
    assert conversation(victim).startswith("web-") and victim not in conversation(victim)


def test_the_token_is_swapped_for_its_hash(website: str) -> None:
    channel, recorder = channel_with_recorder(CREDENTIALS)
    mine = join(channel, recorder)
    data = {"message": "/start_checkin", "session_id": mine, "customData": {TOKEN_KEY: TOKEN}}
    run(handler(channel, "user_uttered")("sid-1", data))
    [message] = recorder.messages
    assert message.sender_id == conversation(mine) and message.text == "/start_checkin"
    assert message.metadata == {TOKEN_HASH_KEY: hash_token(TOKEN)}
    assert TOKEN not in repr(message.metadata)


def test_a_hash_sent_by_the_client_is_dropped(website: str) -> None:
    channel, recorder = channel_with_recorder(CREDENTIALS)
    mine = join(channel, recorder)
    forged = {TOKEN_HASH_KEY: hash_token(TOKEN), "lang": "en"}
    data = {"message": "/start_checkin", "session_id": mine, "customData": forged}
    run(handler(channel, "user_uttered")("sid-1", data))
    assert recorder.messages[0].metadata == {"lang": "en"}


def test_metadata_sent_as_json_text_is_read_too(website: str) -> None:
    channel, recorder = channel_with_recorder(CREDENTIALS)
    mine = join(channel, recorder)
    data = {"message": "hi", "session_id": mine, "customData": f'{{"{TOKEN_KEY}": "{TOKEN}"}}'}
    run(handler(channel, "user_uttered")("sid-1", data))
    assert recorder.messages[0].metadata == {TOKEN_HASH_KEY: hash_token(TOKEN)}


@pytest.mark.parametrize(
    ("data", "reply"),
    [
        ({"message": "x" * (MAX_MESSAGE_CHARS + 1), "session_id": "s"}, "too long"),
        ({"message": "   ", "session_id": "s"}, "couldn't read"),
        ({"message": 42, "session_id": "s"}, "couldn't read"),
        ({"message": "hi"}, "couldn't read"),  # no session id with session persistence
        ({"message": "hi", "session_id": "s", "customData": "{not json"}, "couldn't read"),
        ("just a string", "couldn't read"),
    ],
)
def test_bad_input_gets_a_reply_and_reaches_no_one(website: str, data: object, reply: str) -> None:
    channel, recorder = channel_with_recorder(CREDENTIALS)
    mine = join(channel, recorder)
    if isinstance(data, dict) and data.get("session_id") == "s":
        data = {**data, "session_id": mine}
    run(handler(channel, "user_uttered")("sid-1", data))
    assert recorder.messages == []
    [(event, payload, room)] = recorder.emitted
    assert (event, room) == ("bot_uttered", "sid-1") and reply in payload["text"]


def test_no_message_text_or_token_in_the_logs(
    website: str, caplog: pytest.LogCaptureFixture
) -> None:
    channel, recorder = channel_with_recorder(CREDENTIALS)

    async def failing(message: UserMessage) -> None:
        raise RuntimeError(f"boom: {message.text}")

    channel.blueprint(failing)
    channel.sio.emit = recorder.emit
    channel.sio.enter_room = recorder.enter_room
    mine = join(channel, recorder)
    secret = "my secret message about my sister"
    caplog.set_level(logging.DEBUG)
    for data in (
        {"message": secret, "session_id": mine, "customData": {TOKEN_KEY: TOKEN}},
        {"message": secret * 200, "session_id": mine},
    ):
        run(handler(channel, "user_uttered")("sid-1", data))
    assert "something went wrong" in recorder.emitted[0][1]["text"].lower()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "RuntimeError" in logged  # the failure itself is logged
    assert "secret" not in logged and TOKEN not in logged


def test_the_forget_marker_never_reaches_the_browser(website: str) -> None:
    channel, recorder = channel_with_recorder(CREDENTIALS)

    async def deleting(message: UserMessage) -> None:
        await message.output_channel.send_custom_json(message.sender_id, {"forget": 1})
        await message.output_channel.send_custom_json(message.sender_id, forget_marker())
        assert message.output_channel.forget_requested

    channel.blueprint(deleting)
    channel.sio.emit = recorder.emit
    channel.sio.enter_room = recorder.enter_room
    mine = join(channel, recorder)
    run(handler(channel, "user_uttered")("sid-1", {"message": "yes", "session_id": mine}))
    assert recorder.emitted == [("bot_uttered", {"custom": {"forget": 1}}, conversation(mine))]


def test_a_socket_writes_only_to_the_conversation_it_joined(website: str) -> None:
    channel, recorder = channel_with_recorder(CREDENTIALS)
    attacker = join(channel, recorder)
    victim = channel.ids.issue()
    # Naming someone else's conversation (or none, before session_request) reaches no one.
    run(handler(channel, "user_uttered")("sid-1", {"message": "hi", "session_id": victim}))
    run(handler(channel, "user_uttered")("sid-9", {"message": "hi", "session_id": victim}))
    assert recorder.messages == []
    assert [room for _, _, room in recorder.emitted] == ["sid-1", "sid-9"]
    run(handler(channel, "user_uttered")("sid-1", {"message": "hi", "session_id": attacker}))
    assert [m.sender_id for m in recorder.messages] == [conversation(attacker)]


def test_a_refusal_is_logged_with_its_reason_and_nothing_the_client_sent(
    website: str, caplog: pytest.LogCaptureFixture
) -> None:
    channel, recorder = channel_with_recorder(CREDENTIALS)
    mine = join(channel, recorder)
    caplog.set_level(logging.INFO)
    secret = "my secret message"
    run(handler(channel, "user_uttered")("sid-1", {"message": secret, "session_id": "victim"}))
    run(handler(channel, "user_uttered")("sid-9", {"message": secret, "session_id": "victim"}))
    run(handler(channel, "user_uttered")("sid-1", {"message": 42, "session_id": mine}))
    assert recorder.messages == []
    logged = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert logged == [
        "socketio: refused a message (400: it names a conversation other than the one this "
        "socket joined)",
        "socketio: refused a message (400: it came before the socket asked for a conversation)",
        "socketio: refused a message (400: 'message' must be a string)",
    ]
    assert not any(word in line for line in logged for word in ("secret", "victim", mine))


def test_a_new_session_request_leaves_the_old_room_and_disconnect_forgets(website: str) -> None:
    channel, recorder = channel_with_recorder(CREDENTIALS)
    first = join(channel, recorder)
    recorder.rooms.append(("sid-1", conversation(first)))
    second = channel.ids.issue()
    run(handler(channel, "session_request")("sid-1", {"session_id": second}))
    assert recorder.rooms == [("sid-1", conversation(second))]
    run(handler(channel, "disconnect")("sid-1"))
    run(handler(channel, "user_uttered")("sid-1", {"message": "hi", "session_id": second}))
    assert recorder.messages == []


def test_asking_again_without_a_conversation_keeps_the_one_the_socket_has(website: str) -> None:
    # rasa-webchat 1.0.1, opened before its first socket connects, opens a second one and sends
    # two session_requests without a session id on it; it keeps the first id it is given
    channel, recorder = channel_with_recorder(CREDENTIALS)
    ask = handler(channel, "session_request")
    run(ask("sid-2", {"session_id": None}))
    run(ask("sid-2", {}))
    confirmed = [data for event, data, _ in recorder.emitted if event == "session_confirm"]
    assert len(confirmed) == 2 and confirmed[0] == confirmed[1]
    assert recorder.rooms == [("sid-2", conversation(confirmed[0]))] * 2
    run(handler(channel, "user_uttered")("sid-2", {"message": "hi", "session_id": confirmed[0]}))
    assert [m.sender_id for m in recorder.messages] == [conversation(confirmed[0])]
    # another socket without a conversation still gets a new one
    run(ask("sid-3", {"session_id": None}))
    assert recorder.emitted[-1][1] not in (None, confirmed[0])


def test_a_conversation_flooding_the_chat_is_slowed_down(
    website: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IOP_CHAT_MESSAGES_PER_MINUTE", "3")
    channel, recorder = channel_with_recorder(CREDENTIALS)
    mine = join(channel, recorder)
    for n in range(5):
        run(handler(channel, "user_uttered")("sid-1", {"message": f"hi {n}", "session_id": mine}))
    assert [m.text for m in recorder.messages] == ["hi 0", "hi 1", "hi 2"]
    said = [data["text"] for event, data, _ in recorder.emitted if event == "bot_uttered"]
    slowed = [text for text in said if "faster than I can read" in text]
    assert len(slowed) == 2 and all("988" in text for text in slowed)


def test_one_address_flooding_many_conversations_is_slowed_down(
    website: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IOP_CHAT_MESSAGES_PER_ADDRESS_MINUTE", "4")
    channel, recorder = channel_with_recorder(CREDENTIALS)
    for n in range(6):
        session = f"sid-{n}"
        run(handler(channel, "session_request")(session, {}))
        issued = recorder.emitted[-1][1]
        run(handler(channel, "user_uttered")(session, {"message": "hi", "session_id": issued}))
    assert len(recorder.messages) == 4


def test_the_rate_limit_window_slides() -> None:
    limit = RateLimit(2, 60)
    assert limit.allow("k", 0) and limit.allow("k", 1)
    assert not limit.allow("k", 2) and limit.allow("other", 2)
    assert not limit.allow("k", 59.9)
    assert limit.allow("k", 60.5) and not limit.allow("k", 60.6)


def test_the_client_address_comes_from_trusted_proxies_only() -> None:
    environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9, 10.0.0.2"}
    assert client_address(environ, 0) == "127.0.0.1"
    assert client_address(environ, 1) == "10.0.0.2"
    assert client_address(environ, 2) == "203.0.113.9"
    assert client_address(environ, 3) == "127.0.0.1"  # fewer hops than proxies: not trusted
    assert client_address(None, 1) == "unknown"
