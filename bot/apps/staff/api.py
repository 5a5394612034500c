"""The staff JSON API (SPEC §4) under /api, authenticated by bearer tokens.

Roles: the three SPEC routes (flags, assessments, a participant's check-ins) need a clinician or
admin token; GET /api/audit needs an admin token. No token or a bad one: 401; wrong role: 403.
Every read is written to the audit log under the token's name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from bot.apps.staff.unit_of_work import audit, transaction
from bot.db.assessments import list_assessments
from bot.db.audit import list_audit
from bot.db.checkins import participant_checkins
from bot.db.flags import flag_queue
from bot.db.models import FLAG_STATUSES, STAFF_ROLES, Participant
from bot.db.staff_accounts import resolve_api_token

bp = Blueprint("api", __name__, url_prefix="/api")


@dataclass(frozen=True)
class ApiCaller:
    """The token a request came with (a plain copy of its row)."""

    id: int
    name: str
    role: str


def json_error(status: int, message: str) -> Response:
    """The API's error answer: `{"error": message}` with the status (and the 401 challenge)."""
    response = jsonify({"error": message})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="iop-staff"'
    return response


@bp.before_request
def authenticate() -> Response | None:
    """Every API request needs `Authorization: Bearer <token>` of an active token: None when
    it has one (the caller is in `g.api_token`), else the 401 answer."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return json_error(401, "a bearer token is required")
    with transaction() as db:
        row = resolve_api_token(db, token.strip())
        # a channel token talks to the bot, never reads records
        staff = row is not None and row.role in STAFF_ROLES
        caller = ApiCaller(row.id, row.name, row.role) if staff else None
    if caller is None:
        return json_error(401, "the token is not valid")
    g.api_token = caller
    return None


def requires(*roles: str) -> Callable:
    """Only tokens with one of `roles` reach the route; others get 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if g.api_token.role not in roles:
                return json_error(403, "this token's role may not use this route")
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _time(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


@bp.get("/flags")
@requires("clinician", "admin")
def flags() -> Response:
    """Flags, most urgent first; `?status=open|acknowledged|resolved` (default: every status)."""
    status = request.args.get("status")
    if status is not None and status not in FLAG_STATUSES:
        return json_error(400, f"status must be one of {', '.join(FLAG_STATUSES)}")
    with transaction() as db:
        rows = flag_queue(db, (status,) if status else FLAG_STATUSES)
        audit(db, "api_list", "flag", detail={"status": status, "count": len(rows)})
        body = [
            {
                "id": f.id,
                "kind": f.kind,
                "severity": f.severity,
                "status": f.status,
                "conversation_id": f.conversation_id,
                "participant_id": f.participant_id,
                "reason": f.reason,
                "created_at": _time(f.created_at),
            }
            for f in rows
        ]
    return jsonify(body)


@bp.get("/assessments")
@requires("clinician", "admin")
def assessments() -> Response:
    """Every assessment with its answers, newest first."""
    with transaction() as db:
        rows = list_assessments(db)
        audit(db, "api_list", "assessment", detail={"count": len(rows)})
        body = [
            {
                "id": a.id,
                "conversation_id": a.conversation_id,
                "reference": a.reference,
                "recommendation": a.recommendation,
                "answers": a.answers,
                "created_at": _time(a.created_at),
            }
            for a in rows
        ]
    return jsonify(body)


@bp.get("/participants/<int:participant_id>/checkins")
@requires("clinician", "admin")
def checkins(participant_id: int) -> Response:
    """One participant's check-ins, oldest first; 404 for an unknown participant."""
    with transaction() as db:
        if db.get(Participant, participant_id) is None:
            return json_error(404, "no such participant")
        rows = participant_checkins(db, participant_id)
        audit(db, "api_view", "participant", participant_id, {"count": len(rows)})
        body = [
            {
                "id": c.id,
                "created_at": _time(c.created_at),
                "mood": c.mood,
                "craving": c.craving,
                "triggers": list(c.triggers or []),
                "used_since_last": c.used_since_last,
                "coping": c.coping,
                "note": c.note,
            }
            for c in rows
        ]
    return jsonify(body)


@bp.get("/audit")
@requires("admin")
def audit_entries() -> Response:
    """The newest audit rows (admin tokens only); `?limit=` up to 500."""
    limit = min(max(request.args.get("limit", 100, type=int) or 100, 1), 500)
    with transaction() as db:
        rows = list_audit(db, limit)
        body = [
            {
                "id": e.id,
                "at": _time(e.at),
                "actor": e.actor,
                "action": e.action,
                "object_type": e.object_type,
                "object_id": e.object_id,
                "detail": e.detail,
            }
            for e in rows
        ]
        audit(db, "api_list", "audit_log", detail={"count": len(rows)})
    return jsonify(body)
