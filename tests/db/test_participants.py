"""Participants' tokens: hashed at rest, resolved only while active, never confused."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import select, text

from bot.db import get_engine, get_sessionmaker
from bot.db.models import Participant
from bot.db.participants import (
    enroll,
    hash_token,
    participant_for_message,
    protect_metadata,
    resolve_token,
    resolve_token_hash,
    revoke,
)
from bot.settings import REPO_ROOT


def test_token_is_stored_only_as_a_hash(database_url: str) -> None:
    with get_sessionmaker(database_url)() as session, session.begin():
        enrollment = enroll(session, "  Sam   Q ")
    assert enrollment.link.endswith(f"/checkin#token={enrollment.token}")
    assert len(enrollment.token) >= 40
    with get_engine(database_url).connect() as connection:
        dump = " ".join(
            str(v) for row in connection.execute(text("SELECT * FROM participants")) for v in row
        )
    assert enrollment.token not in dump
    assert hash_token(enrollment.token) in dump
    with get_sessionmaker(database_url)() as session:
        assert session.execute(select(Participant)).scalar_one().display_name == "Sam Q"


def test_each_token_resolves_to_its_own_participant(database_url: str) -> None:
    factory = get_sessionmaker(database_url)
    with factory() as session, session.begin():
        a, b = enroll(session, "A"), enroll(session, "B")
    with factory() as session:
        assert resolve_token(session, a.token).id == a.participant_id
        assert resolve_token(session, b.token).id == b.participant_id
        assert a.participant_id != b.participant_id


def test_revoked_token_no_longer_resolves(database_url: str) -> None:
    factory = get_sessionmaker(database_url)
    with factory() as session, session.begin():
        enrollment = enroll(session, "A")
    with factory() as session, session.begin():
        assert revoke(session, enrollment.participant_id)
        assert revoke(session, enrollment.participant_id)  # idempotent
        assert not revoke(session, 999_999)
    with factory() as session:
        assert resolve_token(session, enrollment.token) is None


@pytest.mark.parametrize(
    "token", [None, 42, "", "short", "x" * 500, "' OR 1=1 --' OR '1'='1", ["t"], "a" * 43]
)
def test_bad_tokens_resolve_to_nobody(database_url: str, token: object) -> None:
    with get_sessionmaker(database_url)() as session, session.begin():
        enroll(session, "A")
    with get_sessionmaker(database_url)() as session:
        assert resolve_token(session, token) is None


@pytest.mark.parametrize("name", ["", "   ", "x" * 121, "bad\x00name"])
def test_bad_names_are_refused(database_url: str, name: str) -> None:
    with get_sessionmaker(database_url)() as session, pytest.raises(ValueError):
        enroll(session, name)


def run_cli(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "IOP_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_enroll_and_revoke_commands(tmp_path) -> None:
    enrolled = run_cli(tmp_path, "enroll", "--name", "Jo", "--json")
    assert enrolled.returncode == 0, enrolled.stderr
    result = json.loads(enrolled.stdout)
    assert set(result) == {"participant_id", "token", "link"}
    assert result["link"].endswith(result["token"])
    revoked = run_cli(tmp_path, "revoke", str(result["participant_id"]), "--json")
    assert json.loads(revoked.stdout) == {
        "participant_id": result["participant_id"],
        "revoked": True,
    }
    assert run_cli(tmp_path, "revoke", "12345").returncode == 1
    assert run_cli(tmp_path, "enroll", "--name", " ").returncode == 2


def test_protect_metadata_swaps_the_token_for_its_hash() -> None:
    token = "t" * 43
    assert protect_metadata({"participant_token": token, "lang": "en"}) == {
        "participant_token_hash": hash_token(token),
        "lang": "en",
    }
    assert protect_metadata(None) is None
    assert protect_metadata({"lang": "en"}) == {"lang": "en"}
    # malformed tokens are dropped; a client cannot inject a hash of its choosing
    assert protect_metadata({"participant_token": 42}) == {}
    forged = {"participant_token": "short", "participant_token_hash": "f" * 64}
    assert protect_metadata(forged) == {}


def test_a_leaked_hash_cannot_be_replayed_as_a_token(database_url: str) -> None:
    with get_sessionmaker(database_url)() as session, session.begin():
        enrollment = enroll(session, "A")
    with get_sessionmaker(database_url)() as session:
        stored_hash = hash_token(enrollment.token)
        assert resolve_token_hash(session, stored_hash).id == enrollment.participant_id
        assert resolve_token(session, stored_hash) is None


def test_a_hash_sent_without_a_token_is_dropped(database_url: str) -> None:
    with get_sessionmaker(database_url)() as session, session.begin():
        enrollment = enroll(session, "A")
    leaked = {"participant_token_hash": hash_token(enrollment.token), "lang": "en"}
    protected = protect_metadata(leaked)
    assert protected == {"lang": "en"}
    with get_sessionmaker(database_url)() as session:
        assert participant_for_message(session, protected) is None
