"""What a message answers once the bot has asked the direct safety question (bot/policies.py).

Pure functions over a conversation's events as dicts (rasa_sdk's `tracker.events`, or Rasa's own
events through `as_dict()`), shared by the policy and the actions, so both read a reply the same
way. The safety question often follows another question in the same reply (a check-in's "Have
you used since your last check-in?"), so a reply can answer either:
- a button of the safety question, or a bare yes or no, answers the safety question (a typed
  "yes" or "no" after two questions answers the last one; for a yes it is also the safe reading);
- a button of the earlier question that is neither ("Yes, alcohol", "Stress") answers the
  earlier question.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SAFETY_CHECK_ACTION = "utter_safety_check"

Event = Mapping[str, Any]
# Typed after two questions, these answer the last one: the safety question.
BARE_YES_NO = frozenset({"yes", "no", "y", "n", "yeah", "yep", "yup", "nope", "nah"})


def _turns(events: Sequence[Event]) -> list[int]:
    return [i for i, event in enumerate(events) if event.get("event") == "user"]


def _reply_before(events: Sequence[Event], user_index: int) -> Sequence[Event]:
    """The bot's reply that the user message at `user_index` follows."""
    earlier = [i for i in _turns(events) if i < user_index]
    return events[earlier[-1] + 1 if earlier else 0 : user_index]


def _actions(reply: Sequence[Event]) -> list[str]:
    return [
        str(e.get("name"))
        for e in reply
        if e.get("event") == "action" and e.get("name") not in (None, "action_listen")
    ]


def _buttons(reply: Sequence[Event]) -> set[str]:
    return {
        str(button.get(key, "")).strip().casefold()
        for event in reply
        if event.get("event") == "bot"
        for button in (event.get("data") or {}).get("buttons") or []
        for key in ("title", "payload")
    }


def _asked_before(events: Sequence[Event], user_index: int) -> bool:
    return _actions(_reply_before(events, user_index))[-1:] == [SAFETY_CHECK_ACTION]


def asked_just_before(events: Sequence[Event]) -> bool:
    """The bot's last question before the latest user message was the safety question."""
    turns = _turns(events)
    return bool(turns) and _asked_before(events, turns[-1])


def asked_again_just_before(events: Sequence[Event]) -> bool:
    """The safety question was just asked a second time (the message before answered it too)."""
    turns = _turns(events)
    return len(turns) >= 2 and _asked_before(events, turns[-1]) and _asked_before(events, turns[-2])


def picks_offered_button(events: Sequence[Event]) -> bool:
    """The latest message is the title or payload of a button in the bot's reply before it."""
    turns = _turns(events)
    if not turns:
        return False
    said = str(events[turns[-1]].get("text") or "").strip().casefold()
    return said in _buttons(_reply_before(events, turns[-1]))


def picks_earlier_button(events: Sequence[Event]) -> bool:
    """The latest message is a button of a question asked before the safety question in the same
    reply, and not one of the safety question's own buttons."""
    turns = _turns(events)
    if not turns:
        return False
    reply = list(_reply_before(events, turns[-1]))
    names = [e.get("name") if e.get("event") == "action" else None for e in reply]
    if SAFETY_CHECK_ACTION not in names:
        return False
    asked_at = len(names) - 1 - names[::-1].index(SAFETY_CHECK_ACTION)
    said = str(events[turns[-1]].get("text") or "").strip().casefold()
    if said.strip(" .!") in BARE_YES_NO or said in _buttons(reply[asked_at:]):
        return False
    return said in _buttons(reply[:asked_at])


def prompting_message(events: Sequence[Event]) -> Event | None:
    """The user message that made the bot ask, when the latest message follows the question: the
    one before the first asking (an unclear reply and the question asked again are skipped)."""
    turns = _turns(events)
    if not asked_just_before(events):
        return None
    position = len(turns) - 1
    while position > 0 and _asked_before(events, turns[position - 1]):
        position -= 1
    return events[turns[position - 1]] if position > 0 else None
