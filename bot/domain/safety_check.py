"""What a message answers once the bot has asked the direct safety question (bot/rasa/policies.py).

Pure functions over a conversation's events as dicts (rasa_sdk's `tracker.events`, or Rasa's own
events through `as_dict()`), shared by the policy and the actions, so both read a reply the same
way. The readings take the events that stand, `recent(events)`: a message the core fallback took
back does not count as the one that prompted the question.

The safety question often follows another question in the same reply (a check-in's "Have you
used since your last check-in?"), so a reply can answer either:
- a button of the safety question, or a bare yes or no, answers the safety question (a typed
  "yes" or "no" after two questions answers the last one; for a yes it is also the safe reading);
- a button of the earlier question that is neither ("Yes, alcohol", "Stress") answers the
  earlier question.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

SAFETY_CHECK_ACTION = "utter_safety_check"
REQUESTED_SLOT = "requested_slot"

Event = Mapping[str, Any]
T = TypeVar("T")
# How many of the latest user messages a reading needs: the latest one, the reply before it that
# was unclear, and the message that prompted the question (each with the bot's reply before it).
TURNS_READ = 3
# Events after which nothing earlier counts (Rasa's own tracker starts over at both).
STARTS_OVER = frozenset({"restart", "session_started"})
# Actions that say nothing to the person.
NOT_A_REPLY = frozenset({None, "action_listen", "action_session_start"})
# Questions about the person's safety whose answer the rules read (data/rules/safety.yml).
ASKED_ABOUT_SAFETY = frozenset({SAFETY_CHECK_ACTION, "utter_ask_safe_now"})
# The `policy` of the question a new session carries over: it was asked in the last session.
CARRIED_POLICY = "carried_over"
# The slot in which a new session keeps the message that prompted a question still unanswered
# when the last session expired (actions/session_actions.py): its id and the classifier's score.
CARRIED_SLOT = "safety_check_message"
# Typed after two questions, these answer the last one: the safety question.
BARE_YES_NO = frozenset({"yes", "no", "y", "n", "yeah", "yep", "yup", "nope", "nah"})


def _kind(event: Event) -> str | None:
    return event.get("event")


def start_of_recent(
    events: Sequence[T], turns: int = TURNS_READ, kind: Callable[[T], str | None] = _kind
) -> int:
    """Where the last `turns` user messages that stand (not rewound) begin, with the bot's reply
    before the first of them: the readings below need no more, and a long conversation is not
    read whole every turn. `kind` gives an event's type name (Rasa's events: `type_name`)."""
    rewound = standing = 0
    for index in range(len(events) - 1, -1, -1):
        name = kind(events[index])
        if name in STARTS_OVER:
            return index
        if name == "rewind":
            rewound += 1
        elif name == "user":
            if rewound:
                rewound -= 1
            else:
                standing += 1
                if standing > turns:
                    return index + 1
    return 0


def applied(events: Sequence[Event]) -> list[Event]:
    """The events that stand: a rewind (`UserUtteranceReverted`, after the core fallback) takes
    back the user's message and the listen before it, an undo (`ActionReverted`) the last
    action; a restart or a new session starts over (as Rasa's `applied_events`, without its
    folding of a form's repeated runs, which would drop the user's messages in between)."""
    done: list[Event] = []
    for event in events:
        name = _kind(event)
        if name in STARTS_OVER:
            done = []
        elif name == "undo":
            _undo_till(done, "action")
        elif name == "rewind":
            _undo_till(done, "user")
            _undo_till(done, "action")
        else:
            done.append(event)
    return done


def recent(events: Sequence[Event], turns: int = TURNS_READ) -> list[Event]:
    """The standing events of the last `turns` user messages (see `start_of_recent`)."""
    return applied(events[start_of_recent(events, turns) :])


def _undo_till(done: list[Event], name: str) -> None:
    while done:
        if _kind(done.pop()) == name:
            return


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
        if e.get("event") == "action" and e.get("name") not in NOT_A_REPLY
    ]


def _buttons(reply: Sequence[Event]) -> set[str]:
    return {
        str(button.get(key, "")).strip().casefold()
        for event in reply
        if event.get("event") == "bot"
        for button in (event.get("data") or {}).get("buttons") or []
        for key in ("title", "payload")
    }


def _asked_before(events: Sequence[Event], user_index: int, action: str) -> bool:
    return _actions(_reply_before(events, user_index))[-1:] == [action]


def asked_just_before(events: Sequence[Event], action: str = SAFETY_CHECK_ACTION) -> bool:
    """The bot's last question before the latest user message was the safety question (or
    `action`: "Are you safe right now?")."""
    return last_question(events) == action


def asked_again_just_before(events: Sequence[Event], action: str = SAFETY_CHECK_ACTION) -> bool:
    """The question was just asked a second time (the message before answered it too)."""
    turns = _turns(events)
    return (
        len(turns) >= 2
        and _asked_before(events, turns[-1], action)
        and _asked_before(events, turns[-2], action)
    )


def picks_offered_button(events: Sequence[Event]) -> bool:
    """The latest message is the title or payload of a button in the bot's reply before it."""
    turns = _turns(events)
    if not turns:
        return False
    said = str(events[turns[-1]].get("text") or "").strip().casefold()
    return said in _buttons(_reply_before(events, turns[-1]))


def ends_with_yes_no_question(events: Sequence[Event]) -> bool:
    """The bot's reply since the latest user message ends with a question whose buttons are yes
    and no (/affirm, /deny): "shall we call you back?" waits for its own answer."""
    for event in reversed(events):
        if _kind(event) == "user":
            return False
        if _kind(event) == "bot":
            buttons = (event.get("data") or {}).get("buttons") or []
            return bool({button.get("payload") for button in buttons} & {"/affirm", "/deny"})
    return False


def requested_before_latest(events: Sequence[Event]) -> str | None:
    """The slot a form had just asked for when the latest user message came (the form sets
    `requested_slot` each time it asks), or None when the reply before it asked none."""
    turns = _turns(events)
    if not turns:
        return None
    asked = [
        event.get("value")
        for event in _reply_before(events, turns[-1])
        if _kind(event) == "slot" and event.get("name") == REQUESTED_SLOT
    ]
    return asked[-1] if asked else None


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
    while position > 0 and _asked_before(events, turns[position - 1], SAFETY_CHECK_ACTION):
        position -= 1
    return events[turns[position - 1]] if position > 0 else None


def actions_since_latest(events: Sequence[Event]) -> list[str]:
    """The bot's actions since the latest user message (its reply so far)."""
    turns = _turns(events)
    return _actions(events[turns[-1] + 1 :]) if turns else []


def last_question(events: Sequence[Event]) -> str | None:
    """The last action of the bot's reply before the latest user message (None at the start)."""
    turns = _turns(events)
    last = _actions(_reply_before(events, turns[-1]))[-1:] if turns else []
    return last[0] if last else None


def waiting_question(events: Sequence[Event]) -> str | None:
    """The safety question or the crisis reply's "Are you safe right now?" when the events end
    with it and no message has answered it yet (the conversation paused there), else None."""
    last = last_question([*events, {"event": "user", "text": ""}])
    return last if last in ASKED_ABOUT_SAFETY else None


def pending_question(events: Sequence[Event]) -> Event | None:
    """When the events end with the safety question and no message has answered it yet (the
    conversation paused there), the message that prompted it: {} when that message is not
    among `events`; None when no question is waiting."""
    following = [*events, {"event": "user", "text": ""}]
    if not asked_just_before(following):
        return None
    return prompting_message(following) or {}
