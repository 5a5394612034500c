"""The audit log page (admins only): who viewed or changed what, newest first."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from bot.apps.staff.auth import role_required
from bot.apps.staff.unit_of_work import audit, transaction
from bot.db.audit import list_audit

bp = Blueprint("audit_log", __name__, url_prefix="/audit")
PAGE_SIZE = 100


@bp.get("/")
@role_required("admin")
def index() -> Any:
    """One page of audit rows, newest first; filter by actor, object type and object id."""
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    filters = {
        key: request.args.get(key, "").strip()[:128] or None
        for key in ("actor", "object_type", "object_id")
    }
    with transaction() as db:
        entries = list_audit(db, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE, **filters)
        audit(db, "view", "audit_log", detail={"page": page, **filters})
    return render_template(
        "audit/index.html",
        entries=entries[:PAGE_SIZE],
        page=page,
        has_next=len(entries) > PAGE_SIZE,
        filters=filters,
        query={k: v for k, v in filters.items() if v},
    )
