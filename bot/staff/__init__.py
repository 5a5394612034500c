"""The staff web app: flag queue, transcripts, participants, leads, audit log and the JSON API."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request
from flask_wtf.csrf import CSRFProtect

from bot.accounts import ensure_demo_staff
from bot.settings import get_settings
from bot.staff.config import default_config, secret_key

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
    # Pages and API answers hold health records: never cached by the browser or a proxy.
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the staff app; `overrides` replace configuration values (tests, deployments)."""
    from bot.staff import api, assessments, audit_log, auth, errors, flags, participants

    app = Flask(__name__)
    app.config.update(default_config())
    app.config.update(overrides or {})
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(get_settings().var_dir)
    csrf.init_app(app)
    auth.init_app(app)
    for blueprint in (
        auth.bp,
        flags.bp,
        participants.bp,
        assessments.bp,
        audit_log.bp,
        api.bp,
    ):
        app.register_blueprint(blueprint)
    # The API authenticates each request by bearer token, never by cookie: no CSRF to forge.
    csrf.exempt(api.bp)
    errors.init_app(app)
    app.after_request(_security_headers)
    app.jinja_env.filters["local"] = _local_time
    return app


def _local_time(value: object) -> str:
    """A stored UTC time in the clinic's time zone, e.g. 2026-11-24 14:05 EST."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    if not isinstance(value, datetime):
        return ""
    zone = ZoneInfo(get_settings().clinic.timezone)
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
