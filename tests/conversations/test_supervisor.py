"""A dead server is restarted and the others keep serving (bot/ops/stack.py `supervise`), and while
the action server is away a visitor gets a calm reply, never silence (bot/rasa/channels.py).

Runs on the session's stack: the action server is killed for real and brought back before the
test ends, so the tests after it find the stack as it was.
"""

from __future__ import annotations

import os
import signal
import time

import requests

from tests.conftest import Chat


def test_with_the_action_server_down_a_visitor_is_answered_and_it_comes_back(stack) -> None:
    actions, rasa = stack.service("action server"), stack.service("rasa server")
    others = {s.name: s.process.pid for s in stack.services if s is not actions}
    os.killpg(actions.process.pid, signal.SIGKILL)
    actions.process.wait(timeout=10)
    try:
        chat = Chat(stack)
        for message in ("hi", "I'd like to take the screening", "what is iop?"):
            replies = chat.texts(message)
            assert replies and all(text.strip() for text in replies), message
        # the check-in needs the action server at once: the calm reply stands in for it
        calm = " ".join(Chat(stack).texts("/start_checkin"))
        assert "try again in a moment" in calm and "988" in calm
    finally:
        deadline = time.monotonic() + 120
        done: list[str] = []
        while time.monotonic() < deadline:
            done += stack.supervise()
            try:
                if requests.get(f"{stack.action_url}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
    assert done[0].startswith("action server stopped (exit code -9); restarting in 1 s")
    assert done[1] == "action server restarted (1 so far)"
    # the others were never touched
    assert {s.name: s.process.pid for s in stack.services if s is not actions} == others
    assert rasa.running()
    # and with the action server back, what needs it works again
    back = " ".join(Chat(stack).texts("/start_checkin"))
    assert back and "try again in a moment" not in back
