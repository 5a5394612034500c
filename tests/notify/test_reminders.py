"""Participants' daily reminders and missed check-ins: rules, storage, and real e-mail."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.apps.web import create_app
from bot.db.engine import get_sessionmaker
from bot.db.models import Flag, MailLink, Participant, Reminder
from bot.db.participants import (
    enroll,
    hash_token,
    new_participant_link,
    resolve_token,
    resolve_token_hash,
    revoke,
)
from bot.notify.reminders import (
    ReminderError,
    clock_text,
    in_quiet_hours,
    is_due,
    parse_clock,
    set_reminder,
    stop_reminder,
)
from bot.notify.worker import Worker
from bot.settings import get_settings
from tests.conftest import free_port
from tests.db.test_db import checkin
from tests.receivers import SmtpServer, body_text

LA = ZoneInfo("America/Los_Angeles")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("remind me every day at 7pm", time(19)),
        ("7:30 pm please", time(19, 30)),
        ("at 19:00", time(19)),
        ("8 in the morning", time(8)),
        ("at 9 every night", time(21)),
        ("around noon", time(12)),
        ("at 6", time(18)),
        ("at 10", time(10)),
        ("7 p.m.", time(19)),
        ("remind me daily", None),
        ("every 2 days", None),
        ("at 25", None),
        ("13pm", None),
    ],
)
def test_parse_clock(text: str, expected: time | None) -> None:
    assert parse_clock(text) == expected


def test_clock_text_and_quiet_hours() -> None:
    assert [clock_text(t) for t in (time(19), time(7, 5), time(12), time(0))] == [
        "7 pm",
        "7:05 am",
        "noon",
        "12 am",
    ]
    quiet = (time(22), time(7))
    assert in_quiet_hours(time(23), *quiet) and in_quiet_hours(time(6, 59), *quiet)
    assert not in_quiet_hours(time(7), *quiet) and not in_quiet_hours(time(21, 59), *quiet)
    assert in_quiet_hours(time(13), time(12), time(14)) and not in_quiet_hours(
        time(14), time(12), time(14)
    )


@pytest.mark.parametrize(
    ("local", "last_sent", "checked_in", "due"),
    [
        (datetime(2026, 12, 7, 18, 59), None, False, False),  # before the time
        (datetime(2026, 12, 7, 19, 0), None, False, True),
        (datetime(2026, 12, 7, 21, 30), None, False, True),  # late, still not quiet
        (datetime(2026, 12, 7, 22, 30), None, False, False),  # quiet hours
        (datetime(2026, 12, 7, 19, 5), date(2026, 12, 7), False, False),  # sent today
        (datetime(2026, 12, 7, 19, 5), date(2026, 12, 6), False, True),  # sent yesterday
        (datetime(2026, 12, 7, 19, 5), None, True, False),  # already checked in
    ],
)
def test_is_due(local: datetime, last_sent: date | None, checked_in: bool, due: bool) -> None:
    assert (
        is_due(
            local_now=local.replace(tzinfo=LA),
            remind_at=time(19),
            quiet=(time(22), time(7)),
            last_sent_on=last_sent,
            checked_in_today=checked_in,
        )
        is due
    )


def _participant(database_url: str, created: datetime | None = None) -> int:
    with get_sessionmaker(database_url)() as session, session.begin():
        row = Participant(display_name="Sam", token_hash=uuid.uuid4().hex * 2)
        if created:
            row.created_at = created
        session.add(row)
        session.flush()
        return row.id


def test_set_reminder_validates_and_keeps_the_address(database_url: str) -> None:
    pid = _participant(database_url)
    factory = get_sessionmaker(database_url)
    for kwargs, message in [
        ({"local_time": time(23), "email": "sam@example.org"}, "not sent between 10 pm and 7 am"),
        ({"local_time": time(19), "email": "not an address"}, "e-mail address"),
        ({"local_time": time(19)}, "e-mail address"),
        ({"local_time": time(19), "email": "a@b.org", "timezone": "Mars/Base"}, "time zone"),
    ]:
        with pytest.raises(ReminderError, match=message), factory() as session, session.begin():
            set_reminder(session, pid, **kwargs)
    with factory() as session:
        assert session.execute(select(Reminder)).first() is None
    with factory() as session, session.begin():
        set_reminder(
            session,
            pid,
            local_time=time(19),
            email="sam@example.org",
            timezone="America/Los_Angeles",
        )
    with factory() as session, session.begin():
        # a new time in the chat keeps the address and zone on file
        row = set_reminder(session, pid, local_time=time(8, 30))
        assert (row.email, row.timezone, row.local_time) == (
            "sam@example.org",
            "America/Los_Angeles",
            "08:30",
        )
        assert stop_reminder(session, pid) is True
        assert stop_reminder(session, pid) is False
        assert row.active is False and row.stopped_at is not None


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    server = SmtpServer(free_port()).start()
    monkeypatch.setenv("IOP_SMTP_URL", server.url)
    monkeypatch.setenv("IOP_WEBSITE_URL", "https://clinic.example")
    get_settings.cache_clear()
    yield server
    server.stop()
    get_settings.cache_clear()


def _la(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=LA).astimezone(timezone.utc)


def test_reminder_goes_once_a_day_at_the_local_time(
    database_url: str, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory = get_sessionmaker(database_url)
    with factory() as session, session.begin():
        enrollment = enroll(session, "Sam")
        set_reminder(
            session,
            enrollment.participant_id,
            local_time=time(19),
            email="sam@example.org",
            timezone="America/Los_Angeles",
        )
    worker = Worker(settings=get_settings(), session_factory=factory)
    assert worker.run_once(_la(7, 18, 59))["reminders"] == 0
    assert worker.run_once(_la(7, 19, 0))["reminders"] == 1
    assert worker.run_once(_la(7, 19, 1))["reminders"] == 0
    assert worker.run_once(_la(7, 21, 0))["reminders"] == 0
    [mail] = smtp.messages
    assert mail["X-Envelope-To"] == "sam@example.org"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = body_text(mail)
    # no name, no clinic: a shared inbox tells nobody who is in treatment
    assert "Sam" not in text and mail["Subject"] == "Your daily check-in"
    assert get_settings().clinic.name not in mail.as_string()
    checkin_token = re.search(r"https://clinic\.example/checkin#token=([\w-]+)", text)[1]
    stop_url = re.search(r"https://clinic\.example(/reminders/stop\?token=[\w-]+)", text)[1]
    assert checkin_token != enrollment.token
    with factory() as session:
        # the link's own token opens the participant's check-in; the personal link still works
        assert resolve_token(session, checkin_token).id == enrollment.participant_id
        assert resolve_token(session, enrollment.token).id == enrollment.participant_id
    # the check-in link works for two days, then not
    sent_at = _la(7, 19, 0)
    with factory() as session:
        link_hash = hash_token(checkin_token)
        assert resolve_token_hash(session, link_hash, sent_at + timedelta(hours=47)) is not None
        assert resolve_token_hash(session, link_hash, sent_at + timedelta(hours=49)) is None

    # the next day, again once
    assert worker.run_once(_la(8, 19, 30))["reminders"] == 1
    # checked in before the time on the 9th: no reminder that day
    with factory() as session, session.begin():
        session.add(checkin(enrollment.participant_id, created_at=_la(9, 9, 0)))
    assert worker.run_once(_la(9, 19, 0))["reminders"] == 0
    assert len(smtp.messages) == 2
    # the stop link on the website: GET only asks, POST stops (mail scanners open links)
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    app = create_app()
    client = app.test_client()
    page = client.get(stop_url)
    assert page.status_code == 200 and b"Stop reminders" in page.data
    with factory() as session:
        assert session.execute(select(Reminder.active)).scalar() is True
    one_click = client.post(stop_url, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200 and b"no more reminder" in one_click.data
    with factory() as session:
        assert session.execute(select(Reminder.active)).scalar() is False
    assert worker.run_once(_la(10, 19, 0))["reminders"] == 0
    assert client.post("/reminders/stop?token=forged-token-of-some-length").status_code == 404


def test_a_new_or_revoked_personal_link_ends_the_mailed_links(
    database_url: str, smtp: SmtpServer
) -> None:
    factory = get_sessionmaker(database_url)
    with factory() as session, session.begin():
        pid = enroll(session, "Sam").participant_id
        set_reminder(
            session,
            pid,
            local_time=time(19),
            email="sam@example.org",
            timezone="America/Los_Angeles",
        )
    worker = Worker(settings=get_settings(), session_factory=factory)
    worker.run_once(_la(7, 19))
    token = re.search(r"checkin#token=([\w-]+)", body_text(smtp.messages[0]))[1]
    with factory() as session, session.begin():
        assert resolve_token(session, token).id == pid
        new_participant_link(session, pid)  # the old link leaked: staff replace it
    with factory() as session:
        assert resolve_token(session, token) is None
    worker.run_once(_la(8, 19))
    token = re.search(r"checkin#token=([\w-]+)", body_text(smtp.messages[1]))[1]
    with factory() as session, session.begin():
        revoke(session, pid)
    with factory() as session:
        assert resolve_token(session, token) is None


def test_reminder_on_a_daylight_saving_day(database_url: str, smtp: SmtpServer) -> None:
    """New York skips 2-3 am on 8 March 2026 and repeats 1-2 am on 1 November."""
    factory = get_sessionmaker(database_url)
    ny = ZoneInfo("America/New_York")
    with factory() as session, session.begin():
        pid = enroll(session, "Sam").participant_id
        set_reminder(
            session, pid, local_time=time(8), email="sam@example.org", timezone="America/New_York"
        )
    worker = Worker(settings=get_settings(), session_factory=factory)
    for day in (datetime(2026, 3, 8), datetime(2026, 11, 1)):
        before = day.replace(hour=7, minute=59, tzinfo=ny).astimezone(timezone.utc)
        at = day.replace(hour=8, tzinfo=ny).astimezone(timezone.utc)
        assert worker.run_once(before)["reminders"] == 0
        assert worker.run_once(at)["reminders"] == 1
        assert worker.run_once(at + timedelta(hours=3))["reminders"] == 0
    assert len(smtp.messages) == 2


def test_smtp_down_then_back_sends_the_reminder_once(database_url: str, smtp: SmtpServer) -> None:
    factory = get_sessionmaker(database_url)
    with factory() as session, session.begin():
        pid = enroll(session, "Sam").participant_id
        set_reminder(
            session,
            pid,
            local_time=time(19),
            email="sam@example.org",
            timezone="America/Los_Angeles",
        )
    smtp.accepting = False
    worker = Worker(settings=get_settings(), session_factory=factory)
    assert worker.run_once(_la(7, 19, 0))["reminders"] == 0
    with factory() as session:
        assert session.execute(select(Reminder.last_sent_on)).scalar() is None
        # the failed try's links are gone with it
        assert session.execute(select(MailLink)).first() is None
    smtp.accepting = True
    # backoff: not tried again for a minute, then sent once
    assert worker.run_once(_la(7, 19, 0) + timedelta(seconds=30))["reminders"] == 0
    assert worker.run_once(_la(7, 19, 1))["reminders"] == 1
    assert worker.run_once(_la(7, 19, 2))["reminders"] == 0
    assert len(smtp.messages) == 1


def test_revoked_participant_gets_no_reminder(database_url: str, smtp: SmtpServer) -> None:
    factory = get_sessionmaker(database_url)
    with factory() as session, session.begin():
        pid = enroll(session, "Sam").participant_id
        set_reminder(
            session,
            pid,
            local_time=time(19),
            email="sam@example.org",
            timezone="America/Los_Angeles",
        )
        session.get(Participant, pid).revoked_at = _la(1, 12)
    assert (
        Worker(settings=get_settings(), session_factory=factory).run_once(_la(7, 19))["reminders"]
        == 0
    )
    assert smtp.messages == []


def test_three_silent_days_open_one_missed_checkins_flag(database_url: str) -> None:
    now = datetime(2026, 12, 7, 12, tzinfo=timezone.utc)
    quiet = _participant(database_url, created=now - timedelta(days=4))
    newcomer = _participant(database_url, created=now - timedelta(days=1))
    active = _participant(database_url, created=now - timedelta(days=10))
    lapsed = _participant(database_url, created=now - timedelta(days=10))
    factory = get_sessionmaker(database_url)
    with factory() as session, session.begin():
        for pid, days_ago in ((active, 1), (lapsed, 3.5)):
            session.add(checkin(pid, created_at=now - timedelta(days=days_ago)))
    worker = Worker(settings=get_settings(), session_factory=factory)
    assert worker.open_missed_checkins(now) == 2
    assert worker.open_missed_checkins(now + timedelta(hours=1)) == 0
    with factory() as session:
        flags = session.execute(select(Flag).order_by(Flag.participant_id)).scalars().all()
        assert [(f.participant_id, f.kind, f.severity, f.status) for f in flags] == [
            (quiet, "missed_checkins", "normal", "open"),
            (lapsed, "missed_checkins", "normal", "open"),
        ]
        assert newcomer not in {f.participant_id for f in flags}
    # the lapsed participant checks in, then is silent 3 more days: a new flag for that silence
    with factory() as session, session.begin():
        session.add(checkin(lapsed, created_at=now + timedelta(days=1)))
    assert worker.open_missed_checkins(now + timedelta(days=1)) == 0
    # four days on: the newcomer and the active one are now silent too, the lapsed one again
    assert worker.open_missed_checkins(now + timedelta(days=4, hours=1)) == 3
    with factory() as session:
        counts = {
            pid: len(session.execute(select(Flag).where(Flag.participant_id == pid)).all())
            for pid in (quiet, newcomer, active, lapsed)
        }
    assert counts == {quiet: 1, newcomer: 1, active: 1, lapsed: 2}
