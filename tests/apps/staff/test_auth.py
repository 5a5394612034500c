"""Signing in, lockout, idle expiry, roles, CSRF, cookies, headers: every route needs a login."""

from __future__ import annotations

import re
import stat
import time

import pytest
from flask import Flask
from sqlalchemy import select

from bot.apps.staff.auth import PUBLIC_ENDPOINTS
from bot.apps.staff.config import SECRET_FILE, secret_key
from bot.db import get_sessionmaker
from bot.db.models import AuditEntry, LoginThrottle, StaffUser
from bot.db.staff_accounts import (
    DEMO_USERNAME,
    MAX_FAILED_LOGINS,
    ensure_demo_staff,
    reset_demo_staff,
)
from tests.apps.staff.conftest import (
    PASSWORD,
    add_flag,
    add_participant,
    csrf_token,
    flag_row,
    make_app,
    make_staff,
    sign_in,
)


def audit_rows(db_url: str) -> list[tuple[str, str, str, str | None]]:
    """Every audit row as (actor, action, object type, object id), oldest first."""
    with get_sessionmaker(db_url)() as session:
        rows = session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()
        return [(r.actor, r.action, r.object_type, r.object_id) for r in rows]


def test_healthz_answers_without_a_login(app: Flask) -> None:
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.data == b"ok"


def test_every_route_but_login_healthz_and_static_needs_authentication(app: Flask) -> None:
    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        url = re.sub(r"<(?:int:)?[a-z_]+>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            checked += 1
            if rule.rule.startswith("/api/"):
                assert response.status_code == 401, (method, url)
            else:
                assert response.status_code == 302, (method, url)
                assert response.headers["Location"].startswith("/login"), (method, url)
    assert checked >= 15
    assert {"auth.login", "auth.healthz", "static"} == PUBLIC_ENDPOINTS


def test_login_then_pages_and_an_audit_row(app: Flask, db_url: str) -> None:
    make_staff(db_url, "casey", "clinician")
    client = app.test_client()
    assert client.get("/").status_code == 302
    response = client.post("/login", data={"username": "casey", "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200 and b"casey (clinician)" in page.data
    assert ("staff:casey", "login", "staff_user", "1") in audit_rows(db_url)


def test_wrong_password_is_refused(app: Flask, db_url: str) -> None:
    make_staff(db_url, "casey", "clinician")
    client = app.test_client()
    response = client.post("/login", data={"username": "casey", "password": "not the password"})
    assert response.status_code == 401 and b"Wrong username or password" in response.data
    assert client.get("/").status_code == 302


def test_five_failures_lock_the_account_even_for_the_right_password(
    app: Flask, db_url: str
) -> None:
    make_staff(db_url, "casey", "clinician")
    client = app.test_client()
    for _ in range(4):
        response = client.post("/login", data={"username": "casey", "password": "guess guess"})
        assert b"Wrong username or password" in response.data
    response = client.post("/login", data={"username": "casey", "password": "guess guess"})
    assert response.status_code == 401 and b"locked for 15 minutes" in response.data
    response = client.post("/login", data={"username": "casey", "password": PASSWORD})
    assert response.status_code == 401 and b"Wrong username or password" in response.data
    assert client.get("/").status_code == 302
    with get_sessionmaker(db_url)() as session:
        assert session.execute(select(LoginThrottle.locked_until)).scalar_one() is not None


def test_a_guesser_elsewhere_cannot_lock_the_clinician_out(app: Flask, db_url: str) -> None:
    make_staff(db_url, "casey", "clinician")
    guesser = app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for _ in range(MAX_FAILED_LOGINS + 2):
        guesser.post("/login", data={"username": "casey", "password": "guess guess"})
    refused = guesser.post("/login", data={"username": "casey", "password": PASSWORD})
    assert refused.status_code == 401
    clinic = app.test_client()
    clinic.environ_base["REMOTE_ADDR"] = "10.20.0.7"
    sign_in(clinic, "casey")
    assert clinic.get("/").status_code == 200


def test_failed_sign_ins_are_audited_without_what_was_typed(app: Flask, db_url: str) -> None:
    make_staff(db_url, "casey", "clinician")
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for _ in range(MAX_FAILED_LOGINS):
        client.post("/login", data={"username": "casey", "password": "secret guess"})
    client.post("/login", data={"username": "my password 123", "password": "x"})
    with get_sessionmaker(db_url)() as session:
        casey = session.execute(select(StaffUser)).scalar_one().id
        rows = session.execute(
            select(AuditEntry).where(AuditEntry.action == "login_failed").order_by(AuditEntry.id)
        ).scalars()
        seen = [(r.actor, r.object_id, r.detail) for r in rows]
    address = {"address": "203.0.113.9"}
    assert seen == [
        *[("anonymous", str(casey), {**address, "locked": False})] * (MAX_FAILED_LOGINS - 1),
        ("anonymous", str(casey), {**address, "locked": True}),
        ("anonymous", None, {**address, "locked": False}),
    ]
    assert "secret guess" not in str(seen) and "my password" not in str(seen)


def test_the_client_address_comes_from_trusted_proxies_only(db_url: str) -> None:
    make_staff(db_url, "casey", "clinician")
    forwarded = {"X-Forwarded-For": "198.51.100.4"}
    for proxies, expected in ((0, "127.0.0.1"), (1, "198.51.100.4")):
        client = make_app(db_url, TRUSTED_PROXIES=proxies).test_client()
        client.post("/login", data={"username": "casey", "password": "no"}, headers=forwarded)
        with get_sessionmaker(db_url)() as session, session.begin():
            throttle = session.execute(select(LoginThrottle)).scalar_one()
            assert throttle.address == expected
            session.delete(throttle)


def test_a_locked_login_answers_like_an_unknown_username(app: Flask, db_url: str) -> None:
    make_staff(db_url, "casey", "clinician")
    client = app.test_client()
    for _ in range(5):
        client.post("/login", data={"username": "casey", "password": "guess guess"})
    answers = []
    for username in ("casey", "nobody-here"):
        for _ in range(6):
            response = client.post("/login", data={"username": username, "password": "guess"})
        error = re.search(rb'<p class="error"[^>]*>(.*?)</p>', response.data)
        answers.append((response.status_code, error and error.group(1)))
    # A different answer for a locked login would tell a guesser which usernames exist.
    assert answers[0] == answers[1] and answers[0][1]


def test_login_ignores_an_offsite_next(app: Flask, db_url: str) -> None:
    make_staff(db_url, "casey", "clinician")
    client = app.test_client()
    response = client.post(
        "/login?next=//evil.example/x", data={"username": "casey", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/"
    client.post("/logout")
    response = client.post(
        "/login?next=/participants/", data={"username": "casey", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/participants/"


@pytest.mark.parametrize(
    "target",
    [
        "/\t/evil.example/x",  # browsers drop the tab: //evil.example/x
        "/\n/evil.example/x",  # crashed the sign-in with a 500 (newline in a header)
        "/\r\n/evil.example",
        "/\\evil.example",
        "/ /evil.example",
        "https://evil.example/",
        "///evil.example",
    ],
)
def test_login_refuses_a_next_that_browsers_read_as_another_host(
    app: Flask, db_url: str, target: str
) -> None:
    make_staff(db_url, "casey", "clinician")
    response = app.test_client().post(
        "/login", query_string={"next": target}, data={"username": "casey", "password": PASSWORD}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_logout_is_a_post_and_ends_the_session(clinician) -> None:
    assert clinician.get("/logout").status_code == 405
    response = clinician.post("/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert clinician.get("/").status_code == 302


def test_a_cookie_copied_before_logout_is_worthless_after_it(app: Flask, db_url: str) -> None:
    make_staff(db_url, "casey", "clinician")
    client, other_device = app.test_client(), app.test_client()
    sign_in(client, "casey")
    sign_in(other_device, "casey")
    with client.session_transaction() as session:
        copied = dict(session)
    client.post("/logout")
    thief = app.test_client()
    with thief.session_transaction() as session:
        session.update(copied)
    assert thief.get("/").status_code == 302  # back to the sign-in page
    assert other_device.get("/").status_code == 302  # signing out ends every session
    sign_in(client, "casey")
    assert client.get("/").status_code == 200


def test_idle_session_expires_after_the_configured_minutes(db_url: str) -> None:
    app = make_app(db_url, IDLE_TIMEOUT_MINUTES=15)
    make_staff(db_url, "casey", "clinician")
    client = app.test_client()
    sign_in(client, "casey")
    with client.session_transaction() as session:
        session["last_seen"] = time.time() - 14 * 60
    assert client.get("/").status_code == 200  # 14 idle minutes: still signed in
    with client.session_transaction() as session:
        session["last_seen"] = time.time() - 16 * 60
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    page = client.get(response.headers["Location"])
    assert b"signed out after a period without activity" in page.data
    # The session is gone for good, not only for one request.
    assert client.get("/").status_code == 302


def test_a_busy_session_still_ends_after_the_maximum_hours(db_url: str) -> None:
    app = make_app(db_url, IDLE_TIMEOUT_MINUTES=15, MAX_SESSION_HOURS=12)
    make_staff(db_url, "casey", "clinician")
    client = app.test_client()
    sign_in(client, "casey")
    with client.session_transaction() as session:
        session["signed_in_at"] = time.time() - 11 * 3600
    assert client.get("/").status_code == 200
    # Requests every few minutes kept the idle timer from ever running out.
    with client.session_transaction() as session:
        session["signed_in_at"] = time.time() - 13 * 3600
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert b"reached its time limit" in client.get(response.headers["Location"]).data
    assert client.get("/").status_code == 302


def test_idle_timeout_is_configurable(db_url: str) -> None:
    app = make_app(db_url, IDLE_TIMEOUT_MINUTES=1)
    make_staff(db_url, "casey", "clinician")
    client = app.test_client()
    sign_in(client, "casey")
    with client.session_transaction() as session:
        session["last_seen"] = time.time() - 90
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("POST", "/participants/"),
        ("POST", "/participants/1/revoke"),
        ("POST", "/participants/1/link"),
        ("POST", "/participants/1/reminder"),
        ("POST", "/participants/1/reminder/stop"),
        ("GET", "/alerts/"),
        ("GET", "/audit/"),
        ("GET", "/staff/"),
        ("POST", "/staff/"),
        ("POST", "/staff/1/active"),
        ("POST", "/staff/1/unlock"),
    ],
)
def test_clinicians_get_403_on_admin_routes(clinician, db_url: str, method: str, url: str) -> None:
    participant_id, _ = add_participant(db_url)
    assert participant_id == 1
    response = clinician.open(url, method=method, data={"name": "Sam"})
    assert response.status_code == 403
    with get_sessionmaker(db_url)() as session:
        from bot.db.models import Participant

        participants = session.execute(select(Participant)).scalars().all()
        assert [(p.display_name, p.revoked_at) for p in participants] == [("Alex P", None)]


def test_csrf_is_required_on_every_form(db_url: str) -> None:
    app = make_app(db_url, WTF_CSRF_ENABLED=True)
    make_staff(db_url, "casey", "clinician")
    flag_id = add_flag(db_url)
    client = app.test_client()
    # Sign-in itself needs the token.
    response = client.post("/login", data={"username": "casey", "password": PASSWORD})
    assert response.status_code == 400
    token = csrf_token(client.get("/login").data)
    response = client.post(
        "/login", data={"username": "casey", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    # A forged resolve (no token, or a wrong one) changes nothing.
    for data in ({"note": "forged"}, {"note": "forged", "csrf_token": "wrong"}):
        assert client.post(f"/flags/{flag_id}/resolve", data=data).status_code == 400
        assert flag_row(db_url, flag_id).status == "open"
    page = client.get(f"/flags/{flag_id}")
    response = client.post(
        f"/flags/{flag_id}/resolve",
        data={"note": "Called back, safe", "csrf_token": csrf_token(page.data)},
    )
    assert response.status_code == 303
    assert flag_row(db_url, flag_id).status == "resolved"
    assert client.post("/logout").status_code == 400  # sign-out needs the token too


def test_session_cookie_flags(db_url: str) -> None:
    make_staff(db_url, "casey", "clinician")
    response = (
        make_app(db_url)
        .test_client()
        .post("/login", data={"username": "casey", "password": PASSWORD})
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = make_app(db_url, SESSION_COOKIE_SECURE=True).test_client()
    cookie = secure.post("/login", data={"username": "casey", "password": PASSWORD}).headers[
        "Set-Cookie"
    ]
    assert "Secure" in cookie
    assert secure.get("/login").headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in make_app(db_url).test_client().get("/login").headers


def test_security_headers_on_pages(clinician) -> None:
    for url in ("/login", "/", "/participants/"):
        headers = clinician.get(url).headers
        assert headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Cache-Control"] == "no-store"


def test_security_headers_on_error_pages_too(db_url: str) -> None:
    app = make_app(db_url, TESTING=False, PROPAGATE_EXCEPTIONS=False)

    @app.get("/fails")
    def fails() -> str:
        raise RuntimeError("a stack trace that must not be shown")

    make_staff(db_url, "casey", "clinician")
    client = app.test_client()
    sign_in(client, "casey")
    for method, url, status in (
        ("GET", "/no-such-page", 404),
        ("PUT", "/login", 405),
        ("GET", "/fails", 500),
        # a browser session is no API credential: unrouted or not, /api answers 401
        ("GET", "/api/no-such-route", 401),
    ):
        response = client.open(url, method=method)
        assert response.status_code == status, url
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Cache-Control"] == "no-store"
        assert b"Traceback" not in response.data and b"must not be shown" not in response.data


def test_secret_key_is_generated_once_into_var(tmp_path, monkeypatch) -> None:
    var = tmp_path / "somewhere"
    first = secret_key(var)
    assert len(first) >= 40 and secret_key(var) == first
    assert stat.S_IMODE((var / SECRET_FILE).stat().st_mode) == 0o600
    monkeypatch.setenv("IOP_STAFF_SECRET_KEY", "from-the-environment")
    assert secret_key(var) == "from-the-environment"


def test_demo_staff_login_is_created_once(app: Flask, db_url: str) -> None:
    with get_sessionmaker(db_url)() as session, session.begin():
        created = ensure_demo_staff(session)
    assert created is not None and created[0] == DEMO_USERNAME
    with get_sessionmaker(db_url)() as session, session.begin():
        assert ensure_demo_staff(session) is None
    client = app.test_client()
    sign_in(client, *created)
    assert client.get("/audit/").status_code == 200  # an admin


def test_demo_staff_gets_a_fresh_password_each_run(app: Flask, db_url: str) -> None:
    with get_sessionmaker(db_url)() as session, session.begin():
        first = reset_demo_staff(session)
    with get_sessionmaker(db_url)() as session, session.begin():
        second = reset_demo_staff(session)
    assert first and second and first[0] == second[0] == DEMO_USERNAME and first[1] != second[1]
    client = app.test_client()
    old = client.post("/login", data={"username": DEMO_USERNAME, "password": first[1]})
    assert old.status_code != 302  # the previous run's password no longer works
    sign_in(client, *second)
    assert client.get("/audit/").status_code == 200


def test_demo_staff_is_never_created_on_postgresql(database_url: str) -> None:
    with get_sessionmaker(database_url)() as session, session.begin():
        created = ensure_demo_staff(session)
    assert (created is None) == database_url.startswith("postgresql")


def test_every_form_post_without_a_csrf_token_is_refused(db_url: str) -> None:
    app = make_app(db_url, WTF_CSRF_ENABLED=True)
    make_staff(db_url, "ada", "admin")
    add_participant(db_url)
    flag_id = add_flag(db_url)
    client = app.test_client()
    page = client.get("/login")
    client.post(
        "/login",
        data={"username": "ada", "password": PASSWORD, "csrf_token": csrf_token(page.data)},
    )
    assert client.get("/").status_code == 200
    posts = [
        rule
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods and not rule.rule.startswith("/api/")
    ]
    assert len(posts) == 14
    for rule in posts:
        url = re.sub(r"<(?:int:)?[a-z_]+>", "1", rule.rule)
        response = client.post(url, data={"name": "Eve", "note": "x", "status": "contacted"})
        assert response.status_code == 400, url
        assert b"did not come from this site" in response.data
    assert flag_row(db_url, flag_id).status == "open"
    assert client.get("/").status_code == 200  # still signed in: logout was refused too
