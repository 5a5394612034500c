"""Participants: the list, enroll / revoke / new link (admins), one participant's history, CSV,
and their daily check-in reminder by e-mail (shown to all staff masked, set and stopped by admins).
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from bot.apps.staff.auth import role_required
from bot.apps.staff.charts import craving_mood_chart, trigger_chart
from bot.apps.staff.unit_of_work import audit, transaction
from bot.db.checkins import participant_checkins
from bot.db.flags import related_flags
from bot.db.models import Participant, Reminder
from bot.db.participants import enroll, new_participant_link, participant_summaries, revoke
from bot.domain.checkin_rules import HIGH_CRAVING
from bot.notify.reminders import (
    DEFAULT_QUIET,
    ReminderError,
    clock_text,
    parse_clock,
    reminder_for,
    set_reminder,
    stop_reminder,
)
from bot.settings import get_settings

bp = Blueprint("participants", __name__, url_prefix="/participants")
CSV_FIELDS = (
    "id",
    "created_at",
    "mood",
    "craving",
    "triggers",
    "used_since_last",
    "coping",
    "note",
)
MAX_EMAIL_CHARS = 254  # what reminders.email holds
MAX_CLOCK_CHARS = 40
MAX_ZONE_CHARS = 64


@dataclass(frozen=True)
class ReminderView:
    """A participant's reminder as a page shows it: never the whole e-mail address."""

    active: bool
    local_time: str  # "19:00"
    time_text: str  # "7 pm"
    timezone: str
    quiet_start: str
    quiet_end: str
    quiet_text: str  # "10 pm to 7 am"
    email: str  # masked: "j***@example.org"
    stopped_at: datetime | None
    last_sent_on: date | None

    @classmethod
    def of(cls, reminder: Reminder) -> ReminderView:
        """The page's copy of a reminders row."""
        start, end = (
            time.fromisoformat(reminder.quiet_start),
            time.fromisoformat(reminder.quiet_end),
        )
        return cls(
            active=bool(reminder.active),
            local_time=reminder.local_time,
            time_text=clock_text(time.fromisoformat(reminder.local_time)),
            timezone=reminder.timezone,
            quiet_start=reminder.quiet_start,
            quiet_end=reminder.quiet_end,
            quiet_text="none" if start == end else f"{clock_text(start)} to {clock_text(end)}",
            email=mask_email(reminder.email),
            stopped_at=reminder.stopped_at,
            last_sent_on=reminder.last_sent_on,
        )


def mask_email(address: str) -> str:
    """An e-mail address with all but the first character of its local part hidden:
    'jo@example.org' -> 'j***@example.org'."""
    local, _, domain = (address or "").rpartition("@")
    if not local:
        return "***"
    return f"{local[0]}***@{domain}"


def _clock(text: str, what: str) -> time:
    value = parse_clock(text[:MAX_CLOCK_CHARS]) if text else None
    if value is None:
        raise ReminderError(f"write the {what} as a time of day, like 19:00 or 7pm")
    return value


def reminder_fields(
    form: Mapping[str, str], *, time_field: str = "time", need_email: bool = True
) -> dict[str, Any]:
    """set_reminder's keyword arguments from a submitted form (e-mail, time, and on the
    participant page time zone and quiet hours); ReminderError says what is wrong."""
    email = form.get("email", "").strip()
    if len(email) > MAX_EMAIL_CHARS:
        raise ReminderError("that does not look like an e-mail address")
    if not email and need_email:
        raise ReminderError("an e-mail address is needed to send reminders")
    local_time = _clock(form.get(time_field, "").strip(), "reminder time")
    timezone = form.get("timezone", "").strip() or None
    if timezone is not None and len(timezone) > MAX_ZONE_CHARS:
        raise ReminderError("unknown time zone")
    quiet_start = form.get("quiet_start", "").strip()
    quiet_end = form.get("quiet_end", "").strip()
    quiet = None
    if quiet_start or quiet_end:
        if not (quiet_start and quiet_end):
            raise ReminderError("give both ends of the quiet hours, or neither")
        quiet = (_clock(quiet_start, "quiet hours"), _clock(quiet_end, "quiet hours"))
    return {"local_time": local_time, "email": email or None, "timezone": timezone, "quiet": quiet}


def _reminder_detail(reminder: Reminder, email_changed: bool) -> dict[str, Any]:
    # The audit row says what was set, never the address itself.
    return {
        "time": reminder.local_time,
        "timezone": reminder.timezone,
        "quiet": f"{reminder.quiet_start}-{reminder.quiet_end}",
        "email_changed": email_changed,
    }


@bp.get("/")
@login_required
def index() -> Any:
    """Every participant with their last check-in, check-ins this week and latest craving."""
    with transaction() as db:
        summaries = participant_summaries(db)
        audit(db, "list", "participant", detail={"count": len(summaries)})
    return render_template(
        "participants/index.html", summaries=summaries, high_craving=HIGH_CRAVING
    )


@bp.post("/")
@role_required("admin")
def create() -> Any:
    """Enroll a participant and show their check-in link this once; with an e-mail address and
    a reminder time, their daily reminder is set in the same transaction (both or neither)."""
    wants_reminder = any(request.form.get(k, "").strip() for k in ("email", "reminder_time"))
    reminder = None
    try:
        with transaction() as db:
            enrollment = enroll(db, request.form.get("name", ""))
            audit(db, "enroll", "participant", enrollment.participant_id)
            if wants_reminder:
                fields = reminder_fields(request.form, time_field="reminder_time")
                row = set_reminder(db, enrollment.participant_id, **fields)
                audit(
                    db,
                    "set_reminder",
                    "participant",
                    row.participant_id,
                    _reminder_detail(row, True),
                )
                reminder = ReminderView.of(row)
    except ReminderError as exc:
        abort(400, description=f"Nobody was enrolled: the reminder could not be set ({exc}).")
    except ValueError as exc:
        abort(400, description=str(exc))
    return render_template(
        "participants/link.html", enrollment=enrollment, new=True, reminder=reminder
    )


@bp.post("/<int:participant_id>/revoke")
@role_required("admin")
def revoke_link(participant_id: int) -> Any:
    """Stop a participant's link from working; their history stays."""
    with transaction() as db:
        if not revoke(db, participant_id):
            abort(404)
        audit(db, "revoke", "participant", participant_id)
    flash("The participant's link no longer works.")
    return redirect(url_for("participants.show", participant_id=participant_id), 303)


@bp.post("/<int:participant_id>/link")
@role_required("admin")
def new_link(participant_id: int) -> Any:
    """Issue a new link (the old one stops working) and show it this once."""
    with transaction() as db:
        enrollment = new_participant_link(db, participant_id)
        if enrollment is None:
            abort(404)
        audit(db, "new_link", "participant", participant_id)
    return render_template("participants/link.html", enrollment=enrollment, new=False)


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


@bp.get("/<int:participant_id>")
@login_required
def show(participant_id: int) -> Any:
    """One participant: their reminder, craving and mood over time, triggers, every check-in."""
    return _participant_page(participant_id)


def _participant_page(participant_id: int, submitted: Mapping[str, str] | None = None) -> str:
    """The participant page; `submitted` refills the reminder form after a refused change."""
    with transaction() as db:
        participant = db.get(Participant, participant_id)
        if participant is None:
            abort(404)
        checkins = participant_checkins(db, participant_id)
        flags = related_flags(db, participant_id=participant_id)
        row = reminder_for(db, participant_id)
        reminder = ReminderView.of(row) if row is not None else None
        audit(db, "view", "participant", participant_id)
    zone = ZoneInfo(get_settings().clinic.timezone)
    charts = {}
    if checkins:
        charts["craving_mood"] = _data_uri(craving_mood_chart(checkins, zone))
        charts["triggers"] = _data_uri(trigger_chart(checkins))
    return render_template(
        "participants/show.html",
        participant=participant,
        checkins=list(reversed(checkins)),
        charts=charts,
        flags=flags,
        reminder=reminder,
        reminder_form=_reminder_form_values(reminder, submitted),
        default_quiet=[t.strftime("%H:%M") for t in DEFAULT_QUIET],
    )


def _reminder_form_values(
    reminder: ReminderView | None, submitted: Mapping[str, str] | None
) -> dict[str, str]:
    # The reminder form starts from the current setting (the e-mail field empty: it keeps the
    # address); after a refused change it shows what was typed, but never an address.
    values = {
        "time": reminder.local_time if reminder else "",
        "timezone": reminder.timezone if reminder else get_settings().clinic.timezone,
        "quiet_start": reminder.quiet_start if reminder else "",
        "quiet_end": reminder.quiet_end if reminder else "",
    }
    if submitted is not None:
        values.update({key: submitted.get(key, "")[:MAX_ZONE_CHARS] for key in values})
    return values


@bp.post("/<int:participant_id>/reminder")
@role_required("admin")
def set_participant_reminder(participant_id: int) -> Any:
    """Set or change the participant's daily reminder: e-mail (empty keeps the one on file),
    local time, time zone (the clinic's unless given) and quiet hours (both ends or neither)."""
    try:
        with transaction() as db:
            participant = db.get(Participant, participant_id)
            if participant is None:
                abort(404)
            if participant.revoked_at is not None:
                raise ReminderError("the participant's link is revoked; issue a new link first")
            existing = reminder_for(db, participant_id)
            old_email = existing.email if existing else None
            fields = reminder_fields(request.form, need_email=existing is None)
            row = set_reminder(db, participant_id, **fields)
            detail = _reminder_detail(row, row.email != old_email)
            audit(db, "set_reminder", "participant", participant_id, detail)
            reminder = ReminderView.of(row)
    except ReminderError as exc:
        # Nothing was stored (the transaction rolled back): the page again, with the reason.
        flash(f"Reminder not saved: {exc}.")
        return _participant_page(participant_id, request.form), 400
    flash(f"Daily reminder set for {reminder.time_text} ({reminder.timezone}) to {reminder.email}.")
    return redirect(url_for("participants.show", participant_id=participant_id), 303)


@bp.post("/<int:participant_id>/reminder/stop")
@role_required("admin")
def stop_participant_reminder(participant_id: int) -> Any:
    """Stop the participant's reminders (the setting stays, to restart later)."""
    with transaction() as db:
        if db.get(Participant, participant_id) is None:
            abort(404)
        stopped = stop_reminder(db, participant_id)
        if stopped:
            audit(db, "stop_reminder", "participant", participant_id)
    flash("Reminders stopped." if stopped else "No reminder was running.")
    return redirect(url_for("participants.show", participant_id=participant_id), 303)


def _cell(value: object) -> object:
    # A spreadsheet runs cells starting with = + - @ as formulas: quote free text that does.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@bp.get("/<int:participant_id>/checkins.csv")
@login_required
def export(participant_id: int) -> Response:
    """The participant's check-ins as CSV (oldest first)."""
    with transaction() as db:
        if db.get(Participant, participant_id) is None:
            abort(404)
        checkins = participant_checkins(db, participant_id)
        audit(db, "export", "participant", participant_id, {"rows": len(checkins)})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_FIELDS)
    for c in checkins:
        row = (
            c.id,
            c.created_at.isoformat(),
            c.mood,
            c.craving,
            ";".join(c.triggers or []),
            "yes" if c.used_since_last else "no",
            c.coping or "",
            c.note or "",
        )
        writer.writerow([_cell(v) for v in row])
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="participant-{participant_id}.csv"'},
    )
