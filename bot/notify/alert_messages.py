"""What an alert and a reminder say: ids, kinds, times and links, never a participant's words."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from zoneinfo import ZoneInfo

from bot.db.models import Flag
from bot.settings import AlertSettings, Clinic

KIND_LABELS = {
    "crisis": "crisis",
    "high_craving": "high craving",
    "lapse": "lapse",
    "human_request": "request for a person",
    "assessment_followup": "pre-assessment follow-up",
    "missed_checkins": "missed check-ins",
}


def dashboard_url(alerts: AlertSettings, flag_id: int) -> str:
    """The flag's page in the staff app."""
    return f"{alerts.staff_url}/flags/{flag_id}"


def message_id(key: str, mail_from: str) -> str:
    """A delivery's Message-ID, the same on every try: a mail system drops the repeat."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    return f"<{key}@{domain}>"


def alert_text(flag: Flag, alerts: AlertSettings, round_: int) -> str:
    """One line for people: severity, kind, flag number, and the link."""
    again = " (still not acknowledged)" if round_ else ""
    return (
        f"{flag.severity.capitalize()} {KIND_LABELS.get(flag.kind, flag.kind)} flag "
        f"#{flag.id} needs review{again}: {dashboard_url(alerts, flag.id)}"
    )


def webhook_body(flag: Flag, alerts: AlertSettings, round_: int) -> dict:
    """The webhook's JSON: SPEC §4.1's fields, or {"text"} for Slack- and Teams-style hooks."""
    if alerts.webhook_format in ("slack", "teams"):
        return {"text": alert_text(flag, alerts, round_)}
    return {
        "flag_id": flag.id,
        "kind": flag.kind,
        "severity": flag.severity,
        "created_at": flag.created_at.isoformat(),
        "dashboard_url": dashboard_url(alerts, flag.id),
    }


def alert_email(
    flag: Flag, alerts: AlertSettings, round_: int, clinic: Clinic, key: str
) -> EmailMessage:
    """The alert as an e-mail to IOP_ALERT_EMAIL_TO; `key` is the delivery's own."""
    message = EmailMessage()
    again = "Reminder: " if round_ else ""
    message["Subject"] = (
        f"{again}{flag.severity.capitalize()} {KIND_LABELS.get(flag.kind, flag.kind)} flag "
        f"#{flag.id} needs review"
    )
    message["From"] = alerts.mail_from
    message["To"] = ", ".join(alerts.email_to)
    message["Date"] = format_datetime(datetime.now(ZoneInfo("UTC")))
    message["Message-ID"] = message_id(key, alerts.mail_from)
    opened = flag.created_at.astimezone(ZoneInfo(clinic.timezone)).strftime("%Y-%m-%d %H:%M %Z")
    message.set_content(
        f"{alert_text(flag, alerts, round_)}\n\n"
        f"Opened {opened}. Sign in to the staff app to see it; this e-mail holds no details "
        "of the conversation by design.\n"
    )
    return message


def reminder_email(
    *,
    to: str,
    alerts: AlertSettings,
    clinic: Clinic,
    checkin_url: str,
    stop_url: str,
) -> EmailMessage:
    """The daily check-in reminder: a link to the check-in and a one-click stop link. Its
    subject and text name no clinic or treatment: others may see an inbox."""
    message = EmailMessage()
    message["Subject"] = "Your daily check-in"
    message["From"] = alerts.mail_from
    message["To"] = to
    message["Date"] = format_datetime(datetime.now(ZoneInfo("UTC")))
    message["Message-ID"] = make_msgid(
        domain=parseaddr(alerts.mail_from)[1].rpartition("@")[2] or "localhost"
    )
    # RFC 8058: mail clients show a one-click "unsubscribe" that POSTs to the stop link.
    message["List-Unsubscribe"] = f"<{stop_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(
        "Hello,\n\n"
        "This is your daily reminder to check in. It takes about two minutes:\n"
        f"{checkin_url}\n\n"
        "The link works for two days. If you need help right now, call or text "
        f"{clinic.crisis.lifeline}, or call {clinic.crisis.emergency}.\n\n"
        f"To stop these reminders: {stop_url}\n"
    )
    return message
