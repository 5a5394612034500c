"""The clinic's public website: a landing page and the participants' check-in page, each with
the rasa-webchat widget talking to the Rasa server's socket.io channel through this website's own
origin (`/socket.io/`, forwarded by the front server in bot/apps/web/proxy.py).

Nothing on these pages comes from any host but this server: the widget's bundle is served from
web/node_modules (installed by scripts/ensure-web.sh) without the font stylesheet it `@import`s
from a third-party host (we use system fonts), and the Content-Security-Policy blocks any other
host anyway.
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


# A Host header as browsers send it: a name or IPv4 address, or [IPv6], and maybe a port.
HOST_HEADER = re.compile(r"(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?")


def security_headers(https: bool) -> dict[str, str]:
    """The headers every answer of the website carries (the pages replace the CSP with theirs).

    `https`: the site is deployed at an https:// address, so browsers are told to keep to HTTPS.
    """
    headers = {
        "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }
    if https:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers


def content_security_policy(host: str | None = None, https: bool = False) -> str:
    """Our own origin only: the chat socket is same-origin too (`/socket.io/`, forwarded to Rasa).
    The ws(s):// form of `host` (the Host the page was asked for; wss when the site is https) is
    listed as well, for browsers whose 'self' does not cover websockets; a malformed Host adds
    nothing."""
    host = (host or "").lower()
    socket = f" {'wss' if https else 'ws'}://{host}" if HOST_HEADER.fullmatch(host) else ""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            # the widget injects its stylesheet as <style> elements and sets inline styles
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",  # the widget's carousel icons are inline fonts
            f"connect-src 'self'{socket}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def widget_config(page: str) -> dict:
    """What web/static/site.js needs to start the widget on `page` (home or checkin); the
    socket is the page's own origin (web/static/site.js)."""
    clinic = get_settings().clinic
    crisis = clinic.crisis
    return {
        "page": page,
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


def create_app() -> Flask:
    """The website app (its chat socket is forwarded to Rasa by bot/apps/web/proxy.py)."""
    app = Flask(
        __name__,
        static_folder=str(WEB_DIR / "static"),
        template_folder=str(WEB_DIR / "templates"),
    )
    # Deployed at an https:// address (IOP_WEBSITE_URL): HSTS, and the chat socket is wss://.
    https = urlsplit(get_settings().website_url).scheme.lower() == "https"
    app.jinja_env.filters["tel"] = tel_uri_number

    @app.context_processor
    def clinic_details() -> dict:
        return {"clinic": get_settings().clinic}

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        response.headers.update(security_headers(https))
        response.headers["Content-Security-Policy"] = content_security_policy(
            request.headers.get("Host"), https
        )
        if response.mimetype == "text/html":
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/")
    def home() -> str:
        return render_template("home.html", widget=widget_config("home"))

    @app.get("/checkin")
    def checkin() -> str:
        return render_template("checkin.html", widget=widget_config("checkin"))

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
        from bot.notify.reminders import stop_by_link

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
