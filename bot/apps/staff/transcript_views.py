"""Transcripts for staff, read from Rasa's tracker store through Rasa's own API (never logs)."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone

from flask import current_app

from bot.settings import REPO_ROOT, get_settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Turn:
    """One message in a transcript: who said it, when, and the buttons around it."""

    speaker: str  # "user" or "bot"
    text: str
    at: datetime | None
    message_id: str | None = None
    intent: str | None = None
    # Buttons the bot offered with this message: (title, payload).
    buttons: list[tuple[str, str]] = field(default_factory=list)
    # For a user message that was a button click: the clicked button's title.
    clicked: str | None = None
    flagged: bool = False


def tracker_store() -> object:
    """The app's tracker store (configured instance, or Rasa's SQL store on the settings' URL)."""
    store = current_app.config.get("TRACKER_STORE")
    if store is None:
        store = current_app.extensions.get("iop_tracker_store")
    if store is None:
        from bot.rasa.tracker_store import SettingsSQLTrackerStore

        _check_reachable(get_settings().tracker_database_url)
        store = SettingsSQLTrackerStore(domain=_domain())
        current_app.extensions["iop_tracker_store"] = store
    return store


def _check_reachable(url: str) -> None:
    """Raise if a server database does not answer: Rasa's store would retry forever instead."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from bot.db.engine import normalise_url

    url = normalise_url(url)
    if url.startswith("sqlite"):
        return  # a local file: nothing to wait for
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    finally:
        engine.dispose()


def _domain() -> object:
    # Imported here: Rasa is heavy and only transcript pages need it. The bot's own domain, so
    # Rasa knows the slots it replays (without it, it logs an error for every slot event).
    from rasa.shared.core.domain import Domain

    try:
        # Rasa's domain warnings are for whoever edits the domain, checked by `rasa data validate`.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Domain.load(str(REPO_ROOT / "domain.yml"))
    except Exception:  # noqa: BLE001 - transcripts need only the events, not the slots
        logger.warning("domain.yml could not be loaded; reading transcripts without its slots")
        return Domain.empty()


def run_coroutine(coroutine: Coroutine) -> object:
    """Run one of Rasa's async tracker store calls to completion from synchronous code."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    # Called where a loop already runs (e.g. beside playwright): a fresh loop in a worker thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def read_events(store: object, conversation_id: str) -> list[dict] | None:
    """Every event of a conversation (all sessions) as Rasa's dicts, or None if there is none."""
    tracker = run_coroutine(store.retrieve_full_tracker(conversation_id))  # type: ignore[attr-defined]
    if tracker is None:
        return None
    return [event.as_dict() for event in tracker.events]


def _when(timestamp: object) -> datetime | None:
    if not isinstance(timestamp, int | float):
        return None
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


def _buttons(data: object) -> list[tuple[str, str]]:
    if not isinstance(data, dict):
        return []
    found = []
    for button in data.get("buttons") or []:
        if isinstance(button, dict):
            found.append((str(button.get("title", "")), str(button.get("payload", ""))))
    return found


def turns(events: list[dict], flagged_message_id: str | None = None) -> list[Turn]:
    """User and bot messages in order, with offered buttons, clicks and the flagged message."""
    result: list[Turn] = []
    offered: list[tuple[str, str]] = []
    for event in events:
        kind = event.get("event")
        if kind == "bot":
            offered = _buttons(event.get("data"))
            result.append(
                Turn("bot", event.get("text") or "", _when(event.get("timestamp")), buttons=offered)
            )
        elif kind == "user":
            text = event.get("text") or ""
            # A button click arrives as the button's payload: show which button it was.
            clicked = next((title for title, payload in offered if payload == text), None)
            message_id = event.get("message_id")
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            result.append(
                Turn(
                    "user",
                    text,
                    _when(event.get("timestamp")),
                    message_id=message_id,
                    intent=intent,
                    clicked=clicked,
                    flagged=bool(flagged_message_id) and message_id == flagged_message_id,
                )
            )
            offered = []
    return result
