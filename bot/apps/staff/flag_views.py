"""The flag queue (home page), one flag with its alerts and transcript, acknowledge and resolve."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from bot.apps.staff.transcript_views import read_events, tracker_store, turns
from bot.apps.staff.unit_of_work import audit, transaction
from bot.db.alert_outbox import flag_alert_states, flag_deliveries
from bot.db.audit import audit_trail
from bot.db.flags import UNRESOLVED, acknowledge_flag, flag_queue, resolve_flag, severity_counts
from bot.db.models import FLAG_KINDS, FLAG_SEVERITIES, FLAG_STATUSES, Assessment, Flag, Participant
from bot.db.rows import ChangeRefused
from bot.log import log_failure

bp = Blueprint("flags", __name__)
logger = logging.getLogger(__name__)
HISTORY_LIMIT = 500
# The status filter's choices: "unresolved" (open or acknowledged) is the working queue.
STATUS_FILTERS = {
    "unresolved": UNRESOLVED,
    **{s: (s,) for s in FLAG_STATUSES},
    "all": FLAG_STATUSES,
}


@bp.get("/")
@login_required
def queue() -> Any:
    """Unresolved flags, urgent first then oldest, each with its alert status; filter by kind
    and status."""
    status = request.args.get("status", "unresolved")
    kind = request.args.get("kind") or None
    if status not in STATUS_FILTERS or (kind is not None and kind not in FLAG_KINDS):
        abort(400)
    with transaction() as db:
        # The working queue is shown whole; history views stop at a page's worth.
        limit = None if status in ("unresolved", "open", "acknowledged") else HISTORY_LIMIT
        flags = flag_queue(db, STATUS_FILTERS[status], kind, limit)
        # One query for every row's alert status, however long the queue.
        alert_states = flag_alert_states(db, [f.id for f in flags])
        counts = severity_counts(db)
        audit(db, "list", "flag", detail={"status": status, "kind": kind, "count": len(flags)})
    return render_template(
        "flags/queue.html",
        flags=flags,
        alert_states=alert_states,
        counts=counts,
        status=status,
        kind=kind,
        statuses=list(STATUS_FILTERS),
        kinds=FLAG_KINDS,
        severities=FLAG_SEVERITIES,
    )


@bp.get("/flags/<int:flag_id>")
@login_required
def show(flag_id: int) -> Any:
    """One flag with its alert deliveries and its conversation's transcript, the flagged
    message highlighted."""
    with transaction() as db:
        flag = db.get(Flag, flag_id)
        if flag is None:
            abort(404)
        participant = db.get(Participant, flag.participant_id) if flag.participant_id else None
        assessment = db.get(Assessment, flag.assessment_id) if flag.assessment_id else None
        history = audit_trail(db, "flag", flag.id)
        deliveries = flag_deliveries(db, flag.id)
        audit(db, "view", "transcript", flag.conversation_id, {"flag_id": flag.id})
    transcript_error = False
    try:
        events = read_events(tracker_store(), flag.conversation_id)
    except Exception as exc:  # noqa: BLE001 - the flag stays usable when the store is down
        log_failure(logger, f"could not read the transcript for flag {flag.id}", exc)
        events, transcript_error = None, True
    transcript = turns(events, flag.message_id) if events is not None else None
    return render_template(
        "flags/show.html",
        flag=flag,
        participant=participant,
        assessment=assessment,
        transcript=transcript,
        transcript_error=transcript_error,
        history=history,
        deliveries=deliveries,
    )


@bp.post("/flags/<int:flag_id>/acknowledge")
@login_required
def acknowledge(flag_id: int) -> Any:
    """Say that you are looking at this flag."""
    with transaction() as db:
        try:
            flag = acknowledge_flag(db, flag_id, current_user.username)
        except ChangeRefused as exc:
            abort(409, description=str(exc))
        if flag is None:
            abort(404)
        audit(db, "acknowledge", "flag", flag_id)
    flash(f"Flag {flag_id} acknowledged.")
    return redirect(url_for("flags.show", flag_id=flag_id), 303)


@bp.post("/flags/<int:flag_id>/resolve")
@login_required
def resolve(flag_id: int) -> Any:
    """Resolve a flag with a note saying what was done."""
    note = request.form.get("note", "")
    with transaction() as db:
        try:
            flag = resolve_flag(db, flag_id, current_user.username, note)
        except ChangeRefused as exc:
            abort(400, description=str(exc))
        if flag is None:
            abort(404)
        audit(db, "resolve", "flag", flag_id)
    flash(f"Flag {flag_id} resolved.")
    return redirect(url_for("flags.queue"), 303)
