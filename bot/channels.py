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

from bot import rasa_speedups
from bot.forget import forget_conversation, take_marker
from bot.participants import protect_metadata
from bot.replies import something_went_wrong
from bot.settings import MAX_MESSAGE_CHARS, MAX_METADATA_BYTES, MAX_SENDER_CHARS

logger = logging.getLogger(__name__)
# The Rasa server loads this module for its channels (credentials.yml): the place to make its
# check of the action server's answers cheap (bot/rasa_speedups.py).
rasa_speedups.install()


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
    try:
        size = len(json.dumps(metadata)) if metadata else 0
    except (TypeError, ValueError):  # socket.io can carry bytes, which JSON cannot
        raise InvalidMessage(400, "'metadata' must hold only JSON values") from None
    if size > MAX_METADATA_BYTES:
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
            messages, forget = take_marker(collector.messages)
            if forget:  # the visitor confirmed "delete my data" (actions/privacy.py)
                forget_conversation(request.app, sender)
            return response.json(messages)

        return webhook


# --- The website widget's socket.io channel (SPEC §6) -----------------------------------------
# Appended below the REST channel so each channel reads top to bottom on its own.

import uuid  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput  # noqa: E402
from socketio import AsyncServer  # noqa: E402

from bot.forget import FORGET_MARKER  # noqa: E402
from bot.forget import forget_conversation as forget_transcript  # noqa: E402
from bot.settings import get_settings  # noqa: E402


def origin_of(url: str) -> str:
    """The browser origin (scheme://host[:port]) of a URL; ValueError if it has none."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or "*" in parts.netloc:
        raise ValueError(f"not a website address: {url!r}")
    return f"{parts.scheme}://{parts.netloc}".lower()


def website_origins(configured: object = None) -> list[str]:
    """The origins whose pages may open the chat socket: the credentials' list, else the website.

    Never empty: python-engineio reads `[]` as "check nothing" and `"*"` as "anyone".
    """
    if configured in (None, "", []):
        configured = [get_settings().website_url]
    if isinstance(configured, str):
        configured = [configured]
    if not isinstance(configured, list | tuple):
        raise ValueError("cors_allowed_origins must be a list of website addresses")
    return sorted({origin_of(str(url)) for url in configured})


class ForgettingSocketIOOutput(SocketIOOutput):
    """Rasa's socket.io output that keeps the "delete my data" marker from the browser."""

    def __init__(self, sio: AsyncServer, bot_message_evt: str) -> None:
        super().__init__(sio, bot_message_evt)
        self.forget_requested = False

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        """Custom payloads go out as {"custom": ...}; the private marker is only noted."""
        if (json_message or {}).get(FORGET_MARKER):
            self.forget_requested = True
            return
        await self._send_message(recipient_id, {"custom": json_message})


class WebsiteSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel for the website widget, with the pinned stack's faults fixed.

    python-socketio 5.18 made `enter_room` a coroutine that Rasa 3.6 never awaits (with
    `session_persistence` the browser got no replies), and Rasa builds the server with
    `cors_allowed_origins=[]`, which means no origin check at all. Here only the website's
    origins may connect, each socket writes only to the conversation it joined with
    session_request, participant tokens are swapped for their hash before Rasa stores the
    message (as in the REST channel), input is checked, and no message text is logged.
    """

    def __init__(self, *args: Any, cors_allowed_origins: object = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cors_allowed_origins = website_origins(cors_allowed_origins)
        # The conversation each connected socket joined with session_request (socket id ->
        # session id): its messages go to that conversation only, whatever they claim.
        self.joined: dict[str, str] = {}

    @classmethod
    def name(cls) -> str:
        """Keep Rasa's channel name, so transcripts show the standard socketio channel."""
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SocketIOInput:
        """Rasa's settings plus `cors_allowed_origins` (default: the website's origin)."""
        credentials = credentials or {}
        channel = super().from_credentials(credentials)
        channel.cors_allowed_origins = website_origins(credentials.get("cors_allowed_origins"))
        return channel

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's blueprint with the origin check on and two handlers replaced."""
        socketio_webhook = super().blueprint(on_new_message)
        sio = self.sio
        sio.eio.cors_allowed_origins = list(self.cors_allowed_origins)

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: object) -> None:
            data = data if isinstance(data, dict) else {}
            previous = self.joined.get(sid)
            session_id = data.get("session_id")
            if not isinstance(session_id, str) or not 1 <= len(session_id) <= MAX_SENDER_CHARS:
                # Asked again without one, a socket keeps the conversation it has. rasa-webchat
                # 1.0.1 opens a second socket when the chat is opened before the first one has
                # connected, and both ask on the second: two new ids, and the widget sent its
                # opening message under the first, which this socket no longer held.
                session_id = previous or uuid.uuid4().hex
            if self.session_persistence:
                # noted before any await: the socket's next event may run while this one waits
                self.joined[sid] = session_id
                if previous is not None and previous != session_id:
                    await sio.leave_room(sid, previous, namespace=self.namespace)
                await sio.enter_room(sid, session_id, namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: str, *_: object) -> None:
            self.joined.pop(sid, None)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: object) -> None:
            data = data if isinstance(data, dict) else {}
            sender = sid
            if self.session_persistence:
                # Only the conversation this socket joined: a message naming another one would
                # write into that conversation and send its replies to whoever is in its room.
                sender = self.joined.get(sid)
                if data.get("session_id") != sender:
                    sender = None
            metadata = data.get(self.metadata_key) or None
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = "unreadable"  # refused by check_message below
            body = {"sender": sender, "message": data.get("message"), "metadata": metadata}
            try:
                if sender is None:
                    raise InvalidMessage(
                        400,
                        "it names a conversation other than the one this socket joined"
                        if self.joined.get(sid)
                        else "it came before the socket asked for a conversation",
                    )
                sender, text, metadata = check_message(body)
            except InvalidMessage as refused:
                # the reason is one of our fixed sentences: no message text, no session id
                logger.info("socketio: refused a message (%s: %s)", refused.status, refused.error)
                await sio.emit(
                    self.bot_message_evt,
                    {"text": refused_message(refused)},
                    room=sid,
                    namespace=self.namespace,
                )
                return
            output = ForgettingSocketIOOutput(sio, self.bot_message_evt)
            try:
                await on_new_message(
                    UserMessage(
                        text,
                        output,
                        sender,
                        input_channel=self.name(),
                        metadata=protect_metadata(metadata),
                    )
                )
            except CancelledError:
                logger.error("socketio: handling a message timed out")
                await output._send_message(sender, {"text": something_went_wrong()})
            except Exception as exc:  # the visitor gets a calm reply; the log gets no text
                logger.error("socketio: handling a message failed (%s)", type(exc).__name__)
                await output._send_message(sender, {"text": something_went_wrong()})
            if output.forget_requested:  # the visitor confirmed "delete my data"
                request = (sio.get_environ(sid, self.namespace) or {}).get("sanic.request")
                if request is not None:
                    forget_transcript(request.app, sender)

        return socketio_webhook


def refused_message(refused: InvalidMessage) -> str:
    """What the visitor reads when the widget sent something the channel cannot take."""
    if refused.status == 413:
        return (
            f"Sorry, that message is too long for me. Please keep it under {MAX_MESSAGE_CHARS} "
            "characters."
        )
    return "Sorry, I couldn't read that message. Please type it again."
