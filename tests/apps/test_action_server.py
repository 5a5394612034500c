"""The action server (bot/apps/action_server.py), run for real: only Rasa, with the shared secret,
gets an action run, and a failure answers and logs no part of the request."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from bot.db import get_sessionmaker
from bot.db.migrate import upgrade
from bot.db.models import Assessment, Flag
from bot.ops.stack import SERVICE_ENV, Service
from bot.settings import ACTION_TOKEN_ENV, ACTION_TOKEN_HEADER, REPO_ROOT
from tests.conftest import free_port

TOKEN = "t" * 20 + uuid.uuid4().hex
MARKER = f"zebra{uuid.uuid4().hex[:10]}"


def forged_call(action: str) -> dict:
    """What a local process could post: a call with a made-up, nearly empty tracker."""
    return {
        "next_action": action,
        "sender_id": f"forged-{MARKER}",
        "tracker": {
            "sender_id": f"forged-{MARKER}",
            "slots": {"age_band": "18_plus", "note": f"{MARKER}@example.com"},
            "latest_message": {"text": f"call me {MARKER}", "intent": {"name": "affirm"}},
            "events": [],
        },
        "domain": {},
        "version": "3.6.21",
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Service]]:
    directory = tmp_path_factory.mktemp("action-server")
    database = f"sqlite:///{directory / 'iop.db'}"
    upgrade(database)
    port = free_port()
    service = Service(
        name="action server",
        command=[sys.executable, "-m", "bot.apps.action_server", "--port", str(port)],
        ready_url=f"http://127.0.0.1:{port}/health",
        log_path=directory / "actions.log",
    )
    env = {
        **SERVICE_ENV,
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO_ROOT),
        "DATABASE_URL": database,
        ACTION_TOKEN_ENV: TOKEN,
    }
    service.start(env)
    try:
        service.wait_ready(time.monotonic() + 90)
        yield f"http://127.0.0.1:{port}", database, service
    finally:
        service.stop()


def rows(database: str, model: type) -> int:
    with get_sessionmaker(database)() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.mark.parametrize("token", [None, "", "wrong", TOKEN[:-1], TOKEN + "x"])
@pytest.mark.parametrize("action", ["action_submit_assessment", "action_flag_crisis"])
def test_a_call_without_the_secret_runs_nothing(server, token: str | None, action: str) -> None:
    url, database, _ = server
    headers = {} if token is None else {ACTION_TOKEN_HEADER: token}
    answer = requests.post(f"{url}/webhook", json=forged_call(action), headers=headers, timeout=30)
    assert answer.status_code == 401
    assert MARKER not in answer.text
    assert rows(database, Assessment) == 0 and rows(database, Flag) == 0
    listing = requests.get(f"{url}/actions", headers=headers, timeout=30)
    assert listing.status_code == 401


def test_the_health_check_needs_no_secret_and_no_web_origin_is_allowed(server) -> None:
    url, _, _ = server
    answer = requests.get(f"{url}/health", headers={"Origin": "http://evil.example"}, timeout=30)
    assert answer.status_code == 200
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_with_the_secret_the_actions_answer(server) -> None:
    url, _, _ = server
    listing = requests.get(f"{url}/actions", headers={ACTION_TOKEN_HEADER: TOKEN}, timeout=30)
    assert listing.status_code == 200
    assert {"name": "action_submit_assessment"} in listing.json()


def test_a_failing_action_echoes_nothing_and_logs_nothing_of_the_request(server) -> None:
    url, _, service = server
    broken = forged_call("action_submit_assessment")
    broken["tracker"] = [f"not a tracker {MARKER}"]  # rasa_sdk fails on it
    answer = requests.post(
        f"{url}/webhook", json=broken, headers={ACTION_TOKEN_HEADER: TOKEN}, timeout=30
    )
    assert 400 <= answer.status_code < 600
    assert MARKER not in answer.text
    time.sleep(0.5)
    assert MARKER not in Path(service.log_path).read_text(errors="replace")


def test_the_server_refuses_to_start_without_a_long_enough_secret() -> None:
    for token in (None, "short"):
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)}
        if token is not None:
            env[ACTION_TOKEN_ENV] = token
        done = subprocess.run(
            [sys.executable, "-m", "bot.apps.action_server", "--port", str(free_port())],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2 and ACTION_TOKEN_ENV in done.stderr
