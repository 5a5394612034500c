"""Staff logins page (admins): create, turn off / on, unlock; clinicians cannot reach it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.db import get_sessionmaker
from bot.db.models import AuditEntry, LoginThrottle, StaffUser, utcnow
from tests.apps.staff.conftest import PASSWORD, make_staff, sign_in


def user(db_url: str, username: str) -> StaffUser | None:
    """A staff login as stored now."""
    with get_sessionmaker(db_url)() as session:
        return session.execute(
            select(StaffUser).where(StaffUser.username == username)
        ).scalar_one_or_none()


def test_admin_creates_a_login_that_can_sign_in(app, admin, db_url: str) -> None:
    response = admin.post(
        "/staff/", data={"username": "Robin", "password": PASSWORD, "role": "clinician"}
    )
    assert response.status_code == 303
    assert user(db_url, "robin").role == "clinician"
    sign_in(app.test_client(), "robin")
    assert b"robin" in admin.get("/staff/").data
    refused = admin.post("/staff/", data={"username": "sam", "password": "short", "role": "admin"})
    assert refused.status_code == 400 and b"at least 12 characters" in refused.data
    assert user(db_url, "sam") is None
    with get_sessionmaker(db_url)() as session:
        actions = session.execute(select(AuditEntry.action, AuditEntry.object_type)).all()
    assert ("create", "staff_user") in actions


def test_turning_a_login_off_ends_its_session_at_once(app, admin, db_url: str) -> None:
    make_staff(db_url, "casey", "clinician")
    casey = app.test_client()
    sign_in(casey, "casey")
    casey_id = user(db_url, "casey").id
    assert admin.post(f"/staff/{casey_id}/active", data={"active": "0"}).status_code == 303
    assert user(db_url, "casey").active is False
    assert casey.get("/").status_code == 302  # the open session no longer works
    refused = app.test_client().post("/login", data={"username": "casey", "password": PASSWORD})
    assert refused.status_code == 401
    assert admin.post(f"/staff/{casey_id}/active", data={"active": "1"}).status_code == 303
    sign_in(app.test_client(), "casey")


def test_admins_cannot_turn_themselves_off(admin, db_url: str) -> None:
    own_id = user(db_url, "ada").id
    response = admin.post(f"/staff/{own_id}/active", data={"active": "0"})
    assert response.status_code == 400 and user(db_url, "ada").active is True
    assert admin.post("/staff/999/active", data={"active": "0"}).status_code == 404


def test_unlock_lifts_a_lockout(app, admin, db_url: str) -> None:
    make_staff(db_url, "casey", "clinician")
    casey_id = user(db_url, "casey").id
    with get_sessionmaker(db_url)() as session, session.begin():
        for address in ("127.0.0.1", "203.0.113.9"):
            session.add(
                LoginThrottle(
                    staff_user_id=casey_id,
                    address=address,
                    failed_logins=5,
                    locked_until=utcnow() + timedelta(minutes=10),
                )
            )
    page = admin.get("/staff/").data.decode()
    assert "locked from some address until" in page and "Unlock</button>" in page
    assert admin.post(f"/staff/{casey_id}/unlock").status_code == 303
    with get_sessionmaker(db_url)() as session:
        assert session.execute(select(LoginThrottle)).scalars().all() == []
    sign_in(app.test_client(), "casey")
    assert admin.post("/staff/999/unlock").status_code == 404


def test_staff_change_their_own_password(app, clinician, db_url: str) -> None:
    new = "a much longer new passphrase"
    assert clinician.get("/staff/password").status_code == 200
    wrong = clinician.post(
        "/staff/password",
        data={"current_password": "nope", "new_password": new, "new_password_again": new},
    )
    assert wrong.status_code == 400 and b"current password is wrong" in wrong.data
    differ = clinician.post(
        "/staff/password",
        data={"current_password": PASSWORD, "new_password": new, "new_password_again": new + "x"},
    )
    assert differ.status_code == 400
    sign_in(app.test_client(), "casey")  # nothing changed yet
    done = clinician.post(
        "/staff/password",
        data={"current_password": PASSWORD, "new_password": new, "new_password_again": new},
    )
    assert done.status_code == 303
    old = app.test_client().post("/login", data={"username": "casey", "password": PASSWORD})
    assert old.status_code == 401
    sign_in(app.test_client(), "casey", new)


def test_guessing_the_current_password_locks_the_login(app, clinician, db_url: str) -> None:
    new = "a much longer new passphrase"
    guess = {"current_password": "guess", "new_password": new, "new_password_again": new}
    for _ in range(5):
        assert clinician.post("/staff/password", data=guess).status_code == 400
    with get_sessionmaker(db_url)() as session:
        assert session.execute(select(LoginThrottle.locked_until)).scalar_one() is not None
    right = {"current_password": PASSWORD, "new_password": new, "new_password_again": new}
    assert b"locked" in clinician.post("/staff/password", data=right).data
    refused = app.test_client().post("/login", data={"username": "casey", "password": PASSWORD})
    assert refused.status_code == 401 and b"locked" in refused.data


def test_a_new_password_ends_the_other_sessions_of_that_login(app, clinician, db_url) -> None:
    elsewhere = app.test_client()
    sign_in(elsewhere, "casey")  # e.g. a session left open on a shared computer
    assert elsewhere.get("/").status_code == 200
    new = "a much longer new passphrase"
    done = clinician.post(
        "/staff/password",
        data={"current_password": PASSWORD, "new_password": new, "new_password_again": new},
    )
    assert done.status_code == 303
    assert clinician.get("/").status_code == 200  # the one that changed it carries on
    response = elsewhere.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_session_without_the_password_key_is_not_signed_in(app, clinician) -> None:
    with clinician.session_transaction() as session:
        session["_user_id"] = session["_user_id"].partition(":")[0]  # only the user id
    assert clinician.get("/").status_code == 302
