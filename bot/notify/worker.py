"""The background worker: alert deliveries, repeats, reminders and missed check-ins.

`run_forever` runs three loops in threads, so nothing slow holds up a crisis alert: one per
alert channel (webhook: also queues repeats and records the heartbeat; email), and one for
reminders, `missed_checkins` flags (every 10 minutes) and expired mail links. `run_once(now)`
does one pass of everything in order (tests move `now` instead of sleeping). Several workers
may share one database: every send is claimed first. Logs name ids, channels and transport
errors only, never message text or addresses.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.db import alert_outbox
from bot.db.engine import get_sessionmaker
from bot.db.models import Flag, Reminder, utcnow
from bot.notify.alert_messages import alert_email, reminder_email, webhook_body
from bot.notify.transport import DeliveryError, post_json, send_mail
from bot.settings import Settings, get_settings

logger = logging.getLogger(__name__)
WORKER_NAME = alert_outbox.WORKER_NAME
MISSED_CHECK_EVERY = timedelta(minutes=10)
# The admin page calls a worker silent for 2 minutes stopped.
BEAT_EVERY = timedelta(seconds=15)
# At most this many sends per channel in one pass, so a pass always ends.
SENDS_PER_PASS = 50
# A reminder whose e-mail failed waits 1 min, doubling to 1 h, before the next try.
REMINDER_RETRY_FIRST = timedelta(minutes=1)
REMINDER_RETRY_MAX = timedelta(hours=1)


@dataclass
class Worker:
    """Sends what is due; `run_once(now)` is one pass over everything."""

    settings: Settings = field(default_factory=get_settings)
    session_factory: sessionmaker | None = None
    lease_seconds: float = alert_outbox.LEASE_SECONDS
    clock: Callable[[], datetime] = utcnow
    _missed_checked_at: datetime | None = field(default=None, repr=False)
    _beat_at: datetime | None = field(default=None, repr=False)
    # reminder id -> (failed tries, not before): in memory, a restart tries again at once
    _reminder_backoff: dict[int, tuple[int, datetime]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.session_factory is None:
            self.session_factory = get_sessionmaker(self.settings.database_url)

    def _session(self) -> Session:
        assert self.session_factory is not None
        return self.session_factory()

    def run_once(self, now: datetime | None = None) -> dict[str, int]:
        """One pass over everything due at `now`; counts of what happened."""
        now = now or self.clock()
        counts = {"repeats": self.housekeeping(now)}
        sent = failed = 0
        for channel in ("webhook", "email"):
            ok, bad = self.send_due_alerts(now, channel)
            sent, failed = sent + ok, failed + bad
        counts["alerts_sent"], counts["alerts_failed"] = sent, failed
        counts["reminders"] = self.send_due_reminders(now)
        counts["missed"] = self.open_missed_checkins(now)
        return counts

    def housekeeping(self, now: datetime) -> int:
        """Record the heartbeat now and then, and queue repeats; how many flags repeated."""
        with self._session() as session, session.begin():
            if self._beat_at is None or abs(now - self._beat_at) >= BEAT_EVERY:
                alert_outbox.beat(session, WORKER_NAME, now)
                self._beat_at = now
            repeated = alert_outbox.schedule_repeats(session, now, self.settings.alerts)
        for flag_id in repeated:
            logger.info("flag %s not acknowledged: alerted again", flag_id)
        return len(repeated)

    def send_due_alerts(self, now: datetime, channel: str | None = None) -> tuple[int, int]:
        """Claim and send due deliveries (of `channel`) one by one; (sent, failed tries)."""
        owner = uuid.uuid4().hex
        sent = failed = 0
        # Time runs on during a pass (each send may take seconds): every claim is made at the
        # time it happens, so its lease counts from then. (`now` may be moved by tests.)
        offset = now - self.clock()
        for _ in range(SENDS_PER_PASS):
            now = self.clock() + offset
            with self._session() as session, session.begin():
                row = alert_outbox.claim_next(
                    session, now, owner, channel=channel, lease_seconds=self.lease_seconds
                )
                if row is None:
                    break
                work = (row.id, row.channel, row.round, row.key)
                flag = session.get(Flag, row.flag_id)
                flag_id = row.flag_id
            delivery_id, row_channel, round_, key = work
            if flag is not None and round_ > 0 and flag.status != "open":
                with self._session() as session, session.begin():
                    alert_outbox.record_cancelled(session, delivery_id, owner)
                continue
            try:
                if flag is None:
                    raise DeliveryError("flag deleted")
                refused = self._deliver(row_channel, flag, round_, key)
            except Exception as exc:  # noqa: BLE001 - every failure is retried, none stops a pass
                failed += 1
                error = str(exc) if isinstance(exc, DeliveryError) else type(exc).__name__
                with self._session() as session, session.begin():
                    status = alert_outbox.record_failure(session, delivery_id, owner, error, now)
                logger.warning(
                    "alert %s for flag %s via %s failed (%s); now %s",
                    delivery_id,
                    flag_id,
                    row_channel,
                    error,
                    status,
                )
                continue
            sent += 1
            note = f"SMTP refused {refused} recipient(s)" if refused else None
            with self._session() as session, session.begin():
                alert_outbox.record_sent(session, delivery_id, now, note)
            logger.info("alert %s for flag %s sent via %s", delivery_id, flag_id, row_channel)
        return sent, failed

    def _deliver(self, channel: str, flag: Flag, round_: int, key: str) -> int:
        alerts = self.settings.alerts
        if channel not in alerts.channels:
            raise DeliveryError(f"{channel} is not configured in the worker")
        if channel == "webhook":
            assert alerts.webhook_url is not None
            post_json(
                alerts.webhook_url, webhook_body(flag, alerts, round_), {"Idempotency-Key": key}
            )
            return 0
        assert alerts.smtp_url is not None
        return send_mail(
            alerts.smtp_url, alert_email(flag, alerts, round_, self.settings.clinic, key)
        )

    def send_due_reminders(self, now: datetime) -> int:
        """Send each reminder due at `now` once; returns how many went out."""
        from bot.notify.reminders import claim_reminder, due_reminders, issue_link, release_reminder

        smtp_url = self.settings.alerts.smtp_url
        if not smtp_url:
            return 0
        with self._session() as session, session.begin():
            due = [
                (r.id, r.participant_id, r.last_sent_on, day)
                for r, day in due_reminders(session, now)
                if self._reminder_backoff.get(r.id, (0, now))[1] <= now
            ]
        sent = 0
        for reminder_id, participant_id, previous, day in due:
            with self._session() as session, session.begin():
                if not claim_reminder(session, reminder_id, day):
                    continue
                address = session.get(Reminder, reminder_id).email
                tokens = (
                    issue_link(session, participant_id, "checkin", now),
                    issue_link(session, participant_id, "stop", now),
                )
            website = self.settings.website_url
            try:
                send_mail(
                    smtp_url,
                    reminder_email(
                        to=address,
                        alerts=self.settings.alerts,
                        clinic=self.settings.clinic,
                        checkin_url=f"{website}/checkin#token={tokens[0]}",
                        stop_url=f"{website}/reminders/stop?token={tokens[1]}",
                    ),
                )
            except Exception as exc:  # noqa: BLE001 - retried later, with backoff
                with self._session() as session, session.begin():
                    release_reminder(session, reminder_id, previous, tokens)
                tries = self._reminder_backoff.get(reminder_id, (0, now))[0] + 1
                wait = min(REMINDER_RETRY_FIRST * 2 ** (tries - 1), REMINDER_RETRY_MAX)
                self._reminder_backoff[reminder_id] = (tries, now + wait)
                error = str(exc) if isinstance(exc, DeliveryError) else type(exc).__name__
                logger.warning(
                    "reminder %s not sent (%s); next try in %s", reminder_id, error, wait
                )
                continue
            self._reminder_backoff.pop(reminder_id, None)
            sent += 1
            logger.info("reminder %s sent", reminder_id)
        return sent

    def open_missed_checkins(self, now: datetime) -> int:
        """Every 10 minutes: open `missed_checkins` flags for participants silent for 3 days,
        and delete expired mail links; how many flags opened."""
        from bot.notify.reminders import open_missed_checkin_flags, purge_expired_links

        if (
            self._missed_checked_at is not None
            and now - self._missed_checked_at < MISSED_CHECK_EVERY
        ):
            return 0
        with self._session() as session, session.begin():
            opened = [flag.id for flag in open_missed_checkin_flags(session, now)]
            purge_expired_links(session, now)
        self._missed_checked_at = now
        for flag_id in opened:
            logger.info("missed_checkins flag %s opened", flag_id)
        return len(opened)

    def run_forever(self, stop: threading.Event, interval: float = 2.0) -> None:
        """The three loops until `stop` is set; a failing pass is logged and retried."""
        logger.info(
            "worker started; alert channels: %s", ", ".join(self.settings.alerts.channels) or "none"
        )

        def webhook() -> None:
            self.housekeeping(self.clock())
            self.send_due_alerts(self.clock(), "webhook")

        def email() -> None:
            self.send_due_alerts(self.clock(), "email")

        def participants() -> None:
            self.send_due_reminders(self.clock())
            self.open_missed_checkins(self.clock())

        threads = [
            threading.Thread(
                target=_loop, args=(name, step, stop, interval), name=name, daemon=True
            )
            for name, step in (
                ("alerts-webhook", webhook),
                ("alerts-email", email),
                ("reminders", participants),
            )
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def _loop(name: str, step: Callable[[], None], stop: threading.Event, interval: float) -> None:
    while not stop.is_set():
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - the database may be away; keep going
            logger.error("worker loop %s failed: %s", name, type(exc).__name__)
        stop.wait(interval)
