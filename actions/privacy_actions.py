"""'Delete my data' (SPEC §5): an anonymous visitor's answers and transcript go after they
confirm; an enrolled participant's request goes to staff, since their records are clinical."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import IopAction
from actions.safety_actions import flag_latest_message
from bot.db import get_sessionmaker
from bot.db.assessments import delete_visitor_answers
from bot.db.participants import participant_for_message
from bot.rasa.forget import forget_marker


def _is_participant(tracker: Tracker) -> bool:
    with get_sessionmaker()() as session:
        metadata = (tracker.latest_message or {}).get("metadata")
        return participant_for_message(session, metadata) is not None


class ActionRequestDeletion(IopAction):
    """Participant: a request for staff. Visitor: ask to confirm what will be deleted."""

    def name(self) -> str:
        """Name in the domain."""
        return "action_request_deletion"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Open the staff request, or ask the visitor to confirm."""
        if _is_participant(tracker):
            flag_latest_message(
                tracker,
                kind="human_request",
                severity="normal",
                reason="Participant asked for their data to be deleted",
            )
            dispatcher.utter_message(response="utter_deletion_participant")
            return [SlotSet("deletion_pending", False)]
        dispatcher.utter_message(response="utter_confirm_deletion")
        return [SlotSet("deletion_pending", True)]


class ActionDeleteMyData(IopAction):
    """After a visitor's yes: delete their assessments now and the transcript via the channel."""

    def name(self) -> str:
        """Name in the domain."""
        return "action_delete_my_data"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Delete, then tell the visitor what was deleted."""
        if not tracker.get_slot("deletion_pending") or _is_participant(tracker):
            dispatcher.utter_message(response="utter_what_next")
            return []
        with get_sessionmaker()() as session, session.begin():
            kept_for_safety = delete_visitor_answers(session, tracker.sender_id)
        if kept_for_safety:
            dispatcher.utter_message(response="utter_deleted_answers_kept_transcript")
        else:
            dispatcher.utter_message(response="utter_deleted_everything")
            dispatcher.utter_message(json_message=forget_marker())
        return [SlotSet("deletion_pending", False)]
