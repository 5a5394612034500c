"""Pre-assessment leads: the list, one assessment, and the lead status workflow."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from bot.apps.staff.unit_of_work import audit, transaction
from bot.db.assessments import LEAD_TRANSITIONS, list_assessments, set_lead_status
from bot.db.flags import related_flags
from bot.db.models import LEAD_STATUSES, Assessment
from bot.db.rows import ChangeRefused

bp = Blueprint("assessments", __name__, url_prefix="/assessments")


@bp.get("/")
@login_required
def index() -> Any:
    """Leads, newest first, optionally one status: recommendation, contact preference, status."""
    status = request.args.get("status") or None
    if status is not None and status not in LEAD_STATUSES:
        abort(400)
    with transaction() as db:
        assessments = list_assessments(db, status)
        audit(db, "list", "assessment", detail={"status": status, "count": len(assessments)})
    return render_template(
        "assessments/index.html",
        assessments=assessments,
        status=status,
        statuses=LEAD_STATUSES,
    )


@bp.get("/<int:assessment_id>")
@login_required
def show(assessment_id: int) -> Any:
    """One assessment: every answer, scores, contact details, and the next lead steps."""
    with transaction() as db:
        assessment = db.get(Assessment, assessment_id)
        if assessment is None:
            abort(404)
        flags = related_flags(db, conversation_id=assessment.conversation_id)
        audit(db, "view", "assessment", assessment_id)
    return render_template(
        "assessments/show.html",
        assessment=assessment,
        flags=flags,
        next_statuses=LEAD_TRANSITIONS.get(assessment.status, ()),
    )


@bp.post("/<int:assessment_id>/status")
@login_required
def change_status(assessment_id: int) -> Any:
    """Move the lead to its next status (new -> contacted -> enrolled / closed)."""
    status = request.form.get("status", "")
    with transaction() as db:
        try:
            assessment = set_lead_status(db, assessment_id, status)
        except ChangeRefused as exc:
            abort(400, description=str(exc))
        if assessment is None:
            abort(404)
        audit(db, "status", "assessment", assessment_id, {"status": status})
    flash(f"Lead {assessment.reference} is now {status}.")
    return redirect(url_for("assessments.show", assessment_id=assessment_id), 303)
