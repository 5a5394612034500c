"""Staff alerts through the outbox and the worker, against a real HTTP receiver and SMTP server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.db import alert_outbox
from bot.db.engine import get_sessionmaker
from bot.db.flags import open_flag
from bot.db.models import AlertDelivery, Flag, utcnow
from bot.notify.worker import Worker
from bot.settings import REPO_ROOT, SettingsError, get_settings, load_alert_settings
from tests.conftest import free_port
from tests.receivers import SmtpServer, WebhookReceiver, body_text

SECRET_WORDS = "I took all my pills and wrote a note to Maria at 555-0100"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    running = WebhookReceiver(free_port()).start()
    yield running
    running.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    running = SmtpServer(free_port()).start()
    yield running
    running.stop()


@pytest.fixture
def alert_env(monkeypatch: pytest.MonkeyPatch, receiver: WebhookReceiver, smtp: SmtpServer):
    """Settings with both alert channels pointed at the local receivers."""
    monkeypatch.setenv("IOP_ALERT_WEBHOOK_URL", receiver.url)
    monkeypatch.setenv("IOP_SMTP_URL", smtp.url)
    monkeypatch.setenv("IOP_ALERT_EMAIL_TO", "oncall@clinic.example, lead@clinic.example")
    monkeypatch.setenv("IOP_STAFF_URL", "https://staff.clinic.example")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def _flag(database_url: str, severity: str = "urgent", kind: str = "crisis") -> int:
    with get_sessionmaker(database_url)() as session, session.begin():
        flag = open_flag(
            session,
            kind=kind,
            severity=severity,
            conversation_id=f"visitor-{uuid.uuid4().hex}",
            reason=f"Crisis language: {SECRET_WORDS}",
            dedup_key=uuid.uuid4().hex,
        )
        return flag.id


def _worker(database_url: str, **kwargs) -> Worker:  # noqa: ANN003
    return Worker(settings=get_settings(), session_factory=get_sessionmaker(database_url), **kwargs)


def _deliveries(database_url: str, flag_id: int) -> list[AlertDelivery]:
    with get_sessionmaker(database_url)() as session:
        return alert_outbox.flag_deliveries(session, flag_id)


def _holds_no_words(text: str) -> None:
    for word in ("pills", "note", "Maria", "555-0100", "Crisis language"):
        assert word not in text


def test_flag_and_its_alerts_commit_together(database_url: str, alert_env) -> None:
    factory = get_sessionmaker(database_url)
    with factory() as session, session.begin():
        flag = open_flag(
            session,
            kind="crisis",
            severity="urgent",
            conversation_id="c1",
            reason="x",
            dedup_key="k-rolled-back",
        )
        assert {d.channel for d in alert_outbox.flag_deliveries(session, flag.id)} == {
            "webhook",
            "email",
        }
        session.rollback()
    with factory() as session:
        assert session.execute(select(Flag)).first() is None
        assert session.execute(select(AlertDelivery)).first() is None
    flag_id = _flag(database_url)
    assert [(d.channel, d.round, d.status) for d in _deliveries(database_url, flag_id)] == [
        ("email", 0, "pending"),
        ("webhook", 0, "pending"),
    ]
    # a retried action returns the same flag and adds no second alert
    with factory() as session, session.begin():
        again = session.get(Flag, flag_id)
        open_flag(
            session,
            kind="crisis",
            severity="urgent",
            conversation_id=again.conversation_id,
            reason="x",
            dedup_key=again.dedup_key,
        )
    assert len(_deliveries(database_url, flag_id)) == 2


def test_normal_flags_and_unconfigured_channels_alert_nobody(
    database_url: str, monkeypatch: pytest.MonkeyPatch, alert_env
) -> None:
    assert _deliveries(database_url, _flag(database_url, "normal", "human_request")) == []
    monkeypatch.delenv("IOP_ALERT_WEBHOOK_URL")
    monkeypatch.delenv("IOP_SMTP_URL")
    get_settings.cache_clear()
    assert _deliveries(database_url, _flag(database_url)) == []
    assert _deliveries(database_url, _flag(database_url, "high", "high_craving")) == []


def test_alert_reaches_webhook_and_email_without_any_words(
    database_url: str, alert_env, receiver: WebhookReceiver, smtp: SmtpServer
) -> None:
    flag_id = _flag(database_url)
    counts = _worker(database_url).run_once()
    assert counts["alerts_sent"] == 2
    [post] = receiver.acknowledged
    with get_sessionmaker(database_url)() as session:
        created = session.get(Flag, flag_id).created_at
    assert post.json == {
        "flag_id": flag_id,
        "kind": "crisis",
        "severity": "urgent",
        "created_at": created.isoformat(),
        "dashboard_url": f"https://staff.clinic.example/flags/{flag_id}",
    }
    keys = {d.channel: d.key for d in _deliveries(database_url, flag_id)}
    assert post.headers["Idempotency-Key"] == keys["webhook"]
    _holds_no_words(post.body.decode())
    [mail] = smtp.messages
    assert mail["Subject"] == f"Urgent crisis flag #{flag_id} needs review"
    assert mail["Message-ID"] == f"<{keys['email']}@localhost>"
    assert mail["X-Envelope-To"] == "oncall@clinic.example, lead@clinic.example"
    assert f"https://staff.clinic.example/flags/{flag_id}" in body_text(mail)
    _holds_no_words(mail.as_string())
    assert {d.status for d in _deliveries(database_url, flag_id)} == {"sent"}
    # nothing is sent twice once acknowledged
    _worker(database_url).run_once(utcnow() + timedelta(minutes=5))
    assert len(receiver.received) == 1 and len(smtp.messages) == 1


def test_slack_format_is_one_line_of_text(
    database_url: str, monkeypatch: pytest.MonkeyPatch, alert_env, receiver: WebhookReceiver
) -> None:
    monkeypatch.setenv("IOP_ALERT_WEBHOOK_FORMAT", "slack")
    get_settings.cache_clear()
    flag_id = _flag(database_url, "high", "lapse")
    _worker(database_url).run_once()
    [post] = receiver.acknowledged
    assert post.json == {
        "text": f"High lapse flag #{flag_id} needs review: "
        f"https://staff.clinic.example/flags/{flag_id}"
    }


def test_receiver_down_is_retried_and_delivered_once_when_back(
    database_url: str, alert_env, receiver: WebhookReceiver, smtp: SmtpServer
) -> None:
    receiver.stop()
    smtp.accepting = False
    flag_id = _flag(database_url)
    now = utcnow()
    worker = _worker(database_url)
    assert worker.run_once(now)["alerts_failed"] == 2
    by_channel = {d.channel: d for d in _deliveries(database_url, flag_id)}
    assert by_channel["webhook"].status == "retrying"
    assert by_channel["webhook"].last_error == "connection refused"
    assert by_channel["email"].last_error == "SMTP 451"
    # not due again before the backoff has passed
    assert worker.run_once(now + timedelta(seconds=1))["alerts_failed"] == 0
    assert worker.run_once(now + timedelta(seconds=6))["alerts_failed"] == 2
    receiver.start()
    smtp.accepting = True
    later = now + timedelta(minutes=2)
    assert worker.run_once(later)["alerts_sent"] == 2
    for step in range(1, 5):
        worker.run_once(later + timedelta(minutes=step))
    assert len(receiver.acknowledged) == 1 and len(smtp.messages) == 1
    assert {d.status for d in _deliveries(database_url, flag_id)} == {"sent"}


def test_a_refused_recipient_among_several_is_not_a_failure(
    database_url: str, monkeypatch: pytest.MonkeyPatch, alert_env, smtp: SmtpServer
) -> None:
    monkeypatch.setenv("IOP_ALERT_EMAIL_TO", "oncall@clinic.example, refused@clinic.example")
    get_settings.cache_clear()
    flag_id = _flag(database_url, "high", "lapse")
    now = utcnow()
    worker = _worker(database_url)
    worker.run_once(now)
    worker.run_once(now + timedelta(minutes=20))
    [mail] = smtp.messages
    assert mail["X-Envelope-To"] == "oncall@clinic.example"
    email = next(d for d in _deliveries(database_url, flag_id) if d.channel == "email")
    assert email.status == "sent" and email.last_error == "SMTP refused 1 recipient(s)"


def test_a_dead_channel_is_given_up_after_the_last_try(
    database_url: str, alert_env, receiver: WebhookReceiver, smtp: SmtpServer
) -> None:
    receiver.status = 500
    flag_id = _flag(database_url, "high", "high_craving")
    now = utcnow()
    worker = _worker(database_url)
    for _ in range(alert_outbox.MAX_ATTEMPTS + 3):
        worker.run_once(now)
        now += timedelta(minutes=11)
    webhook = next(d for d in _deliveries(database_url, flag_id) if d.channel == "webhook")
    assert webhook.status == "failed"
    assert webhook.attempts == alert_outbox.MAX_ATTEMPTS
    assert webhook.last_error == "HTTP 500"
    assert len(receiver.received) == alert_outbox.MAX_ATTEMPTS


def test_unacknowledged_urgent_flag_is_alerted_again(
    database_url: str, alert_env, receiver: WebhookReceiver
) -> None:
    urgent = _flag(database_url)
    high = _flag(database_url, "high", "high_craving")
    start = utcnow()
    worker = _worker(database_url)
    worker.run_once(start)
    worker.run_once(start + timedelta(minutes=9))
    assert len(receiver.acknowledged) == 2
    worker.run_once(start + timedelta(minutes=10, seconds=1))
    repeats = [r for r in receiver.acknowledged if r.json["flag_id"] == urgent]
    assert len(repeats) == 2
    assert [r.headers["Idempotency-Key"] for r in repeats] == [
        d.key for d in _deliveries(database_url, urgent) if d.channel == "webhook"
    ]
    assert len([r for r in receiver.acknowledged if r.json["flag_id"] == high]) == 1
    # acknowledged on the dashboard: no more repeats
    with get_sessionmaker(database_url)() as session, session.begin():
        session.get(Flag, urgent).status = "acknowledged"
    worker.run_once(start + timedelta(minutes=30))
    assert len([r for r in receiver.acknowledged if r.json["flag_id"] == urgent]) == 2


def test_repeats_stop_after_the_last_round(
    database_url: str, alert_env, receiver: WebhookReceiver
) -> None:
    flag_id = _flag(database_url)
    now = utcnow()
    worker = _worker(database_url)
    for _ in range(alert_outbox.MAX_ROUNDS + 3):
        worker.run_once(now)
        now += timedelta(minutes=11)
    assert len([r for r in receiver.acknowledged if r.json["flag_id"] == flag_id]) == (
        alert_outbox.MAX_ROUNDS
    )


def test_two_workers_never_take_the_same_delivery(database_url: str, alert_env) -> None:
    """Eight threads claim at once from one database; each delivery is taken once."""
    for _ in range(3):
        _flag(database_url)
    factory = get_sessionmaker(database_url)
    now = utcnow()
    start = threading.Barrier(8)
    taken: list[int] = []
    errors: list[BaseException] = []

    def claim() -> None:
        owner = uuid.uuid4().hex
        start.wait()
        try:
            while True:
                with factory() as session, session.begin():
                    row = alert_outbox.claim_next(session, now, owner)
                    if row is None:
                        return
                    taken.append(row.id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(taken) == 6 and len(set(taken)) == 6
    # leased: nobody takes them again until the lease runs out (the worker died)
    with factory() as session, session.begin():
        assert alert_outbox.claim_next(session, now, "late") is None
    with factory() as session, session.begin():
        lease_over = now + timedelta(seconds=alert_outbox.LEASE_SECONDS)
        assert alert_outbox.claim_next(session, lease_over, "late") is not None


def test_a_slow_worker_whose_lease_ran_out_does_not_overwrite_the_new_owner(
    database_url: str, alert_env
) -> None:
    flag_id = _flag(database_url, "high", "lapse")
    factory = get_sessionmaker(database_url)
    now = utcnow()
    with factory() as session, session.begin():
        first = alert_outbox.claim_next(session, now, "slow", channel="webhook")
    later = now + timedelta(seconds=alert_outbox.LEASE_SECONDS + 1)
    with factory() as session, session.begin():
        second = alert_outbox.claim_next(session, later, "fresh", channel="webhook")
    assert second.id == first.id and second.attempts == 2
    with factory() as session, session.begin():
        # the slow worker's failure arrives late: it no longer owns the row
        assert (
            alert_outbox.record_failure(session, first.id, "slow", "timed out", later) == "pending"
        )
    with factory() as session, session.begin():
        alert_outbox.record_sent(session, second.id, later)
    with factory() as session, session.begin():
        # and once acknowledged, nothing sends it again
        assert alert_outbox.record_failure(session, first.id, "slow", "timed out", later) == "sent"
        assert (
            alert_outbox.claim_next(session, later + timedelta(hours=1), "any", channel="webhook")
            is None
        )
    webhook = next(d for d in _deliveries(database_url, flag_id) if d.channel == "webhook")
    assert webhook.status == "sent" and webhook.last_error is None


def test_bad_answers_and_redirects_are_failures(
    database_url: str, alert_env, receiver: WebhookReceiver
) -> None:
    receiver.status = 302
    flag_id = _flag(database_url, "high", "lapse")
    now = utcnow()
    worker = _worker(database_url)
    worker.run_once(now)
    receiver.status = 0  # answers garbage instead of a status line
    worker.run_once(now + timedelta(seconds=6))
    webhook = next(d for d in _deliveries(database_url, flag_id) if d.channel == "webhook")
    assert webhook.status == "retrying" and webhook.attempts == 2
    assert webhook.last_error == "bad HTTP answer"
    assert receiver.acknowledged == []


def test_a_repeat_is_cancelled_when_staff_acknowledge_first(
    database_url: str, alert_env, receiver: WebhookReceiver
) -> None:
    flag_id = _flag(database_url)
    start = utcnow()
    worker = _worker(database_url)
    worker.run_once(start)
    with get_sessionmaker(database_url)() as session, session.begin():
        alert_outbox.schedule_repeats(session, start + timedelta(minutes=11))
        session.get(Flag, flag_id).status = "acknowledged"
    worker.run_once(start + timedelta(minutes=11))
    rounds = {(d.channel, d.round): d.status for d in _deliveries(database_url, flag_id)}
    assert rounds == {
        ("email", 0): "sent",
        ("webhook", 0): "sent",
        ("email", 1): "cancelled",
        ("webhook", 1): "cancelled",
    }
    assert len(receiver.acknowledged) == 1


def test_repeats_wait_while_a_channel_is_still_retrying(
    database_url: str, alert_env, receiver: WebhookReceiver, smtp: SmtpServer
) -> None:
    receiver.stop()
    flag_id = _flag(database_url)
    now = utcnow()
    worker = _worker(database_url)
    for minute in range(0, 31, 2):
        worker.run_once(now + timedelta(minutes=minute))
    rounds = [(d.channel, d.round) for d in _deliveries(database_url, flag_id)]
    # e-mail works: alerted again every 10 min; the dead webhook: one round, still retrying
    assert sorted(r for c, r in rounds if c == "email") == [0, 1, 2, 3]
    assert [r for c, r in rounds if c == "webhook"] == [0]
    receiver.start()
    worker.run_once(now + timedelta(minutes=45))
    assert len([r for r in receiver.acknowledged if r.json["flag_id"] == flag_id]) == 1


def test_worker_killed_mid_send_loses_nothing(
    tmp_path, alert_env, receiver: WebhookReceiver, smtp: SmtpServer
) -> None:
    """A real worker process is killed while the receiver holds its request unanswered; a new
    worker delivers the alert once the lease has run out."""
    database_url = f"sqlite:///{tmp_path / 'iop.db'}"
    from bot.db.migrate import upgrade

    upgrade(database_url)
    receiver.hang = True
    flag_id = _flag(database_url)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "IOP_VAR_DIR": str(tmp_path),
        "PYTHONPATH": str(REPO_ROOT),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "worker", "--interval", "0.5"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert receiver.wait_for(lambda r: True, timeout=60), "the worker never sent"
        # The e-mail goes out on a thread of its own: killed between the SMTP server taking it
        # and its row saying so, it would be sent again (at least once, by design). This test
        # kills the worker mid-webhook, so it waits for the e-mail to be recorded first.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            email = [d for d in _deliveries(database_url, flag_id) if d.channel == "email"]
            if email and email[0].status == "sent":
                break
            time.sleep(0.1)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    assert receiver.acknowledged == []
    webhook = next(d for d in _deliveries(database_url, flag_id) if d.channel == "webhook")
    assert webhook.status == "pending" and webhook.lease_until is not None
    receiver.stop()
    receiver.hang = False
    receiver.received.clear()
    receiver.start()
    worker = _worker(database_url)
    assert worker.run_once(utcnow())["alerts_sent"] == 0  # still leased by the dead worker
    worker.run_once(utcnow() + timedelta(seconds=alert_outbox.LEASE_SECONDS + 1))
    assert [r.json["flag_id"] for r in receiver.acknowledged] == [flag_id]
    assert {d.status for d in _deliveries(database_url, flag_id)} == {"sent"}
    assert len([m for m in smtp.messages if f"#{flag_id} " in m["Subject"]]) == 1


def test_alert_health_and_flag_states(database_url: str, alert_env, receiver) -> None:
    receiver.status = 503
    failing = _flag(database_url)
    worker = _worker(database_url)
    worker.run_once()
    with get_sessionmaker(database_url)() as session:
        states = alert_outbox.flag_alert_states(session, [failing])
        assert states[failing].summary == "retrying"
        assert states[failing].channels["email"].status == "sent"
        health = {h.channel: h for h in alert_outbox.channel_health(session, get_settings().alerts)}
        assert alert_outbox.last_beat(session, "worker") is not None
    assert health["webhook"].configured and health["webhook"].target == "127.0.0.1"
    assert health["webhook"].last_error == "HTTP 503" and health["webhook"].waiting == 1
    assert "secret-path-token" not in repr(health)
    assert health["email"].last_sent_at is not None and health["email"].waiting == 0


def test_retry_delay_doubles_up_to_ten_minutes() -> None:
    assert [alert_outbox.retry_delay(n).total_seconds() for n in (1, 2, 3, 4, 8, 12)] == [
        5,
        10,
        20,
        40,
        600,
        600,
    ]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("IOP_SMTP_URL", "smtp://user:pw@mail.example:25", "without TLS"),
        ("IOP_MAIL_FROM", "a@b.org\r\nBcc: x@y.org", "IOP_MAIL_FROM"),
        ("IOP_ALERT_WEBHOOK_URL", "file:///etc/passwd", "http"),
        ("IOP_ALERT_WEBHOOK_FORMAT", "xml", "FORMAT"),
        ("IOP_ALERT_EMAIL_TO", "a@b.org, nobody", "IOP_ALERT_EMAIL_TO"),
        ("IOP_ALERT_REPEAT_MINUTES", "0", "REPEAT"),
        ("IOP_STAFF_URL", "javascript:alert(1)", "IOP_STAFF_URL"),
    ],
)
def test_bad_alert_settings_are_refused(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_alert_settings({variable: value})


def test_secret_urls_stay_out_of_reprs() -> None:
    alerts = load_alert_settings(
        {
            "IOP_ALERT_WEBHOOK_URL": "https://hooks.example/T0/B0/s3cr3t",
            "IOP_SMTP_URL": "smtps://user:pa55@mail.example",
            "IOP_ALERT_EMAIL_TO": "a@b.org",
        }
    )
    assert alerts.channels == ("webhook", "email")
    assert "s3cr3t" not in repr(alerts) and "pa55" not in repr(alerts)
