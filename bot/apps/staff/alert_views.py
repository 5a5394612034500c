"""The alerts page (admins only): each alert channel's health and the worker's heartbeat.

It shows where alerts go by host or recipient count only: the webhook and SMTP URLs may carry
secrets (a token in the path, a password) and never reach a page.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, render_template

from bot.apps.staff.auth import role_required
from bot.apps.staff.unit_of_work import audit, transaction
from bot.db.alert_outbox import MAX_ATTEMPTS, MAX_ROUNDS, WORKER_NAME, channel_health, last_beat
from bot.db.models import utcnow
from bot.settings import get_settings

bp = Blueprint("alert_health", __name__, url_prefix="/alerts")
# The worker beats every 15 seconds: two minutes without one means it is not running.
BEAT_STALE_AFTER = timedelta(minutes=2)


def worker_stale(beat_at: datetime | None, now: datetime) -> bool:
    """Whether the worker's last heartbeat is missing or older than BEAT_STALE_AFTER."""
    return beat_at is None or now - beat_at > BEAT_STALE_AFTER


@bp.get("/")
@role_required("admin")
def index() -> Any:
    """Each channel: configured or not, target, last send, last error, waiting and failed."""
    alerts = get_settings().alerts
    now = utcnow()
    with transaction() as db:
        channels = channel_health(db, alerts)
        beat_at = last_beat(db, WORKER_NAME)
        audit(db, "view", "alert_health")
    return render_template(
        "alerts/index.html",
        channels=channels,
        beat_at=beat_at,
        stale=worker_stale(beat_at, now),
        stale_minutes=int(BEAT_STALE_AFTER.total_seconds() // 60),
        repeat_minutes=alerts.repeat_minutes,
        webhook_format=alerts.webhook_format,
        max_attempts=MAX_ATTEMPTS,
        max_rounds=MAX_ROUNDS,
    )
