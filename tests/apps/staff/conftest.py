"""Fixtures for the staff app: a migrated database, the app, signed-in clients, seeded records."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bot.apps.staff import create_app
from bot.db import get_sessionmaker
from bot.db.assessments import save_assessment
from bot.db.checkins import save_checkin
from bot.db.flags import open_flag
from bot.db.migrate import upgrade
from bot.db.models import Flag, utcnow
from bot.db.participants import enroll
from bot.db.staff_accounts import create_api_token, create_staff
from bot.settings import get_settings

PASSWORD = "correct horse battery"
ALERT_ENV = (
    "IOP_ALERT_WEBHOOK_URL",
    "IOP_ALERT_WEBHOOK_FORMAT",
    "IOP_SMTP_URL",
    "IOP_ALERT_EMAIL_TO",
    "IOP_ALERT_REPEAT_MINUTES",
)


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """var/ and the tracker database in the test's own directory, never the repository's; no
    alert channel configured (a test sets one when it needs it), so flags get no alert rows."""
    monkeypatch.setenv("IOP_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'tracker.db'}")
    monkeypatch.delenv("IOP_STAFF_SECRET_KEY", raising=False)
    for name in ALERT_ENV:
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def db_url(tmp_path) -> str:
    """A migrated, empty SQLite database."""
    url = f"sqlite:///{tmp_path / 'iop.db'}"
    upgrade(url)
    return url


def make_app(db_url: str, **overrides: object) -> Flask:
    """The staff app on `db_url` with test settings (CSRF off unless a test turns it on)."""
    config = {
        "DATABASE_URL": db_url,
        "SECRET_KEY": "test-secret-key",
        "WTF_CSRF_ENABLED": False,
        "TESTING": True,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture
def app(db_url: str) -> Flask:
    """The staff app on the test database, CSRF off (CSRF has tests of its own)."""
    return make_app(db_url)


def make_staff(db_url: str, username: str, role: str) -> None:
    """A staff login with the shared test password."""
    with get_sessionmaker(db_url)() as session, session.begin():
        create_staff(session, username, PASSWORD, role)


def make_token(db_url: str, name: str, role: str) -> str:
    """An API token; returns the bearer token."""
    with get_sessionmaker(db_url)() as session, session.begin():
        return create_api_token(session, name, role)[1]


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> None:
    """Sign `client` in and check it worked."""
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, response.data[:300]


@pytest.fixture
def clinician(app: Flask, db_url: str) -> FlaskClient:
    """A client signed in as clinician 'casey'."""
    make_staff(db_url, "casey", "clinician")
    client = app.test_client()
    sign_in(client, "casey")
    return client


@pytest.fixture
def admin(app: Flask, db_url: str) -> FlaskClient:
    """A client signed in as admin 'ada'."""
    make_staff(db_url, "ada", "admin")
    client = app.test_client()
    sign_in(client, "ada")
    return client


def csrf_token(html: bytes) -> str:
    """The CSRF token in a page's first form."""
    match = re.search(rb'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1).decode()


def add_flag(
    db_url: str,
    kind: str = "crisis",
    severity: str = "urgent",
    conversation_id: str = "visitor-1",
    reason: str = "Crisis language",
    created_at: datetime | None = None,
    **fields: object,
) -> int:
    """Open a flag through the bot's own repository; returns its id."""
    with get_sessionmaker(db_url)() as session, session.begin():
        flag = open_flag(
            session,
            kind=kind,
            severity=severity,
            conversation_id=conversation_id,
            reason=reason,
            dedup_key=f"{kind}:{conversation_id}:{reason}:{created_at}",
            message_id=fields.pop("message_id", None),
            participant_id=fields.pop("participant_id", None),
        )
        session.flush()
        if created_at is not None:
            flag.created_at = created_at
        for key, value in fields.items():
            setattr(flag, key, value)
        return flag.id


def flag_row(db_url: str, flag_id: int) -> Flag:
    """The flag as stored now."""
    with get_sessionmaker(db_url)() as session:
        return session.get(Flag, flag_id)


def add_assessment(
    db_url: str,
    reference: str = "IOP-AAAAAA",
    recommendation: str = "iop",
    contact: dict | None = None,
) -> int:
    """A completed pre-assessment (and its follow-up flag); returns the assessment id."""
    with get_sessionmaker(db_url)() as session, session.begin():
        assessment, _ = save_assessment(
            session,
            conversation_id=f"conv-{reference}",
            dedup_key=f"dedup-{reference}",
            reference=reference,
            recommendation=recommendation,
            flag_severity="normal",
            answers={
                "age": 34,
                "concern": "both",
                "substances": ["alcohol", "cannabis"],
                "preferred_time": "evening",
                "attend_format": "virtual",
            },
            phq2=2,
            gad2=4,
            contact=contact,
        )
        return assessment.id


def add_participant(db_url: str, name: str = "Alex P") -> tuple[int, str]:
    """Enroll a participant; returns (id, token)."""
    with get_sessionmaker(db_url)() as session, session.begin():
        enrollment = enroll(session, name)
        return enrollment.participant_id, enrollment.token


def add_checkins(
    db_url: str, participant_id: int, days: int, start: datetime | None = None
) -> None:
    """One check-in a day for `days` days ending now, with varied craving, mood and triggers."""
    start = start or utcnow() - timedelta(days=days - 1)
    triggers = [["stress"], ["conflict", "places"], [], ["loneliness", "stress"], ["boredom"]]
    with get_sessionmaker(db_url)() as session, session.begin():
        for day in range(days):
            checkin, _ = save_checkin(
                session,
                participant_id=participant_id,
                conversation_id=f"p{participant_id}",
                dedup_key=f"p{participant_id}-{day}-{start.isoformat()}",
                mood=1 + day % 5,
                craving=(day * 3) % 11,
                triggers=triggers[day % len(triggers)],
                used_since_last=day % 7 == 6,
                coping="walked" if day % 2 else None,
                note=f"day {day}",
            )
            checkin.created_at = start + timedelta(days=day)
