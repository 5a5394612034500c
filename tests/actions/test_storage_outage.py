"""A PostgreSQL outage for real: the action server reaches the database through a TCP proxy
that stops accepting connections (connections refused, open ones cut) while a participant
finishes a check-in. The check-in is kept in the durable queue and stored exactly once, with
its flags, when the database is back."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.checkin_form import ActionSubmitCheckin
from actions.durable import SAVED_LATER, drain, spool
from bot.db import get_engine, get_sessionmaker
from bot.db.migrate import upgrade
from bot.db.models import CheckIn, Flag
from bot.db.participants import TOKEN_HASH_KEY, enroll, hash_token
from tests.conftest import free_port, run_async, settings_env
from tests.databases import postgres_database


class TcpProxy:
    """Forwards a local port to PostgreSQL until `down()`: then nothing listens there."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self.target_port = target_port
        self.server: socket.socket | None = None
        self.sockets: list[socket.socket] = []

    def up(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(16)
        self.server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def down(self) -> None:
        """Refuse new connections and cut the open ones, as a stopped server would."""
        if self.server is not None:
            with contextlib.suppress(OSError):
                self.server.shutdown(socket.SHUT_RDWR)
            self.server.close()
            self.server = None
        for end in self.sockets:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()
        self.sockets.clear()


@pytest.fixture
def outage(tmp_path: Path) -> Iterator[tuple[str, TcpProxy]]:
    with postgres_database() as url:
        upgrade(url)
        proxy = TcpProxy(int(url.rsplit(":", 1)[1].split("/", 1)[0]))
        proxy.up()
        proxied = url.replace(f":{proxy.target_port}/", f":{proxy.port}/")
        with settings_env("DATABASE_URL", proxied), settings_env("IOP_VAR_DIR", str(tmp_path)):
            try:
                yield url, proxy
            finally:
                proxy.down()
                get_engine(proxied).dispose()


def checkin_tracker(participant_id: int, token: str) -> Tracker:
    slots = {
        "mood": 2,
        "craving": 9,
        "triggers": ["conflict"],
        "used_since_last": {"used": True, "what": "alcohol"},
        "coping_note": {"coping": None, "note": None},
        "checkin_key": "key-1",
        "checkin_participant": participant_id,
    }
    return Tracker(
        sender_id="conversation-pg",
        slots=slots,
        latest_message={
            "text": "nothing to add",
            "intent": {"name": "deny", "confidence": 0.9},
            "metadata": {TOKEN_HASH_KEY: hash_token(token)},
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="checkin_form",
    )


def submit_during_outage(
    outage: tuple[str, TcpProxy], token: str | None = None
) -> tuple[int, list[dict]]:
    """Enroll a participant, cut the database off, and run the check-in's submit action with
    `token` (default theirs); returns the participant's id and what the action said."""
    url, proxy = outage
    with get_sessionmaker(url)() as session, session.begin():
        enrollment = enroll(session, "Outage participant")
    proxy.down()
    dispatcher = CollectingDispatcher()
    tracker = checkin_tracker(enrollment.participant_id, token or enrollment.token)
    run_async(ActionSubmitCheckin().run(dispatcher, tracker, {}))
    return enrollment.participant_id, dispatcher.messages


def test_a_checkin_finished_during_a_postgres_outage_is_stored_once_it_is_back(
    outage: tuple[str, TcpProxy],
) -> None:
    url, proxy = outage
    participant_id, [reply] = submit_during_outage(outage)
    assert "Thanks for checking in" in reply["text"] and SAVED_LATER in reply["text"]
    assert len(spool().pending()) == 1
    assert drain() == (0, 1)  # still down: kept, in order
    proxy.up()
    assert drain() == (1, 0)
    assert drain() == (0, 0)
    with get_sessionmaker(url)() as session:
        [row] = session.execute(select(CheckIn)).scalars().all()
        kinds = sorted(f.kind for f in session.execute(select(Flag)).scalars())
    assert (row.participant_id, row.craving, row.used_since_last) == (participant_id, 9, True)
    assert kinds == ["high_craving", "lapse"]


def test_a_queued_checkin_whose_token_names_nobody_is_not_stored(
    outage: tuple[str, TcpProxy],
) -> None:
    url, proxy = outage
    submit_during_outage(outage, token="a token nobody was ever given")
    proxy.up()
    assert drain() == (0, 0)
    with get_sessionmaker(url)() as session:
        assert session.execute(select(CheckIn)).scalars().all() == []
