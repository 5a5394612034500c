"""Rasa's conversations stored through our settings, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa.tracker_store import SettingsSQLTrackerStore
from bot.settings import get_settings
from tests.conftest import run_async


@pytest.fixture
def tracker_url(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("TRACKER_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()


def test_conversation_round_trip(tracker_url: str) -> None:
    store = SettingsSQLTrackerStore(domain=Domain.empty())
    tracker = DialogueStateTracker.from_events(
        "visitor-42",
        [
            ActionExecuted("action_listen"),
            UserUttered("what is iop?", {"name": "faq", "confidence": 0.99}, message_id="m1"),
            BotUttered("An intensive outpatient program is ..."),
        ],
    )
    run_async(store.save(tracker))
    again = run_async(SettingsSQLTrackerStore(domain=Domain.empty()).retrieve("visitor-42"))
    texts = [e.text for e in again.events if isinstance(e, UserUttered | BotUttered)]
    assert texts == ["what is iop?", "An intensive outpatient program is ..."]
    assert run_async(store.retrieve("someone-else")) is None
