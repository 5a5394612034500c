"""Participants: the list, enroll / revoke / new link (admins), one participant's history, CSV."""

from __future__ import annotations

import base64
import csv
import io
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from bot.checkins import HIGH_CRAVING
from bot.db.models import Participant
from bot.participants import enroll, new_participant_link, revoke
from bot.settings import get_settings
from bot.staff.auth import role_required
from bot.staff.charts import craving_mood_chart, trigger_chart
from bot.staff.db import audit, transaction
from bot.staff.queries import (
    participant_checkins,
    participant_summaries,
    related_flags,
)

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
    """Enroll a participant and show their check-in link this once."""
    try:
        with transaction() as db:
            enrollment = enroll(db, request.form.get("name", ""))
            audit(db, "enroll", "participant", enrollment.participant_id)
    except ValueError as exc:
        abort(400, description=str(exc))
    return render_template("participants/link.html", enrollment=enrollment, new=True)


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
    """One participant: craving and mood over time, triggers, every check-in."""
    with transaction() as db:
        participant = db.get(Participant, participant_id)
        if participant is None:
            abort(404)
        checkins = participant_checkins(db, participant_id)
        flags = related_flags(db, participant_id=participant_id)
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
    )


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
