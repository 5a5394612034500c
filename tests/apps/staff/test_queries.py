"""The queries the staff app uses (bot/db/: flags, assessments, audit, participants), on SQLite and
PostgreSQL, with the staff tests' fixtures."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.db import get_sessionmaker
from bot.db.assessments import list_assessments, set_lead_status
from bot.db.audit import list_audit, record_audit
from bot.db.flags import acknowledge_flag, flag_queue, resolve_flag, severity_counts
from bot.db.models import utcnow
from bot.db.participants import new_participant_link, participant_summaries, resolve_token
from bot.db.rows import ChangeRefused
from tests.apps.staff.conftest import add_assessment, add_checkins, add_flag, add_participant


def test_flag_queue_counts_and_changes(database_url: str) -> None:
    now = utcnow()
    normal = add_flag(database_url, "human_request", "normal", "a", "x", now - timedelta(hours=2))
    urgent = add_flag(database_url, "crisis", "urgent", "b", "y", now)
    high = add_flag(database_url, "lapse", "high", "c", "z", now - timedelta(hours=1))
    with get_sessionmaker(database_url)() as session, session.begin():
        assert [f.id for f in flag_queue(session)] == [urgent, high, normal]
        assert [f.id for f in flag_queue(session, kind="lapse")] == [high]
        acknowledge_flag(session, urgent, "casey")
        with pytest.raises(ChangeRefused):
            acknowledge_flag(session, urgent, "casey")
        resolve_flag(session, high, "ada", "spoke with them")
        with pytest.raises(ChangeRefused):
            resolve_flag(session, normal, "ada", " ")
        assert acknowledge_flag(session, 999, "x") is None
    with get_sessionmaker(database_url)() as session, session.begin():
        assert severity_counts(session) == {"urgent": 1, "high": 0, "normal": 1}
        assert [f.id for f in flag_queue(session, ("resolved",))] == [high]
        resolved = flag_queue(session, ("resolved",))[0]
        assert (resolved.resolved_by, resolved.acknowledged_by) == ("ada", "ada")


def test_participant_summaries(database_url: str) -> None:
    alex, _ = add_participant(database_url, "Alex")
    robin, _ = add_participant(database_url, "Robin")
    add_checkins(database_url, alex, 9)
    add_checkins(database_url, robin, 2, start=utcnow() - timedelta(days=30))
    with get_sessionmaker(database_url)() as session:
        summaries = {s.participant.display_name: s for s in participant_summaries(session)}
    assert (summaries["Alex"].checkins_7d, summaries["Alex"].latest_craving) == (7, (8 * 3) % 11)
    assert (summaries["Robin"].checkins_7d, summaries["Robin"].latest_craving) == (0, 3)
    assert summaries["Robin"].last_checkin_at < utcnow() - timedelta(days=28)


def test_new_link_replaces_the_token(database_url: str) -> None:
    participant_id, old = add_participant(database_url)
    with get_sessionmaker(database_url)() as session, session.begin():
        enrollment = new_participant_link(session, participant_id)
        assert new_participant_link(session, 999) is None
    with get_sessionmaker(database_url)() as session:
        assert resolve_token(session, old) is None
        assert resolve_token(session, enrollment.token).id == participant_id


def test_lead_status_and_audit(database_url: str) -> None:
    assessment_id = add_assessment(database_url)
    with get_sessionmaker(database_url)() as session, session.begin():
        with pytest.raises(ChangeRefused):
            set_lead_status(session, assessment_id, "enrolled")
        set_lead_status(session, assessment_id, "closed")
        record_audit(session, "staff:ada", "status", "assessment", assessment_id, {"status": "x"})
    with get_sessionmaker(database_url)() as session:
        assert [a.status for a in list_assessments(session, "closed")] == ["closed"]
        assert [(e.actor, e.object_id) for e in list_audit(session)] == [
            ("staff:ada", str(assessment_id))
        ]
