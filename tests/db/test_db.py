"""The data layer on SQLite and on PostgreSQL: migrations, constraints, round trips."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, StatementError

from bot.db.assessments import save_assessment
from bot.db.engine import get_sessionmaker, normalise_url
from bot.db.flags import list_flags, open_flag
from bot.db.migrate import upgrade
from bot.db.models import Assessment, CheckIn, Flag, Participant

TABLES = [
    "alert_deliveries",
    "api_tokens",
    "assessments",
    "audit_log",
    "checkins",
    "flags",
    "login_throttles",
    "mail_links",
    "participants",
    "reminders",
    "staff_users",
    "worker_beats",
]


def now() -> datetime:
    return datetime.now(timezone.utc)


def add_participant(url: str, token_hash: str = "a" * 64) -> int:
    with get_sessionmaker(url)() as session, session.begin():
        participant = Participant(display_name="Sam", token_hash=token_hash)
        session.add(participant)
        session.flush()
        return participant.id


def checkin(participant_id: int, **changes: object) -> CheckIn:
    values = {
        "participant_id": participant_id,
        "conversation_id": "conv-1",
        "dedup_key": uuid.uuid4().hex,
        "mood": 3,
        "craving": 4,
        "triggers": ["stress", "places"],
        "used_since_last": False,
    }
    values.update(changes)
    return CheckIn(**values)


def test_migration_creates_every_table_and_is_idempotent(database_url: str) -> None:
    assert upgrade(database_url) == TABLES
    assert upgrade(database_url) == TABLES


def test_checkin_round_trip(database_url: str) -> None:
    pid = add_participant(database_url)
    with get_sessionmaker(database_url)() as session, session.begin():
        session.add(checkin(pid, note="tough day 🙂"))
    with get_sessionmaker(database_url)() as session:
        row = session.execute(select(CheckIn)).scalar_one()
        assert row.triggers == ["stress", "places"]
        assert row.note == "tough day 🙂"
        assert row.created_at.tzinfo is not None
        assert abs(row.created_at - now()) < timedelta(minutes=1)


@pytest.mark.parametrize(
    "changes",
    [{"craving": 11}, {"craving": -1}, {"mood": 0}, {"mood": 6}, {"participant_id": 999}],
)
def test_checkin_constraints(database_url: str, changes: dict) -> None:
    pid = add_participant(database_url)
    values = {"participant_id": pid, **changes}
    with (
        pytest.raises(IntegrityError),
        get_sessionmaker(database_url)() as session,
        session.begin(),
    ):
        session.add(checkin(**values))
    with get_sessionmaker(database_url)() as session:
        assert session.execute(select(CheckIn)).first() is None


def test_dedup_key_stores_a_checkin_once(database_url: str) -> None:
    pid = add_participant(database_url)
    factory = get_sessionmaker(database_url)
    with factory() as session, session.begin():
        session.add(checkin(pid, dedup_key="conv-1:form-1"))
    with pytest.raises(IntegrityError), factory() as session, session.begin():
        session.add(checkin(pid, dedup_key="conv-1:form-1"))
    with factory() as session:
        assert len(session.execute(select(CheckIn)).all()) == 1


def test_participant_token_hash_is_unique(database_url: str) -> None:
    add_participant(database_url, "b" * 64)
    with pytest.raises(IntegrityError):
        add_participant(database_url, "b" * 64)


@pytest.mark.parametrize(
    "changes", [{"kind": "gossip"}, {"severity": "meh"}, {"status": "lost"}, {"reason": None}]
)
def test_flag_constraints(database_url: str, changes: dict) -> None:
    values = {"kind": "crisis", "severity": "urgent", "conversation_id": "c", "reason": "r"}
    values.update(changes)
    with (
        pytest.raises(IntegrityError),
        get_sessionmaker(database_url)() as session,
        session.begin(),
    ):
        session.add(Flag(**values))


def test_assessment_answers_round_trip(database_url: str) -> None:
    answers = {"age": 34, "substances": ["alcohol"], "phq2": [1, 2], "note": "naïve 'quotes'"}
    with get_sessionmaker(database_url)() as session, session.begin():
        session.add(
            Assessment(
                reference="IOP-7KQ2",
                conversation_id="c",
                dedup_key="c:1",
                recommendation="iop",
                answers=answers,
                phq2=3,
                gad2=2,
            )
        )
    with get_sessionmaker(database_url)() as session:
        row = session.execute(select(Assessment)).scalar_one()
        assert row.answers == answers
        assert row.status == "new"
    with (
        pytest.raises(IntegrityError),
        get_sessionmaker(database_url)() as session,
        session.begin(),
    ):
        session.add(
            Assessment(
                reference="IOP-0000",
                conversation_id="c",
                dedup_key="c:2",
                recommendation="spa_weekend",
                answers={},
            )
        )


def test_naive_datetimes_are_refused(database_url: str) -> None:
    with (
        pytest.raises(StatementError),
        get_sessionmaker(database_url)() as session,
        session.begin(),
    ):
        session.add(Participant(display_name="x", token_hash="c" * 64, created_at=datetime.now()))


def test_postgres_url_spelling_is_accepted() -> None:
    assert normalise_url("postgres://u@h/db") == "postgresql://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_models_and_migrations_agree(database_url: str) -> None:
    """A model change without its migration fails here (alembic's autogenerate finds a diff)."""
    from alembic import command

    from bot.db.migrate import alembic_config

    command.check(alembic_config(database_url))


def test_open_flag_is_idempotent_per_dedup_key(database_url: str) -> None:
    factory = get_sessionmaker(database_url)
    for _ in range(2):
        with factory() as session, session.begin():
            flag = open_flag(
                session,
                kind="crisis",
                severity="urgent",
                conversation_id="c1",
                reason="crisis language",
                dedup_key="crisis:c1:m1",
                message_id="m1",
            )
    with factory() as session:
        flags = list_flags(session)
        assert [(f.id, f.kind, f.message_id, f.status) for f in flags] == [
            (flag.id, "crisis", "m1", "open")
        ]


def test_flags_are_listed_most_urgent_first(database_url: str) -> None:
    factory = get_sessionmaker(database_url)
    with factory() as session, session.begin():
        for i, (kind, severity) in enumerate(
            [("human_request", "normal"), ("lapse", "high"), ("crisis", "urgent")]
        ):
            open_flag(
                session,
                kind=kind,
                severity=severity,
                conversation_id=f"c{i}",
                reason="r",
                dedup_key=f"k{i}",
            )
    with factory() as session:
        assert [f.severity for f in list_flags(session, status="open")] == [
            "urgent",
            "high",
            "normal",
        ]
        assert list_flags(session, status="resolved") == []


def test_open_flag_refuses_unknown_kinds(database_url: str) -> None:
    with get_sessionmaker(database_url)() as session, pytest.raises(ValueError):
        open_flag(
            session,
            kind="gossip",
            severity="urgent",
            conversation_id="c",
            reason="r",
            dedup_key="k",
        )


def test_save_assessment_stores_one_row_and_one_flag_even_if_retried(database_url: str) -> None:
    factory = get_sessionmaker(database_url)
    for _ in range(2):
        with factory() as session, session.begin():
            assessment, flag = save_assessment(
                session,
                conversation_id="visitor-7",
                dedup_key="visitor-7:1",
                reference="IOP-ABC234",
                recommendation="emergency",
                flag_severity="urgent",
                answers={"age": 30, "consent": True},
                phq2=4,
                gad2=5,
                contact={"name": "Sam", "phone": "555-0100"},
            )
    with factory() as session:
        rows = session.execute(select(Assessment)).scalars().all()
        flags = list_flags(session)
        assert [(a.reference, a.recommendation, a.contact_phone) for a in rows] == [
            ("IOP-ABC234", "emergency", "555-0100")
        ]
        assert [(f.kind, f.severity, f.assessment_id) for f in flags] == [
            ("assessment_followup", "urgent", rows[0].id)
        ]
        assert "Sam" not in flags[0].reason and "555" not in flags[0].reason


def test_a_rolled_back_check_in_leaves_no_flag(database_url: str) -> None:
    """open_flag's savepoint nests in the caller's transaction on SQLite too (pysqlite once let
    the savepoint's RELEASE commit the flag on its own)."""
    pid = add_participant(database_url)
    with get_sessionmaker(database_url)() as session, session.begin():
        session.execute(select(CheckIn)).all()
        open_flag(
            session,
            kind="high_craving",
            severity="high",
            conversation_id="conv-1",
            reason="Craving 9/10",
            dedup_key="rolled-back",
            participant_id=pid,
        )
        session.add(checkin(pid))
        session.flush()
        session.rollback()
    with get_sessionmaker(database_url)() as session:
        assert session.execute(select(Flag)).all() == []
        assert session.execute(select(CheckIn)).all() == []


def test_init_db_creates_a_missing_postgresql_database_once(tmp_path) -> None:
    """`python -m bot init-db --create-database` (make run-production) on a fresh server."""
    import os

    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    from bot.db.migrate import create_database
    from tests.databases import PG_ADMIN_URL

    name = f"iop_create_{uuid.uuid4().hex[:8]}"
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    admin = create_engine(PG_ADMIN_URL, future=True, isolation_level="AUTOCOMMIT")
    try:
        admin.connect().close()
    except OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    try:
        assert create_database(url) is True
        assert create_database(url) is False
        assert "flags" in upgrade(url)
    finally:
        from bot.db.engine import get_engine

        get_engine(url).dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    assert create_database(f"sqlite:///{tmp_path / 'x.db'}") is False
