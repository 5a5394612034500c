"""HTTP and SMTP delivery with errors that describe the transport only, never the content."""

from __future__ import annotations

import http.client
import json
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

TIMEOUT_SECONDS = 10


class DeliveryError(RuntimeError):
    """The receiver did not take the message; the text is safe to store and show."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is a failure: urllib would follow a 302 with a GET, without the body, and its
    2xx would count as delivered."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN201
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def post_json(url: str, body: dict, headers: dict[str, str] | None = None) -> int:
    """POST `body` as JSON; returns the 2xx status or raises DeliveryError."""
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked in settings
        url,
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    try:
        with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(_network_error(exc)) from None
    except http.client.HTTPException:
        raise DeliveryError("bad HTTP answer") from None
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}")
    return status


def send_mail(smtp_url: str, message: EmailMessage) -> int:
    """Hand `message` to the SMTP server at `smtp_url` (see AlertSettings.smtp_url); returns
    how many of several recipients the server refused (the others have it: not a failure)."""
    parts = urlsplit(smtp_url)
    host = parts.hostname or "127.0.0.1"
    try:
        if parts.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host,
                parts.port or 465,
                timeout=TIMEOUT_SECONDS,
                context=ssl.create_default_context(),
            )
        else:
            client = smtplib.SMTP(host, parts.port or 25, timeout=TIMEOUT_SECONDS)
        with client:
            if parts.scheme == "smtp+starttls":
                client.starttls(context=ssl.create_default_context())
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            refused = client.send_message(message)
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"SMTP {exc.smtp_code}") from None
    except smtplib.SMTPRecipientsRefused:
        raise DeliveryError("SMTP recipients refused") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(_network_error(exc)) from None
    return len(refused)


def _network_error(exc: BaseException) -> str:
    """A short description of a network failure without hosts, paths or content."""
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return "host not found"
    if isinstance(reason, ssl.SSLError):
        return "TLS error"
    if isinstance(reason, smtplib.SMTPException):
        return "SMTP error"
    return type(reason).__name__
