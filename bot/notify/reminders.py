"""Participants' daily check-in reminders by e-mail, and the `missed_checkins` flag.

Rules (pure functions first, then the database side):
- one reminder a day at the participant's local time, in their time zone, never inside their
  quiet hours (default 22:00-07:00) and never once they have checked in that local day;
- each e-mail links to a check-in page that works for two days (a fresh token of its own, since
  the personal token is stored only as a hash) and has a one-click stop link;
- an active participant with no check-in for 3 days opens one `missed_checkins` flag (normal)
  per silence; a new check-in ends the silence.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from bot.db.flags import open_flag
from bot.db.models import CheckIn, Flag, MailLink, Participant, Reminder, utcnow
from bot.settings import get_settings

DEFAULT_QUIET = (time(22, 0), time(7, 0))
CHECKIN_LINK_HOURS = 48
STOP_LINK_DAYS = 90
MISSED_DAYS = 3
EMAIL = re.compile(r"^[^@\s<>,;\"']{1,64}@[A-Za-z0-9.-]{1,189}\.[A-Za-z]{2,24}$")

_CLOCK = re.compile(
    r"\b(?:at\s+)?(?P<hour>[01]?\d|2[0-3])(?:[:.h](?P<minute>[0-5]\d))?"
    r"(?:\s*(?P<meridiem>a\.?\s?m\.?|p\.?\s?m\.?|o'?clock))?(?:\s+in\s+the\s+(?P<part>morning|"
    r"afternoon|evening|night))?(?![\d:])",
    re.IGNORECASE,
)
_WORDS = {"noon": time(12, 0), "midday": time(12, 0), "midnight": time(0, 0)}


class ReminderError(ValueError):
    """A reminder setting we cannot use; the message is fit to show the participant."""


def parse_clock(text: str) -> time | None:
    """A time of day in what someone wrote: '7pm', '7:30 pm', '19:00', '8 in the morning',
    'noon'. A bare hour is read as the likelier waking hour (1-7 pm, 8-11 am)."""
    lowered = text.lower()
    for word, value in _WORDS.items():
        if re.search(rf"\b{word}\b", lowered):
            return value
    for match in _CLOCK.finditer(text):
        hour = int(match["hour"])
        minute = int(match["minute"] or 0)
        meridiem = (match["meridiem"] or "").lower().replace(".", "").replace(" ", "")
        part = (match["part"] or "").lower()
        explicit = meridiem in ("am", "pm") or part or match["minute"] or hour > 12
        if not explicit and "o" not in meridiem:
            # a number on its own ("every 2 days", "day 3") is not a time
            before = text[: match.start()].lower()
            if not re.search(r"\bat\s*$", before) and not match.group(0).lower().startswith("at"):
                continue
        if meridiem == "pm" or part in ("afternoon", "evening", "night"):
            if hour > 12:
                return None
            hour = hour % 12 + 12
        elif meridiem == "am" or part == "morning":
            if hour > 12:
                return None
            hour %= 12
        elif hour < 12 and re.search(r"\b(evening|night|tonight|afternoon)\b", lowered):
            hour += 12
        elif hour <= 12 and not match["minute"]:
            hour = hour % 12 + 12 if 1 <= hour <= 7 else hour
        return time(hour, minute)
    return None


def clock_text(t: time) -> str:
    """'7 pm', '7:30 am', 'noon'."""
    if t == time(12, 0):
        return "noon"
    hour = t.hour % 12 or 12
    suffix = "am" if t.hour < 12 else "pm"
    return f"{hour}:{t.minute:02d} {suffix}" if t.minute else f"{hour} {suffix}"


def in_quiet_hours(t: time, start: time, end: time) -> bool:
    """Whether `t` falls in the quiet span [start, end), which may wrap midnight."""
    if start == end:
        return False
    if start < end:
        return start <= t < end
    return t >= start or t < end


def is_due(
    *,
    local_now: datetime,
    remind_at: time,
    quiet: tuple[time, time],
    last_sent_on: date | None,
    checked_in_today: bool,
) -> bool:
    """Whether today's reminder should go now (all times local to the participant)."""
    today = local_now.date()
    now = local_now.time().replace(tzinfo=None)
    return (
        now >= remind_at
        and last_sent_on != today
        and not checked_in_today
        and not in_quiet_hours(now, *quiet)
    )


def _hhmm(value: str) -> time:
    return time.fromisoformat(value)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ReminderError(f"unknown time zone {name!r}") from exc


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def quiet_hours(session: Session, participant_id: int) -> tuple[time, time]:
    """The participant's quiet span: the one on their reminder, or the default."""
    reminder = reminder_for(session, participant_id)
    if reminder is None:
        return DEFAULT_QUIET
    return _hhmm(reminder.quiet_start), _hhmm(reminder.quiet_end)


def quiet_problem(local_time: time, quiet: tuple[time, time]) -> str | None:
    """Why `local_time` cannot be a reminder's time (it is in quiet hours), or None."""
    if in_quiet_hours(local_time.replace(second=0, microsecond=0, tzinfo=None), *quiet):
        return f"reminders are not sent between {clock_text(quiet[0])} and {clock_text(quiet[1])}"
    return None


def set_reminder(
    session: Session,
    participant_id: int,
    *,
    local_time: time,
    email: str | None = None,
    timezone: str | None = None,
    quiet: tuple[time, time] | None = None,
) -> Reminder:
    """Opt a participant in (or change their reminder); an earlier e-mail address is kept when
    none is given. Raises ReminderError for a time in quiet hours or a bad address or zone."""
    participant = session.get(Participant, participant_id)
    if participant is None or participant.revoked_at is not None:
        raise ReminderError("no active participant")
    reminder = session.execute(
        select(Reminder).where(Reminder.participant_id == participant_id)
    ).scalar_one_or_none()
    email = (email or "").strip() or (reminder.email if reminder else "")
    if len(email) > 254 or not EMAIL.match(email):
        raise ReminderError("that does not look like an e-mail address")
    zone = timezone or (reminder.timezone if reminder else get_settings().clinic.timezone)
    _zone(zone)
    if quiet is None:
        quiet = quiet_hours(session, participant_id)
    local_time = local_time.replace(second=0, microsecond=0, tzinfo=None)
    problem = quiet_problem(local_time, quiet)
    if problem:
        raise ReminderError(problem)
    if reminder is None:
        reminder = Reminder(participant_id=participant_id)
        session.add(reminder)
    reminder.email = email
    reminder.timezone = zone
    reminder.local_time = local_time.strftime("%H:%M")
    reminder.quiet_start = quiet[0].strftime("%H:%M")
    reminder.quiet_end = quiet[1].strftime("%H:%M")
    reminder.active = True
    reminder.stopped_at = None
    session.flush()
    return reminder


def reminder_for(session: Session, participant_id: int) -> Reminder | None:
    """The participant's reminder setting, active or stopped, or None."""
    return session.execute(
        select(Reminder).where(Reminder.participant_id == participant_id)
    ).scalar_one_or_none()


def stop_reminder(session: Session, participant_id: int) -> bool:
    """Stop a participant's reminders; False if they had none running."""
    reminder = reminder_for(session, participant_id)
    if reminder is None or not reminder.active:
        return False
    reminder.active = False
    reminder.stopped_at = utcnow()
    return True


def stop_by_link(session: Session, token: object, now: datetime | None = None) -> bool:
    """Stop the reminders a stop link's token belongs to; False for an unknown or old link."""
    participant_id = _link_participant(session, token, "stop", now or utcnow())
    if participant_id is None:
        return False
    stop_reminder(session, participant_id)
    return True


def _link_participant(session: Session, token: object, purpose: str, now: datetime) -> int | None:
    if not isinstance(token, str) or not 20 <= len(token) <= 128:
        return None
    return session.execute(
        select(MailLink.participant_id).where(
            MailLink.token_hash == _hash(token),
            MailLink.purpose == purpose,
            MailLink.expires_at > now,
        )
    ).scalar()


def issue_link(session: Session, participant_id: int, purpose: str, now: datetime) -> str:
    """A fresh link token of `purpose` for the participant (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    lifetime = (
        timedelta(hours=CHECKIN_LINK_HOURS)
        if purpose == "checkin"
        else timedelta(days=STOP_LINK_DAYS)
    )
    session.add(
        MailLink(
            participant_id=participant_id,
            purpose=purpose,
            token_hash=_hash(token),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return token


def _checked_in_since(session: Session, participant_id: int, since: datetime) -> bool:
    return (
        session.execute(
            select(CheckIn.id).where(
                CheckIn.participant_id == participant_id, CheckIn.created_at >= since
            )
        ).first()
        is not None
    )


def due_reminders(session: Session, now: datetime) -> list[tuple[Reminder, date]]:
    """Active reminders of active participants due at `now`, with each one's local date."""
    rows = session.execute(
        select(Reminder)
        .join(Participant, Participant.id == Reminder.participant_id)
        .where(Reminder.active.is_(True), Participant.revoked_at.is_(None))
    ).scalars()
    due = []
    for reminder in rows:
        local_now = now.astimezone(_zone(reminder.timezone))
        midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
        if is_due(
            local_now=local_now,
            remind_at=_hhmm(reminder.local_time),
            quiet=(_hhmm(reminder.quiet_start), _hhmm(reminder.quiet_end)),
            last_sent_on=reminder.last_sent_on,
            checked_in_today=_checked_in_since(session, reminder.participant_id, midnight),
        ):
            due.append((reminder, local_now.date()))
    return due


def claim_reminder(session: Session, reminder_id: int, local_date: date) -> bool:
    """Mark today's reminder taken before sending (one worker wins; at most one a day)."""
    result = session.execute(
        update(Reminder)
        .where(
            Reminder.id == reminder_id,
            Reminder.active.is_(True),
            or_(Reminder.last_sent_on.is_(None), Reminder.last_sent_on != local_date),
        )
        .values(last_sent_on=local_date)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def release_reminder(
    session: Session, reminder_id: int, previous: date | None, tokens: tuple[str, ...] = ()
) -> None:
    """Sending failed: today's reminder is due again, and the links made for it are deleted."""
    session.execute(
        update(Reminder)
        .where(Reminder.id == reminder_id)
        .values(last_sent_on=previous)
        .execution_options(synchronize_session=False)
    )
    if tokens:
        session.execute(delete(MailLink).where(MailLink.token_hash.in_([_hash(t) for t in tokens])))


def purge_expired_links(session: Session, now: datetime) -> int:
    """Delete mail links that no longer work; how many."""
    return session.execute(delete(MailLink).where(MailLink.expires_at <= now)).rowcount


def open_missed_checkin_flags(
    session: Session, now: datetime, days: int = MISSED_DAYS
) -> list[Flag]:
    """A `missed_checkins` flag for each active participant silent for `days` days (since their
    last check-in, or enrollment if none), once per silence."""
    last = (
        select(
            CheckIn.participant_id,
            func.max(CheckIn.created_at).label("at"),
            func.max(CheckIn.id).label("id"),
        )
        .group_by(CheckIn.participant_id)
        .subquery()
    )
    cutoff = now - timedelta(days=days)
    rows = session.execute(
        select(Participant.id, last.c.at, last.c.id)
        .outerjoin(last, last.c.participant_id == Participant.id)
        .where(
            Participant.revoked_at.is_(None),
            or_(last.c.at <= cutoff, (last.c.at.is_(None)) & (Participant.created_at <= cutoff)),
        )
    ).all()
    opened = []
    for participant_id, _last_at, last_id in rows:
        since = f"checkin {last_id}" if last_id else "enrollment"
        key = f"missed:{participant_id}:{last_id or 'none'}"
        if session.execute(select(Flag.id).where(Flag.dedup_key == key)).first():
            continue
        flag = open_flag(
            session,
            kind="missed_checkins",
            severity="normal",
            conversation_id=f"participant:{participant_id}",
            reason=f"No check-in for {days} days or more (since {since})",
            dedup_key=key,
            participant_id=participant_id,
        )
        opened.append(flag)
    return opened
