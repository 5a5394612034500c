"""The staff JSON API (SPEC §4): bearer tokens, exact fields, roles, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from bot.db import get_sessionmaker
from bot.db.models import ApiToken, AuditEntry, utcnow
from bot.db.staff_accounts import revoke_api_token
from tests.apps.staff.conftest import (
    add_assessment,
    add_checkins,
    add_flag,
    add_participant,
    make_token,
)

ROUTES = ("/api/flags?status=open", "/api/assessments", "/api/participants/1/checkins")


@pytest.fixture
def db_url(database_url: str) -> str:
    """These tests run on SQLite and on PostgreSQL."""
    return database_url


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for a bearer token."""
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("url", [*ROUTES, "/api/audit"])
@pytest.mark.parametrize(
    "header", [None, "Bearer", "Bearer not-a-real-token-at-all-xxxx", "Basic abc", "token"]
)
def test_401_without_a_valid_token(app: Flask, url: str, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = app.test_client().get(url, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json == {"error": response.json["error"]}


def test_a_revoked_token_is_refused(app: Flask, db_url: str) -> None:
    token = make_token(db_url, "intake sheet", "clinician")
    client = app.test_client()
    assert client.get("/api/assessments", headers=bearer(token)).status_code == 200
    with get_sessionmaker(db_url)() as session, session.begin():
        revoke_api_token(session, session.execute(select(ApiToken.id)).scalar_one())
    assert client.get("/api/assessments", headers=bearer(token)).status_code == 401


@pytest.mark.parametrize("url", [*ROUTES, "/api/audit"])
def test_a_channel_token_reads_no_records(app: Flask, db_url: str, url: str) -> None:
    token = make_token(db_url, "sms gateway", "channel")
    assert app.test_client().get(url, headers=bearer(token)).status_code == 401


def test_a_signed_in_browser_session_is_not_an_api_credential(clinician) -> None:
    assert clinician.get("/api/assessments").status_code == 401


def test_flags_have_the_spec_fields_most_urgent_first(app: Flask, db_url: str) -> None:
    participant_id, _ = add_participant(db_url)
    now = utcnow()
    normal = add_flag(db_url, "human_request", "normal", "v1", "Asked", now - timedelta(hours=3))
    urgent = add_flag(db_url, "crisis", "urgent", "v2", "Crisis", now - timedelta(minutes=1))
    lapse = add_flag(
        db_url, "lapse", "high", "p1", "Used", now - timedelta(hours=1), participant_id=1
    )
    resolved = add_flag(db_url, "crisis", "urgent", "v3", "Old", now - timedelta(days=1))
    with get_sessionmaker(db_url)() as session, session.begin():
        from bot.db.models import Flag

        session.get(Flag, resolved).status = "resolved"
    token = make_token(db_url, "dashboard", "clinician")
    response = app.test_client().get("/api/flags?status=open", headers=bearer(token))
    assert response.status_code == 200
    body = response.json
    assert [f["id"] for f in body] == [urgent, lapse, normal]
    assert set(body[0]) == {
        "id",
        "kind",
        "severity",
        "status",
        "conversation_id",
        "participant_id",
        "reason",
        "created_at",
    }
    assert body[1] == {
        "id": lapse,
        "kind": "lapse",
        "severity": "high",
        "status": "open",
        "conversation_id": "p1",
        "participant_id": participant_id,
        "reason": "Used",
        "created_at": body[1]["created_at"],
    }
    assert body[1]["created_at"].endswith("+00:00")
    all_flags = app.test_client().get("/api/flags", headers=bearer(token)).json
    assert len(all_flags) == 4
    assert app.test_client().get("/api/flags?status=x", headers=bearer(token)).status_code == 400


def test_assessments_have_the_spec_fields(app: Flask, db_url: str) -> None:
    assessment_id = add_assessment(db_url, "IOP-API001", "higher_level_of_care")
    token = make_token(db_url, "crm", "admin")
    body = app.test_client().get("/api/assessments", headers=bearer(token)).json
    assert body == [
        {
            "id": assessment_id,
            "conversation_id": "conv-IOP-API001",
            "reference": "IOP-API001",
            "recommendation": "higher_level_of_care",
            "answers": {
                "age": 34,
                "concern": "both",
                "substances": ["alcohol", "cannabis"],
                "preferred_time": "evening",
                "attend_format": "virtual",
            },
            "created_at": body[0]["created_at"],
        }
    ]


def test_checkins_have_the_spec_fields_and_only_that_participant(app: Flask, db_url: str) -> None:
    alex, _ = add_participant(db_url, "Alex")
    robin, _ = add_participant(db_url, "Robin")
    add_checkins(db_url, alex, 3)
    add_checkins(db_url, robin, 2)
    token = make_token(db_url, "charts", "clinician")
    client = app.test_client()
    body = client.get(f"/api/participants/{alex}/checkins", headers=bearer(token)).json
    assert len(body) == 3
    assert set(body[0]) == {
        "id",
        "created_at",
        "mood",
        "craving",
        "triggers",
        "used_since_last",
        "coping",
        "note",
    }
    assert [(c["mood"], c["craving"], c["triggers"], c["note"]) for c in body] == [
        (1, 0, ["stress"], "day 0"),
        (2, 3, ["conflict", "places"], "day 1"),
        (3, 6, [], "day 2"),
    ]
    assert len(client.get(f"/api/participants/{robin}/checkins", headers=bearer(token)).json) == 2
    assert client.get("/api/participants/999/checkins", headers=bearer(token)).status_code == 404


def test_audit_route_needs_an_admin_token(app: Flask, db_url: str) -> None:
    clinician = make_token(db_url, "clinician tool", "clinician")
    admin = make_token(db_url, "admin tool", "admin")
    client = app.test_client()
    response = client.get("/api/audit", headers=bearer(clinician))
    assert response.status_code == 403
    client.get("/api/assessments", headers=bearer(clinician))
    entries = client.get("/api/audit", headers=bearer(admin)).json
    assert entries[0]["actor"] == "api:clinician tool#1"
    assert entries[0]["action"] == "api_list" and entries[0]["object_type"] == "assessment"


def test_every_api_read_is_audited_under_the_token(app: Flask, db_url: str) -> None:
    participant_id, _ = add_participant(db_url)
    token = make_token(db_url, "reporting", "clinician")
    client = app.test_client()
    for url in ROUTES:
        assert client.get(url, headers=bearer(token)).status_code == 200
    with get_sessionmaker(db_url)() as session:
        rows = session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
        assert [(r.actor, r.action, r.object_type, r.object_id) for r in rows] == [
            ("api:reporting#1", "api_list", "flag", None),
            ("api:reporting#1", "api_list", "assessment", None),
            ("api:reporting#1", "api_view", "participant", str(participant_id)),
        ]


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("get", "/api/unknown", 404),
        ("get", "/api", 404),
        ("post", "/api/flags", 405),
        ("delete", "/api/assessments", 405),
    ],
)
def test_errors_under_api_are_json_not_html(
    app: Flask, db_url: str, method: str, url: str, status: int
) -> None:
    token = make_token(db_url, "route prober", "clinician")
    client = app.test_client()
    response = getattr(client, method)(url, headers=bearer(token))
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert set(response.json) == {"error"}
    assert "<" not in response.get_data(as_text=True)
    if status == 405:
        assert "GET" in response.headers["Allow"]
    # without a valid token, no route is confirmed or denied: the same 401 as a real route
    for headers in ({}, bearer("not-a-real-token-at-all-xxxx")):
        refused = getattr(client, method)(url, headers=headers)
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
