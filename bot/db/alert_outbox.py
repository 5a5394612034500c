"""The alert outbox: delivery rows written with their flag, claimed and settled by the worker.

Exactly-once from the receiver's view is not possible over HTTP or SMTP; this gives at least
once, and never again for a flag, channel and round once the receiver acknowledged it: a row
is claimed with a lease in its owner's name (a worker that dies mid-send leaves it to be taken
again when the lease runs out, and its late answer changes nothing), marked sent only after a
2xx or an accepted mail, and every delivery carries its own random key on every try so a
receiver can drop the one duplicate a crash between its answer and our commit can cause.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.engine import savepoint
from bot.db.models import AlertDelivery, Flag, WorkerBeat, utcnow
from bot.settings import AlertSettings, get_settings

ALERT_SEVERITIES = ("urgent", "high")
# A failing channel is tried 12 times over about an hour (5 s doubling, at most 10 min apart).
MAX_ATTEMPTS = 12
FIRST_RETRY_SECONDS = 5
MAX_RETRY_SECONDS = 600
# An unacknowledged urgent flag is alerted at most this many times in all (first + repeats).
MAX_ROUNDS = 6
# One send takes at most a few network timeouts of 10 s: a lease outlasts it with room to spare.
LEASE_SECONDS = 120
WAITING = ("pending", "retrying")
# The name the worker's heartbeat is stored under (worker_beats).
WORKER_NAME = "worker"


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed try."""
    return timedelta(
        seconds=min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), MAX_RETRY_SECONDS)
    )


def enqueue_alerts(
    session: Session,
    flag: Flag,
    *,
    round_: int = 0,
    channels: tuple[str, ...] | None = None,
    alerts: AlertSettings | None = None,
    now: datetime | None = None,
) -> list[AlertDelivery]:
    """One delivery row per configured channel (or per one of `channels`) for `flag`, an urgent
    or high one, in the caller's transaction; a row that exists for this flag, channel and round
    stays as it is."""
    alerts = alerts or get_settings().alerts
    if flag.severity not in ALERT_SEVERITIES:
        return []
    now = now or utcnow()
    added = []
    for channel in channels if channels is not None else alerts.channels:
        row = AlertDelivery(
            flag_id=flag.id,
            key=uuid.uuid4().hex,
            channel=channel,
            round=round_,
            status="pending",
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
        try:
            with savepoint(session):
                session.add(row)
        except IntegrityError:
            continue
        added.append(row)
    return added


def _lease_free(now: datetime):  # noqa: ANN202 - a SQL condition
    return or_(AlertDelivery.lease_until.is_(None), AlertDelivery.lease_until <= now)


def claim_next(
    session: Session,
    now: datetime,
    owner: str,
    *,
    channel: str | None = None,
    lease_seconds: float = LEASE_SECONDS,
) -> AlertDelivery | None:
    """Take the most overdue delivery (of `channel`, if given) for `owner` until the lease
    runs out, or None when nothing is due.

    One row at a time, just before it is sent, so a lease never has to outlast more than one
    send; the take is a conditional UPDATE, so two workers on one database never both win it.
    A row a crashed worker left after its last try is given up here.
    """
    session.execute(
        update(AlertDelivery)
        .where(
            AlertDelivery.status.in_(WAITING),
            AlertDelivery.attempts >= MAX_ATTEMPTS,
            _lease_free(now),
        )
        .values(status="failed", lease_until=None, lease_owner=None)
        .execution_options(synchronize_session=False)
    )
    query = (
        select(AlertDelivery.id)
        .where(
            AlertDelivery.status.in_(WAITING),
            AlertDelivery.next_attempt_at <= now,
            _lease_free(now),
        )
        .order_by(AlertDelivery.next_attempt_at, AlertDelivery.id)
        .limit(5)
    )
    if channel is not None:
        query = query.where(AlertDelivery.channel == channel)
    lease_until = now + timedelta(seconds=lease_seconds)
    for delivery_id in list(session.execute(query).scalars()):
        taken = session.execute(
            update(AlertDelivery)
            .where(
                AlertDelivery.id == delivery_id,
                AlertDelivery.status.in_(WAITING),
                _lease_free(now),
            )
            .values(
                lease_until=lease_until,
                lease_owner=owner,
                attempts=AlertDelivery.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:
            return session.get(AlertDelivery, delivery_id, populate_existing=True)
    return None


def record_sent(session: Session, delivery_id: int, now: datetime, note: str | None = None) -> None:
    """The receiver acknowledged the delivery: it is never sent again (whoever holds it now).
    `note`: a warning worth showing, e.g. some of several e-mail recipients refused."""
    session.execute(
        update(AlertDelivery)
        .where(AlertDelivery.id == delivery_id, AlertDelivery.status != "sent")
        .values(status="sent", sent_at=now, lease_until=None, lease_owner=None, last_error=note)
        .execution_options(synchronize_session=False)
    )


def record_failure(
    session: Session, delivery_id: int, owner: str, error: str, now: datetime
) -> str:
    """`owner`'s try failed: retry later with backoff, or give up after MAX_ATTEMPTS; returns
    the row's status. A row another worker has taken since (our lease ran out) is left alone."""
    row = session.get(AlertDelivery, delivery_id, populate_existing=True)
    if row is None:
        return "gone"
    if row.lease_owner != owner or row.status not in WAITING:
        return row.status
    row.last_error = error[:200]
    row.lease_until = row.lease_owner = None
    if row.attempts >= MAX_ATTEMPTS:
        row.status = "failed"
    else:
        row.status = "retrying"
        row.next_attempt_at = now + retry_delay(row.attempts)
    return row.status


def record_cancelled(session: Session, delivery_id: int, owner: str) -> None:
    """A repeat that is no longer needed: staff acknowledged the flag before it went out."""
    session.execute(
        update(AlertDelivery)
        .where(AlertDelivery.id == delivery_id, AlertDelivery.lease_owner == owner)
        .values(status="cancelled", lease_until=None, lease_owner=None)
        .execution_options(synchronize_session=False)
    )


def schedule_repeats(
    session: Session, now: datetime, alerts: AlertSettings | None = None
) -> list[int]:
    """Alert again, per channel, every urgent flag still open (nobody acknowledged it) whose
    latest alert on that channel has settled (sent or given up) and was queued `repeat_minutes`
    ago or more; the ids of the flags alerted again. A channel still retrying is not stacked
    with repeats that would all arrive at once when it comes back."""
    alerts = alerts or get_settings().alerts
    if not alerts.channels:
        return []
    latest = (
        select(
            AlertDelivery.flag_id.label("flag_id"),
            AlertDelivery.channel.label("channel"),
            func.max(AlertDelivery.round).label("round"),
            func.max(AlertDelivery.created_at).label("created_at"),
        )
        .join(Flag, Flag.id == AlertDelivery.flag_id)
        .where(Flag.severity == "urgent", Flag.status == "open")
        .group_by(AlertDelivery.flag_id, AlertDelivery.channel)
        .subquery("latest")
    )
    waiting = (
        select(AlertDelivery.id)
        .where(
            AlertDelivery.flag_id == Flag.id,
            AlertDelivery.channel == latest.c.channel,
            AlertDelivery.status.in_(WAITING),
        )
        .exists()
    )
    cutoff = now - timedelta(minutes=alerts.repeat_minutes)
    due = session.execute(
        select(Flag, latest.c.channel, latest.c.round)
        .join(latest, latest.c.flag_id == Flag.id)
        .where(
            Flag.severity == "urgent",
            Flag.status == "open",
            latest.c.created_at <= cutoff,
            latest.c.round < MAX_ROUNDS - 1,
            latest.c.channel.in_(alerts.channels),
            ~waiting,
        )
    ).all()
    repeated = []
    for flag, channel, round_ in due:
        if enqueue_alerts(
            session, flag, round_=round_ + 1, channels=(channel,), alerts=alerts, now=now
        ):
            repeated.append(flag.id)
    return sorted(set(repeated))


@dataclass(frozen=True)
class FlagAlertState:
    """How a flag's alerts stand: per channel the latest round's status, and one summary."""

    summary: str  # "sent", "retrying", "pending", "failed" or "" (no alert)
    channels: dict[str, AlertDelivery]


_SUMMARY_ORDER = ("failed", "retrying", "pending", "sent", "cancelled")


def flag_alert_states(session: Session, flag_ids: list[int]) -> dict[int, FlagAlertState]:
    """The alert state of each flag in `flag_ids` that has alerts."""
    if not flag_ids:
        return {}
    rows = session.execute(
        select(AlertDelivery)
        .where(AlertDelivery.flag_id.in_(flag_ids))
        .order_by(AlertDelivery.flag_id, AlertDelivery.round, AlertDelivery.id)
    ).scalars()
    latest: dict[int, dict[str, AlertDelivery]] = {}
    for row in rows:
        latest.setdefault(row.flag_id, {})[row.channel] = row
    states = {}
    for flag_id, channels in latest.items():
        statuses = {row.status for row in channels.values()}
        summary = next(s for s in _SUMMARY_ORDER if s in statuses)
        states[flag_id] = FlagAlertState(summary, channels)
    return states


def flag_deliveries(session: Session, flag_id: int) -> list[AlertDelivery]:
    """Every alert delivery of one flag, first round first."""
    return list(
        session.execute(
            select(AlertDelivery)
            .where(AlertDelivery.flag_id == flag_id)
            .order_by(AlertDelivery.round, AlertDelivery.channel)
        ).scalars()
    )


@dataclass(frozen=True)
class ChannelHealth:
    """One alert channel as the admin page shows it."""

    channel: str
    configured: bool
    target: str  # the host (webhook) or the recipients' count (email); never a secret URL
    last_sent_at: datetime | None
    last_error: str | None
    waiting: int
    failed: int


def channel_health(session: Session, alerts: AlertSettings | None = None) -> list[ChannelHealth]:
    """Each alert channel: configured or not, where to, last success, last error, backlog."""
    alerts = alerts or get_settings().alerts
    targets = {
        "webhook": urlsplit(alerts.webhook_url).hostname or "" if alerts.webhook_url else "",
        "email": f"{len(alerts.email_to)} recipient(s)" if alerts.email_to else "",
    }
    result = []
    for channel in ("webhook", "email"):
        base = select(AlertDelivery).where(AlertDelivery.channel == channel)
        last_sent = session.execute(
            select(func.max(AlertDelivery.sent_at)).where(AlertDelivery.channel == channel)
        ).scalar()
        last_failed = (
            session.execute(
                base.where(AlertDelivery.last_error.is_not(None)).order_by(
                    AlertDelivery.next_attempt_at.desc(), AlertDelivery.id.desc()
                )
            )
            .scalars()
            .first()
        )
        counts = dict(
            session.execute(
                select(AlertDelivery.status, func.count())
                .where(AlertDelivery.channel == channel)
                .group_by(AlertDelivery.status)
            ).all()
        )
        result.append(
            ChannelHealth(
                channel=channel,
                configured=channel in alerts.channels,
                target=targets[channel],
                last_sent_at=last_sent,
                last_error=last_failed.last_error if last_failed else None,
                waiting=counts.get("pending", 0) + counts.get("retrying", 0),
                failed=counts.get("failed", 0),
            )
        )
    return result


def beat(session: Session, name: str, now: datetime) -> None:
    """Record that the worker `name` is alive at `now`."""
    row = session.get(WorkerBeat, name)
    if row is None:
        try:
            with savepoint(session):
                session.add(WorkerBeat(name=name, beat_at=now))
            return
        except IntegrityError:  # another worker's first beat came first
            row = session.get(WorkerBeat, name, populate_existing=True)
    row.beat_at = now


def last_beat(session: Session, name: str) -> datetime | None:
    """When the worker `name` was last alive, or None if it never ran."""
    row = session.get(WorkerBeat, name)
    return row.beat_at if row else None
