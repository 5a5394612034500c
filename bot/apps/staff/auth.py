"""Signing in and out, who the current user is, roles, and idle session expiry."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from sqlalchemy import text

from bot.apps.staff.unit_of_work import audit, transaction
from bot.db import get_engine
from bot.db.models import StaffUser
from bot.db.staff_accounts import LOCKOUT, MAX_FAILED_LOGINS, verify_login

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
# Routes anyone may reach; every other route needs a signed-in user or an API token.
PUBLIC_ENDPOINTS = frozenset({"auth.login", "auth.healthz", "static"})


@dataclass(frozen=True)
class StaffMember:
    """The signed-in staff member as Flask-Login sees them (a plain copy, not a DB row)."""

    id: int
    username: str
    role: str
    # Derived from the password hash and the session version: a new password, or signing out,
    # ends every session signed in before (copied cookies included).
    password_key: str = ""
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    @classmethod
    def of(cls, user: StaffUser) -> StaffMember:
        """The plain copy of a staff_users row."""
        key = password_key(f"{user.password_hash}:{user.session_version or 0}")
        return cls(user.id, user.username, user.role, key)

    def get_id(self) -> str:
        """What Flask-Login keeps in the session: the user id and the password key."""
        return f"{self.id}:{self.password_key}"

    @property
    def is_admin(self) -> bool:
        """Whether this member may use the admin-only pages."""
        return self.role == "admin"


def password_key(password_hash: str) -> str:
    """A short digest of a password hash, kept in the session (the hash itself never is)."""
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()[:32]


@login_manager.user_loader
def _load_user(session_id: str) -> StaffMember | None:
    # Read on every request, so a deactivated account, changed role or changed password takes
    # effect at once (sessions signed in with the old password no longer load).
    user_id, _, key = session_id.partition(":")
    if not user_id.isdigit() or not key:
        return None
    with transaction() as db:
        user = db.get(StaffUser, int(user_id))
        if user is None or not user.active:
            return None
        member = StaffMember.of(user)
    return member if hmac.compare_digest(member.password_key, key) else None


def init_app(app: Flask) -> None:
    """Attach Flask-Login and idle expiry to the app."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in."
    login_manager.session_protection = "strong"
    app.before_request(_expire_idle_session)


def _expire_idle_session() -> None:
    """Sign out a session idle longer than IDLE_TIMEOUT_MINUTES or older than MAX_SESSION_HOURS."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.blueprint == "api":
        return
    if not current_user.is_authenticated:
        return
    now = time.time()
    idle_limit = current_app.config["IDLE_TIMEOUT_MINUTES"] * 60
    age_limit = current_app.config["MAX_SESSION_HOURS"] * 3600
    last_seen = session.get("last_seen")
    signed_in_at = session.get("signed_in_at")
    if not isinstance(last_seen, int | float) or now - last_seen > idle_limit:
        message = "You were signed out after a period without activity. Please sign in again."
    elif not isinstance(signed_in_at, int | float) or now - signed_in_at > age_limit:
        message = "Your session reached its time limit. Please sign in again."
    else:
        session["last_seen"] = now
        return
    logout_user()
    session.clear()
    flash(message)
    # login_required on the view now sends the browser to the sign-in page


def role_required(role: str) -> Callable:
    """Only signed-in staff with `role` (admins may do everything) reach the view; else 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role != role and current_user.role != "admin":
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def client_address() -> str:
    """The client's address: the peer, or the address the configured number of trusted
    proxies in front of the app reported (IOP_STAFF_TRUSTED_PROXIES, see create_app)."""
    return (request.remote_addr or "unknown")[:64]


def _safe_next(target: str | None) -> str:
    # Only a path on this site: never an open redirect to another host. Browsers drop tabs and
    # newlines inside URLs ("/\t/evil.example" becomes "//evil.example") and read "\\" as "/",
    # so a target with whitespace, control characters or backslashes is refused outright.
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and target.isprintable()
        and not any(c.isspace() or c == "\\" for c in target)
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("flags.queue")


@bp.get("/healthz")
def healthz() -> tuple[str, int]:
    """Liveness for the process supervisor: 200 when the database answers."""
    try:
        with get_engine(current_app.config["DATABASE_URL"]).connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any database failure means "not ready"
        return "database unavailable", 503
    return "ok", 200


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The sign-in form; 5 failed attempts from one address lock that address out of the
    login for 15 minutes (bot/db/staff_accounts.py)."""
    if current_user.is_authenticated:
        return redirect(url_for("flags.queue"))
    error = None
    status = 200
    if request.method == "POST":
        username = request.form.get("username", "")[:64]
        password = request.form.get("password", "")[:1024]
        with transaction() as db:
            result = verify_login(db, username, password, address=client_address())
            member = StaffMember.of(result.user) if result.user else None
            if member is None:
                # Who tried, from where, and whether it locked; never the typed username of
                # an unknown login (often a password typed into the wrong field).
                audit(
                    db,
                    "login_failed",
                    "staff_user",
                    result.staff_user_id,
                    {"address": client_address(), "locked": result.locked},
                )
        if member is not None:
            # A fresh session on sign-in: nothing from before (a planted session id) survives.
            session.clear()
            login_user(member)
            session["last_seen"] = session["signed_in_at"] = time.time()
            with transaction() as db:
                audit(db, "login", "staff_user", member.id)
            return redirect(_safe_next(request.args.get("next")))
        status = 401
        # One answer for every failure: "locked" only for real usernames would list them.
        minutes = int(LOCKOUT.total_seconds() // 60)
        error = (
            f"Wrong username or password. After {MAX_FAILED_LOGINS} failed attempts a login is "
            f"locked for {minutes} minutes; an admin can unlock it sooner."
        )
    return render_template("auth/login.html", error=error), status


@bp.post("/logout")
@login_required
def logout() -> Any:
    """Sign out (a POST with the CSRF token, so another site cannot sign staff out)."""
    with transaction() as db:
        audit(db, "logout", "staff_user", current_user.id)
        user = db.get(StaffUser, current_user.id)
        if user is not None:  # the cookie lives on in the browser: make it worthless
            user.session_version = (user.session_version or 0) + 1
    logout_user()
    session.clear()
    flash("Signed out.")
    return redirect(url_for("auth.login"))
