"""Staff logins: the list, a new login, turn one off or on, lift a lockout (admins); and
changing your own password (everyone)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user

from bot.apps.staff.auth import StaffMember, client_address, role_required
from bot.apps.staff.unit_of_work import audit, transaction
from bot.db.models import STAFF_ROLES, StaffUser
from bot.db.staff_accounts import (
    MIN_PASSWORD_CHARS,
    AccountError,
    change_password,
    create_staff,
    list_staff,
    locked_logins,
    set_staff_active,
    unlock_staff,
)

bp = Blueprint("accounts", __name__, url_prefix="/staff")


@bp.get("/")
@role_required("admin")
def index() -> Any:
    """Every staff login with its role, state and last sign-in."""
    with transaction() as db:
        users = list_staff(db)
        locks = locked_logins(db)
        audit(db, "list", "staff_user", detail={"count": len(users)})
    return render_template(
        "accounts/index.html",
        users=users,
        locks=locks,
        roles=STAFF_ROLES,
        min_password=MIN_PASSWORD_CHARS,
    )


@bp.post("/")
@role_required("admin")
def create() -> Any:
    """Create a login with a first password the admin hands over in person."""
    try:
        with transaction() as db:
            user = create_staff(
                db,
                request.form.get("username", ""),
                request.form.get("password", ""),
                request.form.get("role", ""),
            )
            audit(db, "create", "staff_user", user.id, {"role": user.role})
            username = user.username
    except AccountError as exc:
        abort(400, description=str(exc))
    flash(f"Login {username} created.")
    return redirect(url_for("accounts.index"), 303)


@bp.post("/<int:user_id>/active")
@role_required("admin")
def set_active(user_id: int) -> Any:
    """Turn a login off or on; admins cannot turn off their own."""
    active = request.form.get("active") == "1"
    if user_id == current_user.id and not active:
        abort(400, description="You cannot turn off your own login.")
    with transaction() as db:
        user = set_staff_active(db, user_id, active)
        if user is None:
            abort(404)
        audit(db, "activate" if active else "deactivate", "staff_user", user_id)
        username = user.username
    flash(f"Login {username} turned {'on' if active else 'off'}.")
    return redirect(url_for("accounts.index"), 303)


@bp.post("/<int:user_id>/unlock")
@role_required("admin")
def unlock(user_id: int) -> Any:
    """Lift the login's lockouts (from every address) before their 15 minutes are up."""
    with transaction() as db:
        user = unlock_staff(db, user_id)
        if user is None:
            abort(404)
        audit(db, "unlock", "staff_user", user_id)
        username = user.username
    flash(f"Login {username} unlocked.")
    return redirect(url_for("accounts.index"), 303)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password() -> Any:
    """Change your own password (the current one is asked for again)."""
    if request.method == "POST":
        new = request.form.get("new_password", "")
        if new != request.form.get("new_password_again", ""):
            abort(400, description="The two new passwords differ.")
        with transaction() as db:
            try:
                change_password(
                    db,
                    current_user.id,
                    request.form.get("current_password", ""),
                    new,
                    address=client_address(),
                )
            except AccountError as exc:
                error = str(exc)  # the failure count above is committed with this transaction
            else:
                error = None
                audit(db, "change_password", "staff_user", current_user.id)
                member = StaffMember.of(db.get(StaffUser, current_user.id))
        if error:
            abort(400, description=error)
        # Other sessions of this login end with the old password; this one carries on.
        login_user(member)
        flash("Password changed.")
        return redirect(url_for("flags.queue"), 303)
    return render_template("accounts/password.html", min_password=MIN_PASSWORD_CHARS)
