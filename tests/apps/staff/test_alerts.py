"""Alerts in the dashboard: each flag's alert status in the queue, its deliveries on the flag
page, the admins' channel health page, and `missed_checkins` flags in the queue."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, select

from bot.db import get_engine, get_sessionmaker
from bot.db.models import AlertDelivery, AuditEntry, WorkerBeat, utcnow
from bot.settings import get_settings
from tests.apps.staff.conftest import add_flag, add_participant

WEBHOOK_SECRET = "T0AAA/B0BBB/s3cretW3bhookT0ken"  # noqa: S105 - a made-up webhook path token
SMTP_PASSWORD = "smtp-pa55word"  # noqa: S105 - made up


def add_delivery(
    db_url: str,
    flag_id: int,
    channel: str = "webhook",
    status: str = "sent",
    round_: int = 0,
    attempts: int = 1,
    last_error: str | None = None,
    sent_at: datetime | None = None,
) -> int:
    """One alert_deliveries row as the worker leaves it; returns its id."""
    now = utcnow()
    with get_sessionmaker(db_url)() as session, session.begin():
        row = AlertDelivery(
            flag_id=flag_id,
            channel=channel,
            round=round_,
            status=status,
            attempts=attempts,
            created_at=now,
            next_attempt_at=now + timedelta(seconds=30),
            sent_at=sent_at or (now if status == "sent" else None),
            last_error=last_error,
        )
        session.add(row)
        session.flush()
        return row.id


def alert_cell(html: str, flag_id: int) -> str:
    """The text of a queue row's alert cell ('' when the flag had no alert)."""
    row = html.split(f'data-flag-id="{flag_id}"', 1)[1].split("</tr>", 1)[0]
    cell = re.search(r'<td class="alert-state">(.*?)</td>', row, re.S).group(1)
    return re.sub(r"<[^>]+>", "", cell).strip()


def test_queue_shows_each_flags_alert_status(clinician, db_url: str) -> None:
    sent = add_flag(db_url, reason="all sent")
    add_delivery(db_url, sent, "webhook")
    add_delivery(db_url, sent, "email")
    retrying = add_flag(db_url, reason="one retrying")
    add_delivery(db_url, retrying, "webhook")
    add_delivery(db_url, retrying, "email", "retrying", attempts=2, last_error="HTTP 503")
    failed = add_flag(db_url, reason="gave up")
    add_delivery(db_url, failed, "webhook", "failed", attempts=12, last_error="timed out")
    pending = add_flag(db_url, "lapse", "high", reason="not tried yet")
    add_delivery(db_url, pending, "webhook", "pending", attempts=0)
    # The latest round counts: the first alert failed, the repeat went through.
    repeated = add_flag(db_url, reason="repeated")
    add_delivery(db_url, repeated, "webhook", "failed", attempts=12, last_error="timed out")
    add_delivery(db_url, repeated, "webhook", "sent", round_=1)
    quiet = add_flag(db_url, "human_request", "normal", reason="not alerted")

    page = clinician.get("/")
    assert page.status_code == 200
    html = page.data.decode()
    assert "<th>Alert</th>" in html
    assert {
        flag_id: alert_cell(html, flag_id)
        for flag_id in (sent, retrying, failed, pending, repeated, quiet)
    } == {
        sent: "sent",
        retrying: "retrying",
        failed: "failed",
        pending: "pending",
        repeated: "sent",
        quiet: "",
    }
    assert 'class="alert alert-failed"' in html


@contextmanager
def counted_statements(db_url: str) -> Iterator[list[str]]:
    """Every SQL statement run on the database while the block runs."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    engine = get_engine(db_url)
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_queue_reads_alert_states_in_one_query_however_many_flags(clinician, db_url) -> None:
    first = add_flag(db_url, reason="one")
    add_delivery(db_url, first)
    clinician.get("/")  # warm up: the same statements each time from here on
    with counted_statements(db_url) as few:
        assert clinician.get("/").status_code == 200
    for n in range(8):
        flag_id = add_flag(db_url, reason=f"more {n}")
        add_delivery(db_url, flag_id, "webhook")
        add_delivery(db_url, flag_id, "email", "retrying", attempts=1)
    with counted_statements(db_url) as many:
        page = clinician.get("/")
    assert page.data.count(b'class="alert alert-retrying"') == 8
    assert len(many) == len(few)
    assert sum("alert_deliveries" in s for s in many) == 1


def delivery_rows(html: str) -> list[list[str]]:
    """The flag page's deliveries table: each row's cells as text."""
    table = html.split('id="alert-deliveries"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr data-delivery-id=\"\d+\">(.*?)</tr>", table, re.S)
    return [
        [
            re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)
        ]
        for r in rows
    ]


def test_flag_page_lists_its_deliveries(clinician, db_url: str) -> None:
    flag_id = add_flag(db_url)
    other = add_flag(db_url, reason="another flag")
    add_delivery(db_url, flag_id, "webhook", "sent", attempts=2, last_error="HTTP 502")
    add_delivery(db_url, flag_id, "email", "failed", attempts=12, last_error="connection refused")
    add_delivery(
        db_url, flag_id, "webhook", "retrying", round_=1, attempts=3, last_error="HTTP 503"
    )
    add_delivery(db_url, other, "email", "failed", attempts=12, last_error="not this flag's")
    page = clinician.get(f"/flags/{flag_id}")
    assert page.status_code == 200
    rows = delivery_rows(page.data.decode())
    assert [r[:5] for r in rows] == [
        ["e-mail", "first alert", "failed", "12", "connection refused"],
        ["webhook", "first alert", "sent", "2", "HTTP 502"],
        ["webhook", "repeat 1", rows[2][2], "3", "HTTP 503"],
    ]
    assert rows[2][2].startswith("retrying next try")
    # sent time for the sent one only
    assert rows[0][5] == "—" and re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d", rows[1][5])
    assert rows[2][5] == "—"
    assert "not this flag's" not in page.data.decode()


def test_flag_page_without_deliveries_says_why(clinician, db_url: str) -> None:
    urgent = add_flag(db_url)
    normal = add_flag(db_url, "human_request", "normal", reason="asked")
    urgent_page = clinician.get(f"/flags/{urgent}").data
    assert b'id="alert-deliveries"' not in urgent_page
    assert b"no alert channel was configured" in urgent_page
    assert b"Normal flags are not alerted" in clinician.get(f"/flags/{normal}").data


@pytest.fixture
def alert_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A webhook with a secret token in its path, SMTP with a password, 15-minute repeats."""
    monkeypatch.setenv(
        "IOP_ALERT_WEBHOOK_URL", f"https://hooks.example.org/services/{WEBHOOK_SECRET}"
    )
    monkeypatch.setenv("IOP_ALERT_WEBHOOK_FORMAT", "slack")
    monkeypatch.setenv("IOP_SMTP_URL", f"smtps://alerts:{SMTP_PASSWORD}@mail.example.org:465")
    monkeypatch.setenv("IOP_ALERT_EMAIL_TO", "oncall@example.org,lead@example.org")
    monkeypatch.setenv("IOP_ALERT_REPEAT_MINUTES", "15")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def channel_row(html: str, channel: str) -> list[str]:
    """The cells of one channel's row on the alerts page, as text."""
    row = html.split(f'data-channel="{channel}"', 1)[1].split("</tr>", 1)[0]
    return [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]


def set_beat(db_url: str, beat_at: datetime | None) -> None:
    """Put the worker's heartbeat at `beat_at` (None: it never ran)."""
    with get_sessionmaker(db_url)() as session, session.begin():
        row = session.get(WorkerBeat, "worker")
        if row is not None:
            session.delete(row)
        if beat_at is not None:
            session.add(WorkerBeat(name="worker", beat_at=beat_at))


def test_alerts_page_shows_channel_health_and_the_worker(
    admin: FlaskClient, db_url: str, alert_settings: None
) -> None:
    # Flags opened now are alerted on both channels: their rows wait for the worker.
    waiting = add_flag(db_url, reason="waiting")
    older = add_flag(db_url, reason="older")
    with get_sessionmaker(db_url)() as session, session.begin():
        rows = session.execute(select(AlertDelivery).where(AlertDelivery.flag_id == older))
        for row in rows.scalars():
            row.status = "sent" if row.channel == "webhook" else "failed"
            row.sent_at = utcnow() - timedelta(minutes=3) if row.channel == "webhook" else None
            row.last_error = "HTTP 404" if row.channel == "webhook" else "authentication failed"
    add_delivery(db_url, waiting, "webhook", "retrying", round_=1, last_error="HTTP 503")
    set_beat(db_url, utcnow() - timedelta(seconds=20))

    page = admin.get("/alerts/")
    assert page.status_code == 200
    html = page.data.decode()
    webhook = channel_row(html, "webhook")
    assert webhook[:3] == ["Webhook (slack)", "yes", "hooks.example.org"]
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d", webhook[3])
    assert webhook[4:] == ["HTTP 503", "2", "0"]
    email = channel_row(html, "email")
    assert email[:3] == ["E-mail", "yes", "2 recipient(s)"]
    assert email[3:] == ["—", "authentication failed", "1", "1"]
    assert "Running: last heartbeat" in html and "seems to be stopped" not in html
    assert "every 15 min" in html
    # Neither URL's secret part reaches the page, nor the addresses.
    for secret in (WEBHOOK_SECRET, "s3cretW3bhookT0ken", "/services/", SMTP_PASSWORD, "oncall@"):
        assert secret not in html
    with get_sessionmaker(db_url)() as session:
        views = session.execute(
            select(AuditEntry).where(AuditEntry.object_type == "alert_health")
        ).scalars()
        assert [(a.actor, a.action) for a in views] == [("staff:ada", "view")]


def test_alerts_page_warns_when_the_worker_is_stopped_or_never_ran(admin, db_url) -> None:
    set_beat(db_url, utcnow() - timedelta(minutes=5))
    html = admin.get("/alerts/").data.decode()
    assert "seems to be stopped" in html and "Running:" not in html
    set_beat(db_url, None)
    html = admin.get("/alerts/").data.decode()
    assert "The worker has never run" in html
    # Nothing configured (the test settings): said plainly, no target shown.
    assert channel_row(html, "webhook")[1:3] == ["no", "—"]
    assert "No alert channel is configured" in html


def test_alerts_page_is_for_admins_only(app, clinician, admin, db_url: str) -> None:
    assert clinician.get("/alerts/").status_code == 403
    assert b'href="/alerts/"' not in clinician.get("/").data
    assert b'href="/alerts/"' in admin.get("/").data
    anonymous = app.test_client().get("/alerts/")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")
    with get_sessionmaker(db_url)() as session:
        views = session.execute(
            select(AuditEntry).where(AuditEntry.object_type == "alert_health")
        ).scalars()
        assert list(views) == []


def test_missed_checkin_flags_have_a_readable_kind(clinician, db_url: str) -> None:
    participant_id, _ = add_participant(db_url)
    missed = add_flag(
        db_url,
        "missed_checkins",
        "normal",
        f"participant:{participant_id}",
        "No check-in for 3 days or more (since enrollment)",
        participant_id=participant_id,
    )
    crisis = add_flag(db_url)
    html = clinician.get("/").data.decode()
    row = html.split(f'data-flag-id="{missed}"', 1)[1].split("</tr>", 1)[0]
    assert '<td data-kind="missed_checkins">missed check-ins</td>' in row
    assert '<option value="missed_checkins" >missed check-ins</option>' in html
    assert '<option value="high_craving" >high craving</option>' in html
    filtered = clinician.get("/?kind=missed_checkins").data.decode()
    assert re.findall(r'data-flag-id="(\d+)"', filtered) == [str(missed)]
    assert f'data-flag-id="{crisis}"' not in filtered
    flag_page = clinician.get(f"/flags/{missed}").data.decode()
    assert "missed check-ins</span> flag #" in flag_page
    person = clinician.get(f"/participants/{participant_id}").data.decode()
    assert f"/flags/{missed}" in person and "missed check-ins" in person
