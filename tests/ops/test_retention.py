"""Retention purge on a real tracker store and database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import select

from bot.db import get_sessionmaker
from bot.db.assessments import save_assessment
from bot.db.flags import open_flag
from bot.db.migrate import upgrade
from bot.db.models import Assessment, Flag
from bot.ops.cli import main
from bot.ops.retention import purge
from bot.rasa.tracker_store import SettingsSQLTrackerStore
from bot.settings import get_settings
from tests.conftest import run_async

DAY = 86400


@pytest.fixture
def urls(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    upgrade(database_url)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TRACKER_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()


def conversation(store, sender: str, days_ago: float, metadata: dict | None = None) -> None:
    stamp = time.time() - days_ago * DAY
    tracker = DialogueStateTracker.from_events(
        sender,
        [
            ActionExecuted("action_listen", timestamp=stamp),
            UserUttered("hello", {"name": "greet"}, metadata=metadata, timestamp=stamp),
        ],
    )
    run_async(store.save(tracker))


def assessment(session, sender: str, days_ago: int) -> None:
    row, _ = save_assessment(
        session,
        conversation_id=sender,
        dedup_key=f"{sender}:k",
        reference=f"IOP-{sender[-6:].upper()}",
        recommendation="iop",
        flag_severity="normal",
        answers={"age": 30},
        phq2=1,
        gad2=1,
    )
    row.created_at = datetime.now(timezone.utc) - timedelta(days=days_ago)


def test_purge_keeps_what_staff_still_need_and_participants(urls: str) -> None:
    store = SettingsSQLTrackerStore(domain=Domain.empty())
    conversation(store, "old-anon", 100)
    conversation(store, "new-anon", 5)
    conversation(store, "old-flagged", 100)
    conversation(store, "old-participant", 100, {"participant_token_hash": "a" * 64})
    with get_sessionmaker(urls)() as session, session.begin():
        assessment(session, "old-anon", 100)  # its follow-up flag is resolved below
        assessment(session, "new-anon", 5)
        open_flag(
            session,
            kind="crisis",
            severity="urgent",
            conversation_id="old-flagged",
            reason="r",
            dedup_key="c1",
        )
        for flag in session.execute(select(Flag).where(Flag.kind == "assessment_followup")):
            flag[0].status = "resolved"
    with get_sessionmaker(urls)() as session, session.begin():
        dry = purge(session, store, 90, dry_run=True)
        assert (dry.assessments, dry.conversations) == (1, 1)
        result = purge(session, store, 90)
    assert (result.assessments, result.conversations) == (1, 1)
    assert run_async(store.retrieve("old-anon")) is None
    for kept in ("new-anon", "old-flagged", "old-participant"):
        assert run_async(store.retrieve(kept)) is not None, kept
    with get_sessionmaker(urls)() as session:
        left = [a.conversation_id for a in session.execute(select(Assessment)).scalars()]
        assert left == ["new-anon"]
        # The resolved follow-up flag stays as a record of staff's work, without the answers.
        followups = session.execute(select(Flag).where(Flag.kind == "assessment_followup"))
        assert sorted(f[0].assessment_id is None for f in followups) == [False, True]


def test_purge_command(urls: str, capsys: pytest.CaptureFixture[str]) -> None:
    store = SettingsSQLTrackerStore(domain=Domain.empty())
    conversation(store, "ancient", 400)
    assert main(["purge", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {
        "days": 90,
        "dry_run": False,
        "assessments_deleted": 0,
        "conversations_deleted": 1,
    }
    assert main(["purge", "--days", "0"]) == 2
