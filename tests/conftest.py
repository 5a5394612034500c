"""Shared fixtures: the trained model and one running stack (Rasa, actions, worker, website)
per test session, its alerts going to a local HTTP receiver and SMTP server."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import uuid
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests

from bot.apps.web import widget_installed
from bot.db import get_sessionmaker
from bot.db.migrate import upgrade
from bot.db.staff_accounts import create_api_token
from bot.ops.stack import Stack
from bot.settings import get_settings
from tests.databases import database_url  # noqa: F401  (a fixture for every layer's tests)
from tests.receivers import SmtpServer, WebhookReceiver

MODEL = get_settings().model_path
T = TypeVar("T")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")  # for Rasa loaded in this process


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to its end on a fresh event loop in a thread of its own: a test that ran
    before (the browser tests' playwright) may leave a loop running in this thread, where
    asyncio.run refuses to start."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coroutine)
        except BaseException as error:  # noqa: BLE001 (re-raised in the test's thread)
            result["error"] = error

    thread = threading.Thread(target=target, name="run_async")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


@contextmanager
def settings_env(name: str, value: str | None) -> Iterator[None]:
    """Settings re-read with environment variable `name` set to `value` (unset when None);
    the variable and the settings are as before afterwards."""
    try:
        with pytest.MonkeyPatch.context() as patch:
            if value is None:
                patch.delenv(name, raising=False)
            else:
                patch.setenv(name, value)
            get_settings.cache_clear()
            yield
    finally:
        get_settings.cache_clear()


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening_sockets(pid: int) -> set[tuple[str, int]] | None:
    """(address, port) of every TCP socket process `pid` listens on, read from /proc (Linux);
    None where /proc cannot tell."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    inodes = set()
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:  # closed meanwhile (the listing's own descriptor, for one)
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            address, port = local.split(":")
            raw = bytes.fromhex(address)  # 32-bit words in host (little-endian) order
            raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found.add((socket.inet_ntop(family, raw), int(port, 16)))
    return found


@pytest.fixture(scope="session")
def model_path() -> Path:
    """The model `make train` built; `make test` trains it once before pytest runs."""
    if not MODEL.is_file():
        pytest.fail(f"no trained model at {MODEL}: run `make train` (make test does it)")
    return MODEL


@pytest.fixture(scope="session")
def agent(model_path: Path):
    """The trained model loaded in this process once (about 40 s and 2 GB), for the tests that
    parse or run stories without the servers."""
    from rasa.core.agent import Agent

    return Agent.load(str(model_path))


@pytest.fixture(scope="session")
def stack_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The SQLite database the test stack's action server writes to, migrated."""
    url = f"sqlite:///{tmp_path_factory.mktemp('stack-db') / 'iop.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def stack_tracker_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Where the test stack's Rasa server keeps conversations."""
    return f"sqlite:///{tmp_path_factory.mktemp('stack-tracker') / 'tracker.db'}"


@pytest.fixture(scope="session")
def alert_receiver() -> Iterator[WebhookReceiver]:
    """The HTTP receiver the test stack's worker posts staff alerts to."""
    receiver = WebhookReceiver(free_port()).start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def alert_smtp() -> Iterator[SmtpServer]:
    """The SMTP server the test stack's worker mails staff alerts and reminders to."""
    server = SmtpServer(free_port()).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stack(
    model_path: Path,
    stack_database_url: str,
    stack_tracker_url: str,
    alert_receiver: WebhookReceiver,
    alert_smtp: SmtpServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    """The real Rasa server, action server and website on free ports, for the whole session
    (one stack: each start loads the model, about 40 s). The website needs the npm widget
    (`make test` installs it); without it the stack runs without the website, and only the
    browser tests fail, saying so."""
    web_port = free_port() if widget_installed() else None
    env = {
        "DATABASE_URL": stack_database_url,
        "TRACKER_DATABASE_URL": stack_tracker_url,
        "IOP_ALERT_WEBHOOK_URL": alert_receiver.url,
        "IOP_SMTP_URL": alert_smtp.url,
        "IOP_ALERT_EMAIL_TO": "oncall@clinic.example",
        # every test talks from 127.0.0.1, browsers click fast: the limits have their own tests
        "IOP_CHAT_MESSAGES_PER_MINUTE": "100000",
        "IOP_CHAT_MESSAGES_PER_ADDRESS_MINUTE": "100000",
    }
    if web_port:
        # the socket.io channel admits the widget from this origin only
        env["IOP_WEBSITE_URL"] = f"http://127.0.0.1:{web_port}"
    running = Stack(
        model=model_path,
        rasa_port=free_port(),
        action_port=free_port(),
        web_port=web_port,
        worker=True,
        log_dir=tmp_path_factory.mktemp("stack-logs"),
        extra_env=env,
    )
    running.start()
    # The REST channel answers trusted callers only (SPEC §4): the tests' channel token.
    with get_sessionmaker(stack_database_url)() as session, session.begin():
        running.channel_token = create_api_token(session, "tests", "channel")[1]
    yield running
    running.stop()


class Chat:
    """One user talking to the bot through the REST channel, with the stack's channel token."""

    def __init__(self, stack: Stack, sender: str | None = None) -> None:
        self.url = f"{stack.rasa_url}/webhooks/rest/webhook"
        self.sender = sender or f"test-{uuid.uuid4().hex}"
        self.headers = {"Authorization": f"Bearer {stack.channel_token}"}

    def post(self, message: object, metadata: dict | None = None) -> requests.Response:
        """Send one message and return the raw HTTP response."""
        body: dict = {"sender": self.sender, "message": message}
        if metadata is not None:
            body["metadata"] = metadata
        return requests.post(self.url, json=body, headers=self.headers, timeout=30)

    def say(self, message: str, metadata: dict | None = None) -> list[dict]:
        """Send one message and return the bot's replies (each with text and maybe buttons)."""
        response = self.post(message, metadata)
        assert response.status_code == 200, response.text[:200]
        return response.json()

    def texts(self, message: str) -> list[str]:
        """Send one message and return only the texts of the bot's replies."""
        return [reply["text"] for reply in self.say(message) if "text" in reply]


@pytest.fixture
def chat(stack: Stack) -> Chat:
    """A fresh conversation with the running bot."""
    return Chat(stack)
