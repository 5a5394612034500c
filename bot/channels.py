"""Input channels: Rasa's REST channel with input checks and without message text in its logs."""

from __future__ import annotations

import json
import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.participants import protect_metadata
from bot.replies import something_went_wrong
from bot.settings import MAX_MESSAGE_CHARS, MAX_METADATA_BYTES, MAX_SENDER_CHARS

logger = logging.getLogger(__name__)


class InvalidMessage(ValueError):
    """A request the channel refuses, with the HTTP status to answer."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def check_message(body: object) -> tuple[str, str, dict[str, Any] | None]:
    """Validate a webhook body; returns (sender, text, metadata) or raises InvalidMessage."""
    if not isinstance(body, dict):
        raise InvalidMessage(400, "the body must be a JSON object")
    sender, text, metadata = body.get("sender"), body.get("message"), body.get("metadata")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
        raise InvalidMessage(
            400, f"'sender' must be a string of 1 to {MAX_SENDER_CHARS} characters"
        )
    if not sender.isprintable():
        raise InvalidMessage(400, "'sender' must not contain control characters")
    if not isinstance(text, str):
        raise InvalidMessage(400, "'message' must be a string")
    if not text.strip():
        raise InvalidMessage(400, "'message' is empty")
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidMessage(413, f"'message' is longer than {MAX_MESSAGE_CHARS} characters")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidMessage(400, "'metadata' must be a JSON object")
    if metadata and len(json.dumps(metadata)) > MAX_METADATA_BYTES:
        raise InvalidMessage(413, "'metadata' is too large")
    return sender, text, metadata


class GuardedRestInput(RestInput):
    """`/webhooks/rest/webhook`: refuses malformed input with a 4xx, never logs message text."""

    @classmethod
    def name(cls) -> str:
        """Keep Rasa's URL and channel name, so clients see the standard REST channel."""
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The health and webhook routes."""
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = request.json
            except Exception:  # Sanic raises its own error types for bad JSON or encoding
                return response.json({"error": "the body must be valid JSON"}, status=400)
            try:
                sender, text, metadata = check_message(body)
            except InvalidMessage as refused:
                return response.json({"error": refused.error}, status=refused.status)
            metadata = protect_metadata(metadata)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        text, collector, sender, input_channel=self.name(), metadata=metadata
                    )
                )
            except CancelledError:
                logger.error("rest: handling a message timed out")
                collector.messages.append({"text": something_went_wrong()})
            except Exception as exc:  # the visitor gets a calm reply; the log gets no text
                logger.error("rest: handling a message failed (%s)", type(exc).__name__)
                collector.messages.append({"text": something_went_wrong()})
            return response.json(collector.messages)

        return webhook
