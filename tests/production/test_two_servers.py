"""The production profile for real (`make run-production`, bot/ops/stack.py with replicas=2): two
Rasa servers and two action servers behind nginx, conversations and records on PostgreSQL, the
conversation locks in Redis, the website in front.

- a check-in whose messages alternate between the two Rasa servers keeps its form state and is
  stored once, with its flags;
- messages for one sender sent to both servers at once are handled in the order they were sent;
- a Rasa server killed mid-conversation loses nothing: the balancer passes the next message to the
  other server, which carries on from the stored conversation;
- the website's chat (socket.io over long polling, which needs every request of a session on one
  server) works through the balancer, and a conversation id one server issued is honoured by the
  other (a widget that reconnects after its server died).

In CI (CI=true) PostgreSQL, Redis and nginx must be there; elsewhere the module skips without.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import socketio
from sqlalchemy import select, text

from bot.apps.web import widget_installed
from bot.db import get_sessionmaker
from bot.db.migrate import upgrade
from bot.db.models import CheckIn, Flag
from bot.db.participants import enroll
from bot.db.staff_accounts import create_api_token
from bot.ops.balancer import nginx_binary
from bot.ops.stack import Stack
from tests.conversations.test_checkin import FREE_TEXT_CHECKIN
from tests.databases import postgres_database

REDIS_URL = os.environ.get("IOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/1")


def _missing() -> str | None:
    if nginx_binary() is None:
        return "nginx is not installed (make nginx)"
    if not widget_installed():
        return "the website's widget is not installed (make web)"
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as error:
        return f"Redis is not reachable at {REDIS_URL}: {error}"
    return None


missing = _missing()
if missing:
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"the production profile must be tested in CI: {missing}")
    pytest.skip(f"production profile: {missing}", allow_module_level=True)


def ports_in_a_row(count: int) -> int:
    """The first of `count` consecutive loopback ports nothing listens on."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + count > 65535:
            continue
        free = True
        for port in range(base, base + count):
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    free = False
                    break
        if free:
            return base
    raise RuntimeError("no run of free ports")


class Production:
    """The running profile, its database and a REST client with a channel token."""

    def __init__(self, stack: Stack, database_url: str, token: str) -> None:
        self.stack, self.database_url, self.token = stack, database_url, token

    def say(self, base_url: str, sender: str, message: str, metadata: dict | None = None) -> list:
        body: dict = {"sender": sender, "message": message}
        if metadata:
            body["metadata"] = metadata
        answer = requests.post(
            f"{base_url}/webhooks/rest/webhook",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text[:200]
        return answer.json()

    def participant(self, name: str) -> tuple[int, str]:
        with get_sessionmaker(self.database_url)() as session, session.begin():
            enrollment = enroll(session, name)
        return enrollment.participant_id, enrollment.token

    def checkins(self, participant_id: int) -> list[CheckIn]:
        with get_sessionmaker(self.database_url)() as session:
            query = select(CheckIn).where(CheckIn.participant_id == participant_id)
            return list(session.execute(query).scalars())

    def flags(self, participant_id: int) -> list[tuple[str, str]]:
        with get_sessionmaker(self.database_url)() as session:
            query = select(Flag).where(Flag.participant_id == participant_id)
            return sorted((f.kind, f.severity) for f in session.execute(query).scalars())

    def user_texts(self, sender: str) -> list[str]:
        """What the conversation's user said, in the order the tracker store holds it."""
        with get_sessionmaker(self.database_url)() as session:
            rows = session.execute(
                text(
                    "SELECT data FROM events WHERE sender_id = :sender AND type_name = 'user' "
                    "ORDER BY id"
                ),
                {"sender": sender},
            )
            import json

            return [json.loads(row.data).get("text") for row in rows]


@pytest.fixture(scope="module")
def production(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Production]:
    with postgres_database() as url:
        upgrade(url)
        base = ports_in_a_row(6)  # balancer and two servers, for Rasa and for actions
        web_port = ports_in_a_row(1)
        env = {
            "DATABASE_URL": url,
            "LOCK_STORE_URL": REDIS_URL,
            "IOP_WEBSITE_URL": f"http://127.0.0.1:{web_port}",
            # its own spool and session key, both shared by the servers of this profile
            "IOP_VAR_DIR": str(tmp_path_factory.mktemp("production-var")),
            "IOP_CHAT_MESSAGES_PER_MINUTE": "100000",
            "IOP_CHAT_MESSAGES_PER_ADDRESS_MINUTE": "100000",
        }
        stack = Stack(
            model=model_path,
            rasa_port=base,
            action_port=base + 3,
            replicas=2,
            web_port=web_port,
            log_dir=tmp_path_factory.mktemp("production-logs"),
            extra_env=env,
        )
        stack.start(timeout=300)
        try:
            with get_sessionmaker(url)() as session, session.begin():
                token = create_api_token(session, "production tests", "channel")[1]
            yield Production(stack, url, token)
        finally:
            stack.stop()


def test_the_profile_runs_two_of_each_behind_nginx(production: Production) -> None:
    stack = production.stack
    names = sorted(s.name for s in stack.services)
    assert names == [
        "action server 1",
        "action server 2",
        "balancer",
        "rasa server 1",
        "rasa server 2",
        "website",
    ]
    assert all(s.running() for s in stack.services)
    for url in stack.rasa_backend_urls:
        assert requests.get(f"{url}/", timeout=5).status_code == 200


def test_a_checkin_alternating_between_the_servers_keeps_its_state_and_is_stored_once(
    production: Production,
) -> None:
    participant_id, token = production.participant("Alternating participant")
    sender = f"alternating-{uuid.uuid4().hex}"
    servers = production.stack.rasa_backend_urls
    replies = [
        production.say(servers[i % 2], sender, message, {"participant_token": token})
        for i, message in enumerate(FREE_TEXT_CHECKIN)
    ]
    last = " ".join(r.get("text", "") for r in replies[-1])
    assert "slip doesn't erase your progress" in last, last
    [row] = production.checkins(participant_id)
    assert (row.mood, row.craving, row.used_since_last) == (4, 8, True)
    assert row.conversation_id == sender
    assert production.flags(participant_id) == [("high_craving", "high"), ("lapse", "high")]


def test_messages_for_one_sender_sent_to_both_servers_keep_their_order(
    production: Production,
) -> None:
    sender = f"ordered-{uuid.uuid4().hex}"
    servers = production.stack.rasa_backend_urls
    questions = [
        "what is iop?",
        "how much does it cost?",
        "is it confidential?",
        "how long does the program last?",
        "do you take insurance?",
        "what are the hours?",
    ]
    sent = [f"{q} ({n})" for n, q in enumerate(questions)]
    threads = []
    failures: list[BaseException] = []

    def send(index: int, message: str) -> None:
        try:
            production.say(servers[index % 2], sender, message)
        except BaseException as error:  # noqa: BLE001 (reported below)
            failures.append(error)

    for index, message in enumerate(sent):
        thread = threading.Thread(target=send, args=(index, message))
        thread.start()
        threads.append(thread)
        time.sleep(0.15)  # sent in this order, each while the ones before are still in flight
    for thread in threads:
        thread.join(120)
    assert not failures, failures
    assert production.user_texts(sender) == sent


class Widget:
    """The website's chat widget, over socket.io long polling (every poll a new HTTP request,
    so the balancer must keep a session on one server)."""

    def __init__(self, url: str, origin: str) -> None:
        self.url, self.origin = url, origin
        self.client = socketio.Client(reconnection=False)
        self.replies: list[object] = []
        self.confirmed: list[str] = []
        self.client.on("bot_uttered", self.replies.append)
        self.client.on("session_confirm", self.confirmed.append)

    def __enter__(self) -> Widget:
        self.client.connect(
            self.url, headers={"Origin": self.origin}, transports=["polling"], wait_timeout=30
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.eio.disconnect(abort=True)

    def join(self, session_id: str | None) -> str:
        self.client.emit("session_request", {"session_id": session_id})
        for _ in range(60):
            if self.confirmed:
                return self.confirmed[-1]
            self.client.sleep(0.25)
        raise AssertionError("no session_confirm")

    def ask(self, message: str, expect: str) -> str:
        before = len(self.replies)
        self.client.emit("user_uttered", {"message": message, "session_id": self.confirmed[-1]})
        for _ in range(240):
            found = [str(r) for r in self.replies[before:] if expect in str(r)]
            if found:
                return found[0]
            self.client.sleep(0.25)
        raise AssertionError(f"no reply with {expect!r}: {self.replies[before:]}")


def test_the_websites_chat_works_through_the_balancer(production: Production) -> None:
    stack = production.stack
    origin = stack.extra_env["IOP_WEBSITE_URL"]
    with Widget(stack.web_url, origin) as widget:
        session_id = widget.join(None)
        widget.ask("what is iop?", "Intensive Outpatient")
        widget.ask("how long does it last?", "week")
    # a widget whose server went away reconnects, maybe to the other server, with its id
    for url in stack.rasa_backend_urls:
        with Widget(url, origin) as again:
            assert again.join(session_id) == session_id


# last: it leaves one Rasa server loading the model again
def test_a_rasa_server_killed_mid_conversation_loses_nothing(production: Production) -> None:
    stack = production.stack
    participant_id, token = production.participant("Failover participant")
    sender = f"failover-{uuid.uuid4().hex}"
    metadata = {"participant_token": token}
    first, rest = FREE_TEXT_CHECKIN[:3], FREE_TEXT_CHECKIN[3:]
    for message in first:
        assert production.say(stack.rasa_url, sender, message, metadata)
    killed = stack.service("rasa server 1")
    os.killpg(killed.process.pid, signal.SIGKILL)
    killed.process.wait(timeout=10)
    try:
        replies = [production.say(stack.rasa_url, sender, m, metadata) for m in rest]
        assert "slip doesn't erase your progress" in " ".join(
            r.get("text", "") for r in replies[-1]
        )
        [row] = production.checkins(participant_id)
        assert (row.mood, row.craving, row.used_since_last) == (4, 8, True)
        assert production.user_texts(sender) == FREE_TEXT_CHECKIN
        assert stack.service("rasa server 2").running()
    finally:
        # the supervisor starts it again, the others untouched (as `python -m bot serve` does);
        # last in this module, so nothing waits for it to load the model
        others = {s.name: s.process.pid for s in stack.services if s is not killed}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not killed.running():
            stack.supervise()
            time.sleep(0.2)
    assert killed.running() and killed.restarts == 1
    assert {s.name: s.process.pid for s in stack.services if s is not killed} == others
