"""Participants' daily reminders from the staff side: shown masked, set, changed and stopped by
admins, set at enrollment; bad settings refused with nothing stored; every change audited."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.apps.staff.participant_views import mask_email
from bot.db import get_sessionmaker
from bot.db.models import AuditEntry, Participant, Reminder
from bot.db.participants import resolve_token
from tests.apps.staff.conftest import PASSWORD, add_participant, csrf_token, make_app, make_staff

ADDRESS = "jordan.river@example.org"


@pytest.fixture
def db_url(database_url: str) -> str:
    """These tests run on SQLite and on PostgreSQL."""
    return database_url


def reminders(db_url: str) -> list[Reminder]:
    """Every reminders row."""
    with get_sessionmaker(db_url)() as session:
        return list(session.execute(select(Reminder).order_by(Reminder.id)).scalars())


def reminder_audits(db_url: str) -> list[AuditEntry]:
    """The audit rows of reminder changes, oldest first."""
    with get_sessionmaker(db_url)() as session:
        query = (
            select(AuditEntry)
            .where(AuditEntry.action.in_(("set_reminder", "stop_reminder")))
            .order_by(AuditEntry.id)
        )
        return list(session.execute(query).scalars())


def facts(html: str) -> dict[str, str]:
    """The reminder's facts on the participant page: {label: text}."""
    block = html.split('<dl class="facts" id="reminder">', 1)[1].split("</dl>", 1)[0]
    pairs = re.findall(r"<dt>(.*?)</dt><dd[^>]*>(.*?)</dd>", block, re.S)
    return {k: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", v)).strip() for k, v in pairs}


def test_mask_email() -> None:
    assert mask_email("jordan@example.org") == "j***@example.org"
    assert mask_email("j@example.org") == "j***@example.org"
    assert mask_email("odd") == "***"


def test_admin_sets_changes_and_stops_a_reminder(admin: FlaskClient, db_url: str) -> None:
    participant_id, _ = add_participant(db_url)
    page = admin.get(f"/participants/{participant_id}").data.decode()
    assert "No reminder set." in page and 'id="reminder-form"' in page
    # The time zone field starts at the clinic's.
    assert re.search(r'name="timezone" maxlength="64" value="America/New_York"', page)

    response = admin.post(
        f"/participants/{participant_id}/reminder",
        data={"email": ADDRESS, "time": "7pm", "timezone": "America/Chicago"},
    )
    assert response.status_code == 303
    [row] = reminders(db_url)
    assert (row.participant_id, row.email, row.local_time, row.timezone, row.active) == (
        participant_id,
        ADDRESS,
        "19:00",
        "America/Chicago",
        True,
    )
    assert (row.quiet_start, row.quiet_end) == ("22:00", "07:00")
    html = admin.get(response.headers["Location"]).data.decode()
    assert "Daily reminder set for 7 pm (America/Chicago) to j***@example.org." in html
    assert facts(html) == {
        "State": "active",
        "Time": "7 pm (19:00) · America/Chicago",
        "Quiet hours": "10 pm to 7 am",
        "E-mail": "j***@example.org",
        "Last sent": "—",
    }
    assert ADDRESS not in html and "jordan" not in html

    # A change without an address keeps the one on file; quiet hours are set here too.
    response = admin.post(
        f"/participants/{participant_id}/reminder",
        data={
            "email": "",
            "time": "08:30",
            "timezone": "America/Chicago",
            "quiet_start": "21:00",
            "quiet_end": "6am",
        },
    )
    assert response.status_code == 303
    [row] = reminders(db_url)
    assert (row.email, row.local_time, row.quiet_start, row.quiet_end) == (
        ADDRESS,
        "08:30",
        "21:00",
        "06:00",
    )

    response = admin.post(f"/participants/{participant_id}/reminder/stop")
    assert response.status_code == 303
    [row] = reminders(db_url)
    assert row.active is False and row.stopped_at is not None
    html = admin.get(f"/participants/{participant_id}").data.decode()
    assert facts(html)["State"].startswith("stopped 20")
    assert "Restart reminder" in html and "Stop reminders</button>" not in html
    again = admin.post(f"/participants/{participant_id}/reminder/stop", follow_redirects=True)
    assert b"No reminder was running." in again.data

    audits = reminder_audits(db_url)
    assert [(a.actor, a.action, a.object_type, a.object_id) for a in audits] == [
        ("staff:ada", "set_reminder", "participant", str(participant_id)),
        ("staff:ada", "set_reminder", "participant", str(participant_id)),
        ("staff:ada", "stop_reminder", "participant", str(participant_id)),
    ]
    assert audits[0].detail == {
        "time": "19:00",
        "timezone": "America/Chicago",
        "quiet": "22:00-07:00",
        "email_changed": True,
    }
    assert audits[1].detail["email_changed"] is False
    assert "jordan" not in str([a.detail for a in audits])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "not-an-address", "time": "19:00"}, "does not look like an e-mail address"),
        # what the address pattern allows but reminders.email cannot hold (254 characters)
        (
            {"email": "j" * 64 + "@" + "d" * 189 + ".org", "time": "19:00"},
            "not look like an e-mail",
        ),
        ({"time": "19:00"}, "an e-mail address is needed"),
        ({"email": ADDRESS, "time": "whenever"}, "like 19:00 or 7pm"),
        ({"email": ADDRESS, "time": ""}, "like 19:00 or 7pm"),
        ({"email": ADDRESS, "time": "23:00"}, "not sent between 10 pm and 7 am"),
        ({"email": ADDRESS, "time": "19:00", "timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"email": ADDRESS, "time": "19:00", "quiet_start": "21:00"}, "both ends of the quiet"),
        ({"email": ADDRESS, "time": "19:00", "quiet_start": "9pm", "quiet_end": "soon"}, "quiet"),
    ],
)
def test_bad_reminder_settings_are_refused_and_nothing_is_stored(
    admin: FlaskClient, db_url: str, data: dict, message: str
) -> None:
    participant_id, _ = add_participant(db_url)
    response = admin.post(f"/participants/{participant_id}/reminder", data=data)
    assert response.status_code == 400
    html = response.data.decode()
    flash = re.search(r'<p class="flash" role="status">(.*?)</p>', html).group(1)
    assert flash.startswith("Reminder not saved: ") and message in flash
    assert 'id="reminder-form"' in html  # the form again, to correct
    assert reminders(db_url) == [] and reminder_audits(db_url) == []


def test_a_refused_change_leaves_the_reminder_as_it_was(admin: FlaskClient, db_url) -> None:
    participant_id, _ = add_participant(db_url)
    url = f"/participants/{participant_id}/reminder"
    assert admin.post(url, data={"email": ADDRESS, "time": "19:00"}).status_code == 303
    response = admin.post(url, data={"email": "bad", "time": "20:00", "timezone": "UTC"})
    assert response.status_code == 400
    # the form shows what was typed, but never an address
    assert 'name="time" required maxlength="40" placeholder="19:00 or 7pm" value="20:00"' in (
        response.data.decode()
    )
    [row] = reminders(db_url)
    assert (row.email, row.local_time, row.timezone) == (ADDRESS, "19:00", "America/New_York")
    assert len(reminder_audits(db_url)) == 1


def test_no_reminder_for_a_revoked_or_unknown_participant(admin: FlaskClient, db_url) -> None:
    participant_id, _ = add_participant(db_url)
    admin.post(f"/participants/{participant_id}/revoke")
    response = admin.post(
        f"/participants/{participant_id}/reminder", data={"email": ADDRESS, "time": "19:00"}
    )
    assert response.status_code == 400 and b"link is revoked" in response.data
    assert b'id="reminder-form"' not in admin.get(f"/participants/{participant_id}").data
    data = {"email": ADDRESS, "time": "19:00"}
    assert admin.post("/participants/999/reminder", data=data).status_code == 404
    assert admin.post("/participants/999/reminder/stop").status_code == 404
    assert reminders(db_url) == []


def test_clinicians_see_the_reminder_masked_but_cannot_change_it(
    clinician: FlaskClient, admin: FlaskClient, db_url: str
) -> None:
    participant_id, _ = add_participant(db_url)
    admin.post(f"/participants/{participant_id}/reminder", data={"email": ADDRESS, "time": "19:00"})
    html = clinician.get(f"/participants/{participant_id}").data.decode()
    assert facts(html)["E-mail"] == "j***@example.org" and ADDRESS not in html
    assert 'id="reminder-form"' not in html and "Stop reminders" not in html
    changed = {"email": "other@example.org", "time": "8am"}
    assert (
        clinician.post(f"/participants/{participant_id}/reminder", data=changed).status_code == 403
    )
    assert clinician.post(f"/participants/{participant_id}/reminder/stop").status_code == 403
    [row] = reminders(db_url)
    assert (row.email, row.local_time, row.active) == (ADDRESS, "19:00", True)
    assert [a.actor for a in reminder_audits(db_url)] == ["staff:ada"]


def test_reminder_forms_need_the_csrf_token(db_url: str) -> None:
    app = make_app(db_url, WTF_CSRF_ENABLED=True)
    make_staff(db_url, "ada", "admin")
    participant_id, _ = add_participant(db_url)
    client = app.test_client()
    token = csrf_token(client.get("/login").data)
    client.post("/login", data={"username": "ada", "password": PASSWORD, "csrf_token": token})
    url = f"/participants/{participant_id}/reminder"
    data = {"email": ADDRESS, "time": "19:00"}
    for forged in ({}, {"csrf_token": "wrong"}):
        response = client.post(url, data={**data, **forged})
        assert response.status_code == 400 and b"did not come from this site" in response.data
    assert reminders(db_url) == []
    page = client.get(f"/participants/{participant_id}")
    response = client.post(url, data={**data, "csrf_token": csrf_token(page.data)})
    assert response.status_code == 303 and len(reminders(db_url)) == 1
    assert client.post(f"{url}/stop").status_code == 400
    assert reminders(db_url)[0].active is True
    enroll = {"name": "Sam Lee", "email": ADDRESS, "reminder_time": "7pm"}
    assert client.post("/participants/", data=enroll).status_code == 400
    with get_sessionmaker(db_url)() as session:
        assert session.execute(select(Participant.display_name)).scalars().all() == ["Alex P"]


def test_enroll_with_a_reminder_sets_both(admin: FlaskClient, db_url: str) -> None:
    page = admin.post(
        "/participants/", data={"name": "Sam Lee", "email": ADDRESS, "reminder_time": "7pm"}
    )
    assert page.status_code == 200
    html = page.data.decode()
    token = re.search(r"checkin#token=([\w-]+)", html).group(1)
    assert "e-mailed to j***@example.org at 7 pm (America/New_York)" in html
    assert ADDRESS not in html
    with get_sessionmaker(db_url)() as session:
        participant_id = resolve_token(session, token).id
    [row] = reminders(db_url)
    assert (row.participant_id, row.email, row.local_time, row.timezone, row.active) == (
        participant_id,
        ADDRESS,
        "19:00",
        "America/New_York",
        True,
    )
    [audit] = reminder_audits(db_url)
    assert (audit.action, audit.object_id) == ("set_reminder", str(participant_id))
    assert "jordan" not in str(audit.detail)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "nope", "reminder_time": "7pm"}, b"does not look like an e-mail address"),
        ({"email": ADDRESS}, b"like 19:00 or 7pm"),
        ({"reminder_time": "7pm"}, b"an e-mail address is needed"),
        ({"email": ADDRESS, "reminder_time": "23:30"}, b"not sent between"),
    ],
)
def test_enroll_with_a_bad_reminder_enrolls_nobody(
    admin: FlaskClient, db_url: str, data: dict, message: bytes
) -> None:
    response = admin.post("/participants/", data={"name": "Sam Lee", **data})
    assert response.status_code == 400
    assert b"Nobody was enrolled" in response.data and message in response.data
    with get_sessionmaker(db_url)() as session:
        assert session.execute(select(Participant)).scalars().all() == []
        enrolls = session.execute(select(AuditEntry).where(AuditEntry.action == "enroll"))
        assert enrolls.scalars().all() == []
    assert reminders(db_url) == []


def test_enroll_without_a_reminder_sets_none(admin: FlaskClient, db_url: str) -> None:
    page = admin.post("/participants/", data={"name": "Sam Lee", "email": " ", "reminder_time": ""})
    assert page.status_code == 200 and b"checkin#token=" in page.data
    assert b'id="reminder-set"' not in page.data
    assert reminders(db_url) == []
