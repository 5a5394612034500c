"""The staff web app: flag queue, transcripts, participants, leads, alerts, audit log, JSON API.

Run: `python -m bot.apps.staff --port 8000` (waitress on 127.0.0.1; `--host` for another address).
Build: `create_app(overrides)`.

Routes and roles (admins may do everything clinicians may):
  anyone        GET /login, POST /login, GET /healthz, /static/...
  clinician     GET / (flag queue with each flag's alert status),
                GET /flags/<id> (flag + its alert deliveries + transcript),
                POST /flags/<id>/acknowledge, POST /flags/<id>/resolve,
                GET /participants/, GET /participants/<id> (with their reminder, e-mail masked),
                GET /participants/<id>/checkins.csv,
                GET /assessments/, GET /assessments/<id>, POST /assessments/<id>/status,
                POST /logout, GET/POST /staff/password (your own password)
  admin         POST /participants/ (enroll, optionally with a reminder e-mail and time),
                POST /participants/<id>/revoke, POST /participants/<id>/link (new link),
                POST /participants/<id>/reminder (set or change the daily reminder),
                POST /participants/<id>/reminder/stop,
                GET /alerts/ (alert channels' health, the worker's heartbeat), GET /audit/,
                GET /staff/, POST /staff/ (new login), POST /staff/<id>/active, /staff/<id>/unlock
  API (bearer)  clinician or admin token: GET /api/flags, /api/assessments,
                /api/participants/<id>/checkins; admin token: GET /api/audit

Environment: IOP_STAFF_SECRET_KEY (else generated once into var/staff_secret_key),
IOP_STAFF_IDLE_MINUTES (default 15), IOP_STAFF_MAX_SESSION_HOURS (default 12),
IOP_STAFF_SECURE_COOKIES=true behind HTTPS, IOP_STAFF_TRUSTED_PROXIES (reverse proxies whose
X-Forwarded-For names the client, default 0), and the database settings every process reads
(DATABASE_URL, TRACKER_DATABASE_URL, IOP_VAR_DIR). /alerts/ reads the alert settings (IOP_ALERT_*,
IOP_SMTP_URL) only to show each channel's host or recipient count: never a URL, which may carry
a secret. The app sends nothing itself; the worker (bot/notify/worker.py) does.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from bot.apps.staff.config import default_config, secret_key
from bot.db.staff_accounts import ensure_demo_staff
from bot.settings import get_settings

__all__ = ["create_app", "ensure_demo_staff"]

csrf = CSRFProtect()

# Every response: no framing, no sniffing, no referrer, only our own scripts, styles and images
# (charts are SVG data: images, which cannot run scripts).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _security_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    if current_app.config["SESSION_COOKIE_SECURE"]:
        # Served over HTTPS (that is when Secure cookies are on): browsers keep to HTTPS.
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    # Pages and API answers hold health records: never cached by the browser or a proxy.
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the staff app; `overrides` replace configuration values (tests, deployments)."""
    from bot.apps.staff import (
        account_views,
        alert_views,
        api,
        assessment_views,
        audit_views,
        auth,
        errors,
        flag_views,
        participant_views,
    )

    app = errors.StaffFlask(__name__)
    app.config.update(default_config())
    app.config.update(overrides or {})
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(get_settings().var_dir)
    if app.config["TRUSTED_PROXIES"]:
        proxies = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    csrf.init_app(app)
    auth.init_app(app)
    for blueprint in (
        auth.bp,
        flag_views.bp,
        participant_views.bp,
        assessment_views.bp,
        alert_views.bp,
        audit_views.bp,
        account_views.bp,
        api.bp,
    ):
        app.register_blueprint(blueprint)
    # The API authenticates each request by bearer token, never by cookie: no CSRF to forge.
    csrf.exempt(api.bp)
    errors.init_app(app)
    app.after_request(_security_headers)
    app.jinja_env.filters["local"] = _local_time
    app.jinja_env.filters["ago"] = _ago
    app.jinja_env.filters["kind_label"] = _kind_label
    return app


def _kind_label(kind: object) -> str:
    """A flag kind in words, e.g. 'missed_checkins' -> 'missed check-ins'."""
    from bot.notify.alert_messages import KIND_LABELS

    text = str(kind or "")
    return KIND_LABELS.get(text, text.replace("_", " "))


def _ago(value: object) -> str:
    """How long ago a stored time was, roughly: 'just now', '5 min ago', '3 h ago', '2 d ago'."""
    from datetime import datetime

    from bot.db.models import utcnow

    if not isinstance(value, datetime):
        return ""
    seconds = max((utcnow() - value).total_seconds(), 0)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def _local_time(value: object) -> str:
    """A stored UTC time in the clinic's time zone, e.g. 2026-11-24 14:05 EST."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    if not isinstance(value, datetime):
        return ""
    zone = ZoneInfo(get_settings().clinic.timezone)
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
