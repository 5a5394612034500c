"""The clinic's public website: a landing page and the participants' check-in page, each with
the rasa-webchat widget talking to the Rasa server's socket.io channel.

Nothing on these pages comes from any host but this server and the Rasa server: the widget's
bundle is served from web/node_modules (installed by scripts/ensure-web.sh) without the font
stylesheet it `@import`s from a third-party host (we use system fonts), and the
Content-Security-Policy blocks any other host anyway.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

from flask import Flask, Response, abort, render_template, request

from bot.settings import REPO_ROOT, get_settings

WEB_DIR = REPO_ROOT / "web"
WIDGET_BUNDLE = WEB_DIR / "node_modules" / "rasa-webchat" / "lib" / "index.js"
# What the widget sends first: a greeting for visitors, a check-in for participants
# (intents `greet` and `start_checkin` in domain.yml).
GREET_PAYLOAD = "/greet"
CHECKIN_PAYLOAD = "/start_checkin"
# The bundle's CSS asks a font service for its web font on every page load, which would tell
# that host who visits a treatment clinic's site.
THIRD_PARTY_CSS_IMPORT = re.compile(r"@import url\((?:https?:)?//[^)]*\);")


@lru_cache(maxsize=1)
def widget_bundle_source() -> bytes:
    """rasa-webchat's lib/index.js without its third-party stylesheet imports."""
    source = WIDGET_BUNDLE.read_text(encoding="utf-8")
    return THIRD_PARTY_CSS_IMPORT.sub("", source).encode("utf-8")


def socket_origins(rasa_url: str) -> tuple[str, str]:
    """The Rasa server's http(s) origin and the matching ws(s) origin, for the CSP."""
    parts = urlsplit(rasa_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--rasa-url must be an http(s) URL, got {rasa_url!r}")
    socket_scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{parts.scheme}://{parts.netloc}", f"{socket_scheme}://{parts.netloc}"


def content_security_policy(rasa_url: str) -> str:
    """Our own host only, plus the Rasa server for the chat socket."""
    http_origin, ws_origin = socket_origins(rasa_url)
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            # the widget injects its stylesheet as <style> elements and sets inline styles
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",  # the widget's carousel icons are inline fonts
            f"connect-src 'self' {http_origin} {ws_origin}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def widget_config(rasa_url: str, page: str) -> dict:
    """What web/static/site.js needs to start the widget on `page` (home or checkin)."""
    clinic = get_settings().clinic
    crisis = clinic.crisis
    return {
        "page": page,
        "socketUrl": rasa_url.rstrip("/"),
        "initPayload": CHECKIN_PAYLOAD if page == "checkin" else GREET_PAYLOAD,
        "title": f"{clinic.name} assistant",
        # On a phone the open widget covers the page and its banner: the lines stay in view here.
        "subtitle": (
            f"Automated assistant. In crisis: call or text {crisis.lifeline}, "
            f"call {crisis.emergency}, or {crisis.text_line}."
        ),
        "connectingText": f"Connecting… If this takes long, call us at {clinic.phone}.",
    }


def tel_uri_number(phone: str) -> str:
    """A phone number as a tel: link wants it: digits and a leading +."""
    return "".join(c for c in phone if c.isdigit() or c == "+")


def create_app(rasa_url: str) -> Flask:
    """The website app, talking to the Rasa server at `rasa_url`."""
    app = Flask(
        __name__,
        static_folder=str(WEB_DIR / "static"),
        template_folder=str(WEB_DIR / "templates"),
    )
    policy = content_security_policy(rasa_url)
    # Deployed at an https:// address (IOP_WEBSITE_URL): browsers are told to keep to HTTPS.
    https = urlsplit(get_settings().website_url).scheme.lower() == "https"
    app.jinja_env.filters["tel"] = tel_uri_number

    @app.context_processor
    def clinic_details() -> dict:
        return {"clinic": get_settings().clinic}

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = policy
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if https:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        if response.mimetype == "text/html":
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/")
    def home() -> str:
        return render_template("home.html", widget=widget_config(rasa_url, "home"))

    @app.get("/checkin")
    def checkin() -> str:
        return render_template("checkin.html", widget=widget_config(rasa_url, "checkin"))

    @app.get("/reminders/stop")
    def reminders_stop_page() -> str:
        # A page with one button, not a GET that stops: mail scanners open every link.
        token = request.args.get("token", "")
        return render_template("reminders_stop.html", token=token, done=None)

    @app.post("/reminders/stop")
    def reminders_stop() -> tuple[str, int]:
        # The button above, and RFC 8058 one-click unsubscribe from the mail client (a POST
        # with List-Unsubscribe=One-Click): the link's token is the only credential.
        from bot.db import get_sessionmaker
        from bot.reminders import stop_by_link

        token = request.args.get("token", "")
        with get_sessionmaker()() as session, session.begin():
            stopped = stop_by_link(session, token)
        page = render_template("reminders_stop.html", token="", done=stopped)
        return page, 200 if stopped else 404

    @app.get("/vendor/rasa-webchat.js")
    def widget_bundle() -> Response:
        if not WIDGET_BUNDLE.is_file():
            abort(503, "the chat widget is not installed: run scripts/ensure-web.sh")
        response = Response(widget_bundle_source(), mimetype="text/javascript")
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    @app.get("/healthz")
    def healthz() -> Response:
        return Response("ok", mimetype="text/plain")

    return app


def widget_installed() -> bool:
    """Whether `npm ci` has put the widget's bundle in web/node_modules."""
    return WIDGET_BUNDLE.is_file()
