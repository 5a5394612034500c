"""One place for clinic details, thresholds, paths and secrets (environment overrides files)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent

# Limits on what a chat client may send (bot/rasa/channels.py). A visitor's message longer than this
# is refused with 413; real questions are far shorter.
MAX_MESSAGE_CHARS = 2000
MAX_SENDER_CHARS = 128
MAX_METADATA_BYTES = 4096
# The secret the Rasa server shows the action server on every call (bot/apps/action_server.py).
ACTION_TOKEN_ENV = "IOP_ACTION_TOKEN"  # noqa: S105 - a variable name, not a secret
ACTION_TOKEN_HEADER = "X-Action-Token"  # noqa: S105 - a header name
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = {
    "mon": "Mon",
    "tue": "Tue",
    "wed": "Wed",
    "thu": "Thu",
    "fri": "Fri",
    "sat": "Sat",
    "sun": "Sun",
}


class SettingsError(ValueError):
    """The settings file or environment holds a value we cannot use."""


@dataclass(frozen=True)
class CrisisLines:
    """National crisis numbers shown in every crisis reply."""

    lifeline: str
    emergency: str
    text_line_keyword: str
    text_line_number: str

    @property
    def text_line(self) -> str:
        """The Crisis Text Line instruction, e.g. 'text HOME to 741741'."""
        return f"text {self.text_line_keyword} to {self.text_line_number}"


@dataclass(frozen=True)
class Clinic:
    """The clinic's contact details and opening hours."""

    name: str
    phone: str
    email: str
    address: str
    timezone: str
    hours: dict[str, tuple[time, time]]
    crisis: CrisisLines
    # Anonymous conversations and assessments are deleted after this many days unless a flag
    # is open (SPEC §5); the consent step and privacy notice quote it.
    retention_days: int = 90

    def hours_text(self) -> str:
        """Opening hours in plain words, consecutive days with equal hours grouped."""
        groups: list[tuple[list[str], tuple[time, time] | None]] = []
        for day in WEEKDAYS:
            span = self.hours.get(day)
            if groups and groups[-1][1] == span:
                groups[-1][0].append(day)
            else:
                groups.append(([day], span))
        parts = []
        for days, span in groups:
            label = _DAY_NAMES[days[0]]
            if len(days) > 1:
                label += f"–{_DAY_NAMES[days[-1]]}"
            if span is None:
                parts.append(f"closed {label}")
            else:
                parts.append(f"{label} {_clock(span[0])}–{_clock(span[1])}")
        return ", ".join(parts)

    def is_open(self, now: datetime | None = None) -> bool:
        """Whether the clinic's phones are staffed at `now` (default: the current time)."""
        local = (now or datetime.now(ZoneInfo(self.timezone))).astimezone(ZoneInfo(self.timezone))
        span = self.hours.get(WEEKDAYS[local.weekday()])
        return span is not None and span[0] <= local.time() < span[1]

    def response_values(self) -> dict[str, str]:
        """Values for the `{placeholders}` in the assistant's responses."""
        return {
            "clinic_name": self.name,
            "clinic_phone": self.phone,
            "clinic_email": self.email,
            "clinic_address": self.address,
            "clinic_hours": self.hours_text(),
            "crisis_lifeline": self.crisis.lifeline,
            "emergency_number": self.crisis.emergency,
            "crisis_text_line": self.crisis.text_line,
            "retention_days": str(self.retention_days),
        }


def _clock(t: time) -> str:
    """12-hour clock without needless zeros: 8 am, 5:30 pm, noon."""
    if t == time(12, 0):
        return "noon"
    hour = t.hour % 12 or 12
    suffix = "am" if t.hour < 12 else "pm"
    return f"{hour}:{t.minute:02d} {suffix}" if t.minute else f"{hour} {suffix}"


def _parse_span(day: str, value: object) -> tuple[time, time]:
    try:
        start, end = (time.fromisoformat(part.strip()) for part in str(value).split("-"))
    except ValueError as exc:
        raise SettingsError(f"hours.{day} must look like '08:00-17:00', got {value!r}") from exc
    if not start < end:
        raise SettingsError(f"hours.{day}: opening time must be before closing time")
    return start, end


def _require_text(data: dict, key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str | int) or not str(value).strip():
        raise SettingsError(f"{where}{key} is missing or empty")
    return str(value).strip()


def load_clinic(path: Path) -> Clinic:
    """Read and check the clinic file (content/clinic.yml by default)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SettingsError(f"cannot read clinic file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise SettingsError(f"clinic file {path} must be a mapping")
    hours_data = data.get("hours") or {}
    unknown = set(hours_data) - set(WEEKDAYS)
    if unknown:
        raise SettingsError(f"hours has unknown days: {sorted(unknown)}")
    timezone = _require_text(data, "timezone", "")
    try:
        ZoneInfo(timezone)
    except (KeyError, ValueError) as exc:
        raise SettingsError(f"unknown timezone {timezone!r}") from exc
    crisis = data.get("crisis") or {}
    retention = data.get("retention_days", 90)
    if isinstance(retention, bool) or not isinstance(retention, int) or not 1 <= retention <= 3650:
        raise SettingsError(f"retention_days must be a whole number of days, got {retention!r}")
    return Clinic(
        name=_require_text(data, "name", ""),
        phone=_require_text(data, "phone", ""),
        email=_require_text(data, "email", ""),
        address=_require_text(data, "address", ""),
        timezone=timezone,
        hours={day: _parse_span(day, v) for day, v in hours_data.items()},
        crisis=CrisisLines(
            lifeline=_require_text(crisis, "lifeline", "crisis."),
            emergency=_require_text(crisis, "emergency", "crisis."),
            text_line_keyword=_require_text(crisis, "text_line_keyword", "crisis."),
            text_line_number=_require_text(crisis, "text_line_number", "crisis."),
        ),
        retention_days=retention,
    )


@dataclass(frozen=True)
class Settings:
    """Everything configurable, read once per process."""

    clinic: Clinic
    model_path: Path
    var_dir: Path
    database_url: str
    tracker_database_url: str
    website_url: str
    # Rasa's conversation locks: in memory for one Rasa process (the default run); a Redis URL
    # (redis://host:6379/1) when several Rasa processes share the tracker store.
    lock_store_url: str | None = None
    alerts: AlertSettings = field(default_factory=lambda: AlertSettings())


WEBHOOK_FORMATS = ("json", "slack", "teams")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class AlertSettings:
    """Where urgent and high flags are alerted (SPEC §4.1) and how reminders are mailed."""

    # repr=False: the URLs may hold secrets (a token in the path, a password)
    webhook_url: str | None = field(default=None, repr=False)
    # json: SPEC §4.1's fields; slack / teams: {"text": ...}, what their incoming webhooks take.
    webhook_format: str = "json"
    # smtp://host:port (plain), smtp+starttls://... (STARTTLS required), smtps://... (TLS);
    # user:password@ in the URL logs in.
    smtp_url: str | None = field(default=None, repr=False)
    email_to: tuple[str, ...] = ()
    # Neutral on purpose: a reminder's sender must not tell a shared inbox about treatment.
    mail_from: str = "no-reply@localhost"
    repeat_minutes: int = 10
    # The staff app's address as staff reach it, for the link in every alert.
    staff_url: str = "http://127.0.0.1:8000"

    @property
    def channels(self) -> tuple[str, ...]:
        """The alert channels configured: webhook and/or email."""
        found = []
        if self.webhook_url:
            found.append("webhook")
        if self.smtp_url and self.email_to:
            found.append("email")
        return tuple(found)


def load_alert_settings(env: Mapping[str, str]) -> AlertSettings:
    """Alert and mail settings from the environment, checked."""
    webhook = (env.get("IOP_ALERT_WEBHOOK_URL") or "").strip() or None
    if webhook and urlsplit(webhook).scheme not in ("http", "https"):
        raise SettingsError("IOP_ALERT_WEBHOOK_URL must be an http(s) URL")
    fmt = (env.get("IOP_ALERT_WEBHOOK_FORMAT") or "json").strip().lower()
    if fmt not in WEBHOOK_FORMATS:
        raise SettingsError(f"IOP_ALERT_WEBHOOK_FORMAT must be one of {', '.join(WEBHOOK_FORMATS)}")
    smtp = (env.get("IOP_SMTP_URL") or "").strip() or None
    if smtp:
        parts = urlsplit(smtp)
        if parts.scheme not in ("smtp", "smtp+starttls", "smtps"):
            raise SettingsError("IOP_SMTP_URL must look like smtp://host:port")
        if parts.username and parts.scheme == "smtp" and parts.hostname not in LOOPBACK_HOSTS:
            raise SettingsError(
                "IOP_SMTP_URL logs in without TLS: use smtp+starttls:// or smtps://"
            )
    recipients = tuple(
        a.strip() for a in (env.get("IOP_ALERT_EMAIL_TO") or "").split(",") if a.strip()
    )
    for address in recipients:
        if "@" not in address or any(c.isspace() or c in "<>\r\n" for c in address):
            raise SettingsError("IOP_ALERT_EMAIL_TO must be comma-separated e-mail addresses")
    repeat = (env.get("IOP_ALERT_REPEAT_MINUTES") or "10").strip()
    if not repeat.isdigit() or not 1 <= int(repeat) <= 1440:
        raise SettingsError("IOP_ALERT_REPEAT_MINUTES must be a whole number from 1 to 1440")
    mail_from = (env.get("IOP_MAIL_FROM") or "").strip() or AlertSettings.mail_from
    if "@" not in mail_from or any(c in mail_from for c in "\r\n"):
        raise SettingsError("IOP_MAIL_FROM must be one e-mail address (with a name if you like)")
    staff_url = (env.get("IOP_STAFF_URL") or AlertSettings.staff_url).strip().rstrip("/")
    if urlsplit(staff_url).scheme not in ("http", "https"):
        raise SettingsError("IOP_STAFF_URL must be an http(s) URL")
    return AlertSettings(
        webhook_url=webhook,
        webhook_format=fmt,
        smtp_url=smtp,
        email_to=recipients,
        mail_from=mail_from,
        repeat_minutes=int(repeat),
        staff_url=staff_url,
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, from the environment and content/clinic.yml."""
    clinic_file = Path(os.environ.get("IOP_CLINIC_FILE", REPO_ROOT / "content" / "clinic.yml"))
    var_dir = Path(os.environ.get("IOP_VAR_DIR", REPO_ROOT / "var"))
    return Settings(
        clinic=load_clinic(clinic_file),
        model_path=Path(os.environ.get("IOP_MODEL", REPO_ROOT / "models" / "iop.tar.gz")),
        var_dir=var_dir,
        # Default: one SQLite file under var/; production: PostgreSQL, e.g.
        # postgresql+psycopg2://user@host:5432/iop
        database_url=os.environ.get("DATABASE_URL") or f"sqlite:///{var_dir / 'iop.db'}",
        # Rasa's conversations (the transcripts): the same PostgreSQL database in production;
        # with SQLite a file of their own, since Rasa opens it without our WAL settings.
        tracker_database_url=os.environ.get("TRACKER_DATABASE_URL")
        or os.environ.get("DATABASE_URL")
        or f"sqlite:///{var_dir / 'tracker.db'}",
        # The public website's address, for participants' check-in links.
        website_url=os.environ.get("IOP_WEBSITE_URL", "http://127.0.0.1:8080").rstrip("/"),
        lock_store_url=os.environ.get("LOCK_STORE_URL") or None,
        alerts=load_alert_settings(os.environ),
    )


def stored_secret(var_dir: Path, filename: str, env_name: str) -> str:
    """The secret in environment variable `env_name`, or one generated once into
    `var_dir/filename` for local use (owner-only; every process on this machine reads the same)."""
    from_env = os.environ.get(env_name)
    if from_env:
        return from_env
    path = var_dir / filename
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        # Created with owner-only permissions; O_EXCL so two processes never write two keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text(encoding="utf-8").strip()
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="utf-8").strip()
