"""Staff logins and API tokens: argon2 password hashes, per-address lockout, hashed bearer
tokens."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.engine import savepoint
from bot.db.models import (
    API_TOKEN_ROLES,
    STAFF_ROLES,
    ApiToken,
    LoginThrottle,
    StaffUser,
    utcnow,
)
from bot.db.participants import hash_token

MIN_PASSWORD_CHARS = 12
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
_hasher = PasswordHasher()
# Verified against when the username is unknown, so both cases take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A request about an account that cannot be done; the message says why."""


def _check_role(role: str) -> None:
    if role not in STAFF_ROLES:
        raise AccountError(f"role must be one of {', '.join(STAFF_ROLES)}")


def create_staff(session: Session, username: str, password: str, role: str) -> StaffUser:
    """A new staff login; the password is stored as an argon2id hash."""
    _check_role(role)
    name = username.strip().lower()
    if (
        not 3 <= len(name) <= 64
        or not name.replace(".", "").replace("-", "").replace("_", "").isalnum()
    ):
        raise AccountError("username: 3-64 letters, digits, '.', '-' or '_'")
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"password: at least {MIN_PASSWORD_CHARS} characters")
    if session.execute(select(StaffUser).where(StaffUser.username == name)).first():
        raise AccountError(f"username {name!r} is taken")
    user = StaffUser(username=name, password_hash=_hasher.hash(password), role=role)
    session.add(user)
    session.flush()
    return user


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a login attempt; `user` is set only on success. `staff_user_id` names
    the login a failed attempt was for, when the username exists (for the audit log only:
    the person at the sign-in form is told the same thing either way)."""

    user: StaffUser | None
    locked: bool = False
    staff_user_id: int | None = None


# Where an attempt came from when the caller cannot say (the command line, tests).
UNKNOWN_ADDRESS = "unknown"


def verify_login(
    session: Session,
    username: str,
    password: str,
    now: datetime | None = None,
    address: str = UNKNOWN_ADDRESS,
) -> LoginResult:
    """Check a password, counting failures per login and client address: 5 failures from one
    address lock that address out of that login for 15 minutes, and no one else."""
    now = now or utcnow()
    user = session.execute(
        select(StaffUser).where(StaffUser.username == username.strip().lower())
    ).scalar_one_or_none()
    if user is None or not user.active:
        _verify(_DUMMY_HASH, password)
        return LoginResult(None, staff_user_id=user.id if user else None)
    throttle = _throttle(session, user, address)
    if throttle.locked_until is not None and throttle.locked_until > now:
        # The same hashing work as any other attempt: a fast answer would tell a guesser
        # that this username exists.
        _verify(_DUMMY_HASH, password)
        return LoginResult(None, locked=True, staff_user_id=user.id)
    if not _check_counted(session, throttle, user.password_hash, password, now):
        return LoginResult(None, locked=throttle.locked_until is not None, staff_user_id=user.id)
    session.delete(throttle)  # nothing to remember about this address any more
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return LoginResult(user, staff_user_id=user.id)


def _throttle(session: Session, user: StaffUser, address: str) -> LoginThrottle:
    """The failure count of `user` from `address`, created on the first attempt from there."""
    address = (address or UNKNOWN_ADDRESS)[:64]
    query = select(LoginThrottle).where(
        LoginThrottle.staff_user_id == user.id, LoginThrottle.address == address
    )
    row = session.execute(query).scalar_one_or_none()
    if row is not None:
        return row
    row = LoginThrottle(staff_user_id=user.id, address=address, failed_logins=0)
    try:
        with savepoint(session):
            session.add(row)
    except IntegrityError:  # a parallel attempt from the same address made it first
        return session.execute(query).scalar_one()
    return row


def _check_counted(
    session: Session, throttle: LoginThrottle, password_hash: str, password: str, now: datetime
) -> bool:
    """Check a password as one counted attempt; the failure that reaches the limit locks.

    The attempt is counted in the database (one atomic UPDATE, refused while locked) before
    the password is checked, so guesses sent in parallel cannot all read the same old count
    or slip in after another one locked: at most MAX_FAILED_LOGINS guesses per address are
    checked per lockout period. The count starts again when a lockout has ended.
    """
    lock_over = LoginThrottle.locked_until.is_not(None)  # within the WHERE below: it has ended
    counted = session.execute(
        update(LoginThrottle)
        .where(
            LoginThrottle.id == throttle.id,
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now),
        )
        .values(
            failed_logins=case((lock_over, 1), else_=LoginThrottle.failed_logins + 1),
            locked_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    if counted.rowcount == 0:  # locked by a guess that finished after this one began
        _verify(_DUMMY_HASH, password)
        session.refresh(throttle)
        return False
    # Our own write, read back while this transaction holds the row (no RETURNING on SQLite).
    attempts = session.execute(
        select(LoginThrottle.failed_logins).where(LoginThrottle.id == throttle.id)
    ).scalar_one()
    if attempts > MAX_FAILED_LOGINS:  # parallel guesses past the limit: not even checked
        _verify(_DUMMY_HASH, password)
        ok = False
    else:
        ok = _verify(password_hash, password)
    throttle.failed_logins = 0 if ok else attempts
    # The count is kept while locked, so guesses still in flight stay past the limit.
    throttle.locked_until = now + LOCKOUT if not ok and attempts >= MAX_FAILED_LOGINS else None
    return ok


def locked_logins(session: Session, now: datetime | None = None) -> dict[int, datetime]:
    """Logins locked from at least one address: staff user id -> when the last lock ends."""
    now = now or utcnow()
    rows = session.execute(
        select(LoginThrottle.staff_user_id, func.max(LoginThrottle.locked_until))
        .where(LoginThrottle.locked_until > now)
        .group_by(LoginThrottle.staff_user_id)
    )
    return dict(rows.all())


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_api_token(session: Session, name: str, role: str = "clinician") -> tuple[ApiToken, str]:
    """A bearer token for the staff JSON API (role clinician or admin) or the REST channel
    (role channel); returns the row and the only copy of the token."""
    if role not in API_TOKEN_ROLES:
        raise AccountError(f"role must be one of {', '.join(API_TOKEN_ROLES)}")
    label = " ".join(name.split())
    if not label or len(label) > 120:
        raise AccountError("name: 1 to 120 characters")
    token = secrets.token_urlsafe(32)
    row = ApiToken(name=label, token_hash=hash_token(token), role=role)
    session.add(row)
    session.flush()
    return row, token


def _active_token(session: Session, token: object) -> ApiToken | None:
    """The unrevoked API token row for a bearer token, or None (reads only)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 128:
        return None
    return session.execute(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None)
        )
    ).scalar_one_or_none()


def resolve_api_token(session: Session, token: object) -> ApiToken | None:
    """The active API token row for a bearer token, or None; records when it was last used."""
    row = _active_token(session, token)
    if row is not None:
        row.last_used_at = utcnow()
    return row


def channel_token_valid(session: Session, token: object) -> bool:
    """Whether `token` is an active channel token (read only: the REST channel checks every
    message, and caches the answer briefly, bot/rasa/channels.py)."""
    row = _active_token(session, token)
    return row is not None and row.role == "channel"


def revoke_api_token(session: Session, token_id: int) -> bool:
    """Revoke an API token; False if there is no such token."""
    row = session.get(ApiToken, token_id)
    if row is None:
        return False
    row.revoked_at = row.revoked_at or utcnow()
    return True


DEMO_USERNAME = "demo-admin"


def ensure_demo_staff(session: Session) -> tuple[str, str] | None:
    """Create the local demo admin with a random password; (username, password) or None.

    Local only: nothing happens on a non-SQLite database (production) or when the demo login
    already exists (its password is shown only when it is created).
    """
    if session.get_bind().dialect.name != "sqlite":
        return None
    if session.execute(select(StaffUser.id).where(StaffUser.username == DEMO_USERNAME)).first():
        return None
    password = secrets.token_urlsafe(18)
    create_staff(session, DEMO_USERNAME, password, "admin")
    return DEMO_USERNAME, password


def reset_demo_staff(session: Session) -> tuple[str, str] | None:
    """`make run`'s demo admin, with a fresh random password each run; None off SQLite.

    Only the local SQLite database gets a demo login, so it can never reach production.
    """
    created = ensure_demo_staff(session)
    if created is not None or session.get_bind().dialect.name != "sqlite":
        return created
    user = session.execute(
        select(StaffUser).where(StaffUser.username == DEMO_USERNAME)
    ).scalar_one()
    password = secrets.token_urlsafe(18)
    user.password_hash = _hasher.hash(password)
    user.active, user.failed_logins, user.locked_until = True, 0, None
    return DEMO_USERNAME, password


def list_staff(session: Session) -> list[StaffUser]:
    """Every staff login, by username."""
    return list(session.execute(select(StaffUser).order_by(StaffUser.username)).scalars())


def set_staff_active(session: Session, user_id: int, active: bool) -> StaffUser | None:
    """Turn a staff login off (it can no longer sign in) or back on; None if no such login."""
    user = session.get(StaffUser, user_id)
    if user is not None:
        user.active = active
    return user


def unlock_staff(session: Session, user_id: int) -> StaffUser | None:
    """Lift every lockout of a login and forget counted failures; None if no such login."""
    user = session.get(StaffUser, user_id)
    if user is not None:
        session.execute(delete(LoginThrottle).where(LoginThrottle.staff_user_id == user_id))
    return user


def change_password(
    session: Session, user_id: int, current: str, new: str, address: str = UNKNOWN_ADDRESS
) -> None:
    """Replace a staff member's password after checking the current one."""
    user = session.get(StaffUser, user_id)
    if user is None:
        raise AccountError("no such login")
    now = utcnow()
    throttle = _throttle(session, user, address)
    if throttle.locked_until is not None and throttle.locked_until > now:
        raise AccountError("this login is locked; try again later")
    if not _check_counted(session, throttle, user.password_hash, current, now):
        # Counted like failed sign-ins, so a borrowed session cannot guess the password.
        raise AccountError("the current password is wrong")
    if len(new) < MIN_PASSWORD_CHARS:
        raise AccountError(f"password: at least {MIN_PASSWORD_CHARS} characters")
    if new == current:
        raise AccountError("the new password must differ from the current one")
    session.delete(throttle)
    user.password_hash = _hasher.hash(new)
