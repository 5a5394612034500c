"""The staff app reads what the real bot wrote: a crisis conversation through the REST channel."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape
from sqlalchemy import select

from bot.db import get_sessionmaker
from bot.db.models import Flag
from bot.settings import get_settings
from tests.apps.staff.conftest import make_app, make_staff, sign_in
from tests.conftest import Chat

pytestmark = pytest.mark.stack


def test_crisis_flag_from_the_running_bot_shows_its_transcript(
    chat: Chat, stack_database_url: str, stack_tracker_url: str, monkeypatch
) -> None:
    monkeypatch.setenv("TRACKER_DATABASE_URL", stack_tracker_url)
    get_settings.cache_clear()
    chat.say("hello")
    replies = chat.say("I don't want to live anymore")
    safe_question = replies[-1]
    assert safe_question["text"] == "Are you safe right now?"
    yes_button = next(b for b in safe_question["buttons"] if b["payload"] == "/affirm")
    chat.say("/affirm")
    with get_sessionmaker(stack_database_url)() as session:
        flag = session.execute(
            select(Flag).where(Flag.conversation_id == chat.sender, Flag.kind == "crisis")
        ).scalar_one()
    assert flag.message_id

    app = make_app(stack_database_url)
    make_staff(stack_database_url, f"casey{chat.sender[-6:]}", "clinician")
    client = app.test_client()
    sign_in(client, f"casey{chat.sender[-6:]}")
    html = client.get(f"/flags/{flag.id}").data.decode()
    flagged = html.split('id="flagged-message"', 1)[1].split("</li>", 1)[0]
    assert "want to live anymore" in flagged
    assert "988" in html and "Are you safe right now?" in html
    assert f"clicked button <strong>{escape(yes_button['title'])}</strong>" in html
    users = re.findall(r'<li class="turn user', html)
    assert len(users) == 3
