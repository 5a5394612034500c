"""The daily check-in (SPEC §3.2): only for a participant identified on every message by the
token hash the channel put in the message metadata; stored exactly once, with flags and a reply
built from the participant's own history."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import IopAction
from actions.durable import SAVED_LATER, queue_record
from actions.forms import QuestionForm
from bot.db import get_sessionmaker
from bot.db.checkins import checkins_since, save_checkin
from bot.db.flags import open_flag
from bot.db.models import Participant
from bot.db.participants import TOKEN_HASH_KEY, participant_for_message, resolve_token_hash
from bot.db.spool import STORAGE_ERRORS
from bot.domain import checkin_rules
from bot.domain.form_answers import Question
from bot.settings import get_settings


def current_participant(tracker: Tracker) -> Participant | None:
    """The active participant whose token came with the latest message, or None."""
    metadata = (tracker.latest_message or {}).get("metadata")
    with get_sessionmaker()() as session:
        participant = participant_for_message(session, metadata)
        if participant is not None:
            session.expunge(participant)
        return participant


def same_participant(tracker: Tracker) -> Participant | None:
    """The participant of this message, if it is the one who started this check-in."""
    participant = current_participant(tracker)
    if participant is None or participant.id != tracker.get_slot("checkin_participant"):
        return None
    return participant


class ValidateCheckinForm(QuestionForm):
    """Reads each check-in answer; without a valid token on this message, asks nothing more."""

    def name(self) -> str:
        """Rasa's naming: validate_<form>."""
        return "validate_checkin_form"

    restart_intents = frozenset({"start_checkin"})
    extra_interruptions = frozenset({"craving_now"})

    def questions(self) -> Mapping[str, Question]:
        """The check-in's questions."""
        return checkin_rules.CHECKIN_QUESTIONS

    def to_ask(self, values: Mapping[str, Any]) -> list[str]:
        """What's left to ask."""
        return checkin_rules.checkin_questions_to_ask(dict(values))

    def may_continue(self, tracker: Tracker) -> bool:
        """No valid token on this message, or another participant's: ask nothing, store nothing."""
        return same_participant(tracker) is not None


class ActionStartCheckin(IopAction):
    """A fresh check-in; a re-triggered one keeps its key, so it is still stored once."""

    def name(self) -> str:
        """Name in the domain."""
        return "action_start_checkin"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Clear the answers; keep or make the check-in key; note whose check-in it is."""
        participant = current_participant(tracker)
        key = tracker.get_slot("checkin_key") or uuid.uuid4().hex
        return [
            *(SlotSet(s, None) for s in checkin_rules.CHECKIN_SLOTS),
            SlotSet("checkin_key", key),
            # Only binds this conversation to one participant: every later message must carry
            # the same participant's token (checked on each turn), or the check-in ends unsaved.
            SlotSet("checkin_participant", participant.id if participant else None),
        ]


class ActionCravingSupport(IopAction):
    """'I'm having a craving right now': support first, then the check-in."""

    def name(self) -> str:
        """Name in the domain."""
        return "action_craving_support"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Two things to try now, from the staff-editable coping content."""
        tips = checkin_rules.suggest_coping([], craving=checkin_rules.HIGH_CRAVING)
        dispatcher.utter_message(response="utter_craving_support", tips=" ".join(tips))
        return []


def _local_day(moment: datetime, zone: ZoneInfo) -> Any:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(zone).date()


def checkin_record(
    participant_id: int, token_hash: object, conversation_id: str, key: str, values: dict
) -> dict[str, Any]:
    """A finished check-in as plain values: what is stored, and what waits in the durable
    queue (bot/db/spool.py) while the database cannot take it."""
    use = values.get("used_since_last") or {}
    coping_note = values.get("coping_note") or {}
    return {
        "participant_id": participant_id,
        "token_hash": token_hash,
        "conversation_id": conversation_id,
        "dedup_key": f"checkin:{participant_id}:{key}",
        "mood": int(values["mood"]),
        "craving": int(values["craving"]),
        "triggers": list(values.get("triggers") or []),
        "used_since_last": bool(use.get("used")),
        "substances_used": use.get("what") or values.get("used_what"),
        "coping": coping_note.get("coping"),
        "note": coping_note.get("note"),
        "created_at": datetime.now(timezone.utc).isoformat(),
    }


def store_checkin(session: Any, record: dict[str, Any]) -> Any:
    """Store a check-in record once, with its flags (craving 8+: high_craving; use: lapse)."""
    fields = {k: v for k, v in record.items() if k != "token_hash"}
    fields["created_at"] = datetime.fromisoformat(record["created_at"])
    checkin, _created = save_checkin(session, **fields)
    flags = []
    if record["craving"] >= checkin_rules.HIGH_CRAVING:
        flags.append(("high_craving", f"Craving {record['craving']}/10 at check-in"))
    if record["used_since_last"]:
        flags.append(("lapse", "Use since the last check-in reported"))
    for kind, reason in flags:
        open_flag(
            session,
            kind=kind,
            severity="high",
            conversation_id=record["conversation_id"],
            participant_id=record["participant_id"],
            reason=reason,
            dedup_key=f"{kind}:{checkin.dedup_key}",
        )
    return checkin


def store_queued_checkin(record: dict[str, Any]) -> None:
    """A check-in from the durable queue: stored if its token still names that participant
    (as of when it was made), else dropped with a log line."""
    made = datetime.fromisoformat(record["created_at"])
    with get_sessionmaker()() as session, session.begin():
        participant = resolve_token_hash(session, record.get("token_hash"), now=made)
        if participant is None or participant.id != record["participant_id"]:
            raise ValueError("the check-in's token no longer names its participant")
        store_checkin(session, record)


class ActionSubmitCheckin(IopAction):
    """Store the finished check-in once, open its flags, and reply with the person's trend;
    when the database cannot take it, keep it in the durable queue and say so."""

    def name(self) -> str:
        """Name in the domain."""
        return "action_submit_checkin"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """No participant or stopped: nothing stored. Otherwise one row and its flags."""
        clear = [
            *(SlotSet(s, None) for s in checkin_rules.CHECKIN_SLOTS),
            SlotSet("checkin_key", None),
            SlotSet("checkin_participant", None),
        ]
        metadata = (tracker.latest_message or {}).get("metadata") or {}
        token_hash = metadata.get(TOKEN_HASH_KEY) if isinstance(metadata, dict) else None
        try:
            participant_id = getattr(same_participant(tracker), "id", None)
        except STORAGE_ERRORS:
            # The token is checked when the queued check-in is stored (store_queued_checkin).
            participant_id = tracker.get_slot("checkin_participant") if token_hash else None
        if participant_id is None:
            dispatcher.utter_message(response="utter_checkin_needs_link")
            return clear
        values = {slot: tracker.get_slot(slot) for slot in checkin_rules.CHECKIN_SLOTS}
        if values.get("confirm_stop") is True or values.get("mood") is None:
            dispatcher.utter_message(response="utter_checkin_stopped")
            return clear
        key = tracker.get_slot("checkin_key") or uuid.uuid4().hex
        record = checkin_record(participant_id, token_hash, tracker.sender_id, key, values)
        tips = checkin_rules.suggest_coping(record["triggers"], record["craving"])
        zone = ZoneInfo(get_settings().clinic.timezone)
        now = datetime.now(timezone.utc)
        try:
            with get_sessionmaker()() as session, session.begin():
                store_checkin(session, record)
                history = [
                    checkin_rules.DayCraving(
                        _local_day(c.created_at, zone), c.craving, tuple(c.triggers)
                    )
                    for c in checkins_since(session, participant_id, now - timedelta(days=15))
                ]
        except STORAGE_ERRORS:
            queue_record("checkin", record)
            reply = checkin_reply(record["used_since_last"], record["craving"], "", tips)
            dispatcher.utter_message(text=f"{reply} {SAVED_LATER}")
            return clear
        trend = checkin_rules.craving_trend(history, _local_day(now, zone))
        dispatcher.utter_message(
            text=checkin_reply(record["used_since_last"], record["craving"], trend.sentence(), tips)
        )
        return clear


def checkin_reply(used: bool, craving: int, trend: str, tips: list[str]) -> str:
    """Thanks, a word without judgement on use or a strong craving, the trend, one or two tips."""
    parts = ["Thanks for checking in."]
    if used:
        parts.append(
            "Thank you for being honest about using. A slip doesn't erase your progress, and "
            "your care team will reach out to support you."
        )
    elif craving >= checkin_rules.HIGH_CRAVING:
        parts.append("That's a strong craving, and you're handling it by checking in.")
    if trend:
        parts.append(trend)
    parts.append("Something to try: " + " ".join(tips))
    return " ".join(parts)
