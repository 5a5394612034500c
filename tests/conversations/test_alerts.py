"""A crisis typed into the chat reaches staff: one webhook POST and one e-mail within 60 s,
holding none of the message's words (the session stack runs the worker; tests/conftest.py)."""

from __future__ import annotations

import json
import re
import time

from sqlalchemy import select

from bot.db import get_sessionmaker
from bot.db.models import Flag
from tests.conftest import Chat
from tests.receivers import SmtpServer, WebhookReceiver

MESSAGE = "I swallowed all of Dana's oxycodone pills and wrote goodbye letters tonight"


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z']{3,}", text)}


def test_crisis_message_alerts_staff_once_without_its_words(
    chat: Chat,
    stack_database_url: str,
    alert_receiver: WebhookReceiver,
    alert_smtp: SmtpServer,
) -> None:
    started = time.monotonic()
    replies = " ".join(r.get("text", "") for r in chat.say(MESSAGE))
    assert "988" in replies
    with get_sessionmaker(stack_database_url)() as session:
        flag = session.execute(
            select(Flag).where(Flag.conversation_id == chat.sender, Flag.kind == "crisis")
        ).scalar_one()
        flag_id, flag_time = flag.id, flag.created_at

    posts = alert_receiver.wait_for(lambda r: r.json.get("flag_id") == flag_id, timeout=60)
    assert posts, "no webhook alert within 60 s"
    mails = alert_smtp.wait_for(lambda m: f"#{flag_id} " in m["Subject"], timeout=60)
    assert mails, "no e-mail alert within 60 s"
    assert time.monotonic() - started < 60
    time.sleep(3)  # a duplicate would arrive in the next worker passes
    posts = [r for r in alert_receiver.received if r.json.get("flag_id") == flag_id]
    mails = [m for m in alert_smtp.messages if f"#{flag_id} " in m["Subject"]]
    assert len(posts) == 1 and len(mails) == 1
    assert posts[0].json["kind"] == "crisis" and posts[0].json["severity"] == "urgent"
    assert posts[0].json["created_at"] == flag_time.isoformat()
    words = _words(MESSAGE) - {"the", "and", "all"}
    leaked = words & (_words(json.dumps(posts[0].json)) | _words(mails[0].as_string()))
    assert not leaked, f"alert holds words of the message: {sorted(leaked)}"
    assert chat.sender not in json.dumps(posts[0].json) + mails[0].as_string()
