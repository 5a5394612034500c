"""Staff logins (argon2, lockout) and API tokens (hashed, revocable)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from bot.db import get_engine, get_sessionmaker, staff_accounts
from bot.db.models import LoginThrottle, StaffUser, utcnow
from bot.db.staff_accounts import (
    LOCKOUT,
    MAX_FAILED_LOGINS,
    AccountError,
    create_api_token,
    create_staff,
    resolve_api_token,
    revoke_api_token,
    verify_login,
)
from bot.settings import REPO_ROOT

PASSWORD = "correct horse battery"


def make_user(url: str, username: str = "dana", role: str = "clinician") -> None:
    with get_sessionmaker(url)() as session, session.begin():
        create_staff(session, username, PASSWORD, role)


def login(url: str, password: str, now=None, username: str = "dana", address: str = "10.0.0.1"):
    with get_sessionmaker(url)() as session, session.begin():
        result = verify_login(session, username, password, now, address=address)
        return (result.user.username if result.user else None), result.locked


def test_password_is_stored_as_argon2id(database_url: str) -> None:
    make_user(database_url)
    with get_engine(database_url).connect() as connection:
        stored = connection.execute(text("SELECT password_hash FROM staff_users")).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_login_good_and_bad(database_url: str) -> None:
    make_user(database_url)
    assert login(database_url, PASSWORD) == ("dana", False)
    assert login(database_url, PASSWORD, username="DANA ") == ("dana", False)
    assert login(database_url, "wrong password!!") == (None, False)
    assert login(database_url, PASSWORD, username="nobody") == (None, False)


def test_lockout_after_repeated_failures_then_expiry(database_url: str) -> None:
    make_user(database_url)
    start = utcnow()
    for _ in range(MAX_FAILED_LOGINS - 1):
        assert login(database_url, "nope nope nope", start) == (None, False)
    assert login(database_url, "nope nope nope", start) == (None, True)
    # locked: even the right password is refused until the lockout ends
    assert login(database_url, PASSWORD, start + timedelta(minutes=1)) == (None, True)
    later = start + LOCKOUT + timedelta(seconds=1)
    assert login(database_url, PASSWORD, later) == ("dana", False)


def test_a_lockout_holds_for_the_address_that_guessed_only(database_url: str) -> None:
    make_user(database_url)
    start = utcnow()
    for _ in range(MAX_FAILED_LOGINS):
        login(database_url, "nope nope nope", start, address="203.0.113.9")
    assert login(database_url, PASSWORD, start, address="203.0.113.9") == (None, True)
    assert login(database_url, PASSWORD, start, address="10.0.0.1") == ("dana", False)
    with get_sessionmaker(database_url)() as session:
        user_id = session.execute(select(StaffUser.id)).scalar_one()
        assert staff_accounts.locked_logins(session, start) == {user_id: start + LOCKOUT}
    with get_sessionmaker(database_url)() as session, session.begin():
        assert staff_accounts.unlock_staff(session, user_id) is not None
    assert login(database_url, PASSWORD, start, address="203.0.113.9") == ("dana", False)


def test_inactive_staff_cannot_log_in(database_url: str) -> None:
    make_user(database_url)
    with get_sessionmaker(database_url)() as session, session.begin():
        session.execute(select(StaffUser)).scalar_one().active = False
    assert login(database_url, PASSWORD) == (None, False)


@pytest.mark.parametrize(
    ("username", "password", "role"),
    [
        ("dana", "short", "clinician"),
        ("x", PASSWORD, "clinician"),
        ("bad name!", PASSWORD, "clinician"),
        ("dana", PASSWORD, "superuser"),
    ],
)
def test_bad_accounts_are_refused(
    database_url: str, username: str, password: str, role: str
) -> None:
    with get_sessionmaker(database_url)() as session, pytest.raises(AccountError):
        create_staff(session, username, password, role)


def test_duplicate_username_is_refused(database_url: str) -> None:
    make_user(database_url)
    with pytest.raises(AccountError, match="taken"):
        make_user(database_url, "Dana")


def test_api_tokens_are_hashed_resolvable_and_revocable(database_url: str) -> None:
    factory = get_sessionmaker(database_url)
    with factory() as session, session.begin():
        row, token = create_api_token(session, "dashboard export", "admin")
    with get_engine(database_url).connect() as connection:
        dump = str(connection.execute(text("SELECT * FROM api_tokens")).all())
    assert token not in dump
    with factory() as session, session.begin():
        found = resolve_api_token(session, token)
        assert found is not None and found.role == "admin" and found.last_used_at is not None
        assert resolve_api_token(session, token + "x") is None
        assert resolve_api_token(session, None) is None
    with factory() as session, session.begin():
        assert revoke_api_token(session, row.id)
        assert not revoke_api_token(session, 999)
    with factory() as session:
        assert resolve_api_token(session, token) is None


def run_cli(tmp_path, *args: str, password: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "IOP_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    env.pop("STAFF_PASSWORD", None)
    if password is not None:
        env["STAFF_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_create_staff_and_api_token_commands(tmp_path) -> None:
    made = run_cli(
        tmp_path,
        "create-staff",
        "--username",
        "ops",
        "--role",
        "admin",
        "--json",
        password=PASSWORD,
    )
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout) == {"id": 1, "username": "ops", "role": "admin"}
    assert PASSWORD not in made.stdout + made.stderr
    again = run_cli(
        tmp_path, "create-staff", "--username", "ops", "--role", "admin", password=PASSWORD
    )
    assert again.returncode == 1 and "taken" in again.stderr
    no_password = run_cli(tmp_path, "create-staff", "--username", "x1y", "--role", "clinician")
    assert no_password.returncode == 2 and "STAFF_PASSWORD" in no_password.stderr
    token = run_cli(tmp_path, "api-token", "--name", "reports", "--json")
    assert token.returncode == 0, token.stderr
    assert len(json.loads(token.stdout)["token"]) >= 40


def test_guesses_sent_in_parallel_are_all_counted(database_url: str) -> None:
    make_user(database_url)
    barrier = threading.Barrier(MAX_FAILED_LOGINS)

    def guess(_: int) -> tuple[str | None, bool]:
        barrier.wait()
        return login(database_url, "a parallel guess")

    with ThreadPoolExecutor(max_workers=MAX_FAILED_LOGINS) as pool:
        results = list(pool.map(guess, range(MAX_FAILED_LOGINS)))
    assert all(user is None for user, _ in results)
    # Each read the same old count before: the count lost updates and never locked.
    assert login(database_url, PASSWORD) == (None, True)


def test_attempts_past_the_limit_are_not_checked(database_url: str) -> None:
    make_user(database_url)
    with get_sessionmaker(database_url)() as session, session.begin():
        # As if MAX_FAILED_LOGINS parallel guesses were being checked right now.
        user_id = session.execute(select(StaffUser.id)).scalar_one()
        session.add(
            LoginThrottle(
                staff_user_id=user_id, address="10.0.0.1", failed_logins=MAX_FAILED_LOGINS
            )
        )
    assert login(database_url, PASSWORD) == (None, True)


def test_a_locked_login_takes_the_same_hashing_work(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user(database_url)
    start = utcnow()
    for _ in range(MAX_FAILED_LOGINS):
        login(database_url, "nope nope nope", start)
    checked = []
    original = staff_accounts._verify
    monkeypatch.setattr(staff_accounts, "_verify", lambda h, p: checked.append(p) or original(h, p))
    assert login(database_url, "locked guess", start) == (None, True)
    assert login(database_url, "unknown guess", start, username="nobody") == (None, False)
    # An answer without the hash's work would tell a guesser the username exists.
    assert checked == ["locked guess", "unknown guess"]


def test_a_guess_that_began_before_the_lockout_is_not_checked(database_url: str) -> None:
    make_user(database_url)
    assert login(database_url, "a first guess") == (None, False)
    with get_sessionmaker(database_url)() as guess, guess.begin():
        # This guess read the count while the login was unlocked...
        user = guess.execute(select(StaffUser)).scalar_one()
        throttle = guess.execute(select(LoginThrottle)).scalar_one()
        assert throttle.locked_until is None
        # ...then the fifth failure of other guesses from the same address locked it.
        with get_sessionmaker(database_url)() as other, other.begin():
            for _ in range(MAX_FAILED_LOGINS - 1):
                verify_login(other, "dana", "a parallel guess", address="10.0.0.1")
        # The right password, arriving late, is not even checked.
        now = utcnow()
        assert (
            staff_accounts._check_counted(guess, throttle, user.password_hash, PASSWORD, now)
            is False
        )
        assert throttle.locked_until is not None
    assert login(database_url, PASSWORD) == (None, True)
