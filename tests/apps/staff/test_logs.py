"""No message text, tokens, passwords or contact details reach the logs (SPEC §5)."""

from __future__ import annotations

import logging
import re

import pytest

from tests.apps.staff.conftest import (
    PASSWORD,
    add_assessment,
    add_flag,
    add_participant,
    make_staff,
    make_token,
)
from tests.apps.staff.conversations import CRISIS_TEXT, seed_crisis_conversation


def test_staff_work_logs_no_private_text(app, db_url: str, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    make_staff(db_url, "casey", "admin")
    token = make_token(db_url, "tool", "clinician")
    message_id = seed_crisis_conversation("visitor-logs")
    flag_id = add_flag(db_url, conversation_id="visitor-logs", message_id=message_id)
    assessment_id = add_assessment(
        db_url, contact={"name": "Jordan", "phone": "5550107788", "email": "jordan@example.org"}
    )
    participant_id, participant_token = add_participant(db_url)
    client = app.test_client()
    client.post("/login", data={"username": "casey", "password": "wrong password here"})
    client.post("/login", data={"username": "casey", "password": PASSWORD})
    client.get(f"/flags/{flag_id}")
    client.get(f"/assessments/{assessment_id}")
    client.post(f"/flags/{flag_id}/resolve", data={"note": "Called Jordan at 5550107788"})
    enrolled = client.post("/participants/", data={"name": "Kim"}).data
    new_token = re.search(rb"token=([\w-]+)", enrolled).group(1).decode()
    client.get("/api/flags", headers={"Authorization": f"Bearer {token}"})
    client.get(f"/participants/{participant_id}")
    logged = caplog.text
    assert "Recreating tracker from sender id 'visitor-logs'" in logged  # Rasa's debug log is on
    for secret in (
        CRISIS_TEXT,
        "alive anymore",
        PASSWORD,
        "wrong password here",
        "5550107788",
        "jordan@example.org",
        token,
        participant_token,
        new_token,
    ):
        assert secret not in logged


class _StoreQuotingAMessage:
    """A tracker store whose error quotes the conversation, as a database error can."""

    async def retrieve_full_tracker(self, conversation_id: str) -> None:
        raise ValueError(f"bad event {{'text': '{CRISIS_TEXT}'}}")


def test_errors_are_logged_without_their_messages(db_url: str, caplog) -> None:
    from tests.apps.staff.conftest import make_app, sign_in

    caplog.set_level(logging.DEBUG)
    app = make_app(
        db_url, TRACKER_STORE=_StoreQuotingAMessage(), TESTING=False, PROPAGATE_EXCEPTIONS=False
    )

    phone = "555" + "0107788"  # built, so the stack's source lines do not hold it

    @app.get("/fails")
    def fails() -> str:
        raise RuntimeError(f"INSERT failed [parameters: ('Called Jordan at {phone}',)]")

    make_staff(db_url, "casey", "clinician")
    client = app.test_client()
    sign_in(client, "casey")
    flag_id = add_flag(db_url)
    assert client.get(f"/flags/{flag_id}").status_code == 200
    assert client.get("/fails").status_code == 500
    logged = caplog.text
    assert "ValueError" in logged and "RuntimeError" in logged and "def fails" not in logged
    assert "fails" in logged  # where it happened: the stack is kept
    assert CRISIS_TEXT not in logged and phone not in logged
