"""Input channels: Rasa's REST channel with input checks and without message text in its logs."""

from __future__ import annotations

import functools
import json
import logging
import re
import time
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

import yaml
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.constants import INTENT_MESSAGE_PREFIX
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.db import get_sessionmaker
from bot.db.participants import hash_token, protect_metadata
from bot.db.spool import STORAGE_ERRORS
from bot.db.staff_accounts import channel_token_valid
from bot.domain.calm_replies import slow_down, something_went_wrong
from bot.rasa import patches
from bot.rasa.forget import forget_conversation, take_marker
from bot.settings import MAX_MESSAGE_CHARS, MAX_METADATA_BYTES, MAX_SENDER_CHARS, REPO_ROOT

logger = logging.getLogger(__name__)
# The Rasa server loads this module for its channels (credentials.yml): the one place where
# our changes to Rasa itself are installed in the server process (bot/rasa/patches/).
patches.install()


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
    return sender, without_intent_syntax(text), metadata


# A message that starts with "/" is Rasa's intent syntax (`/intent{"entity": ...}`): it skips NLU,
# and Rasa logs the text when it cannot parse it. From a visitor only the bare shortcuts the
# bot's own buttons and the website send are taken as such; any other "/..." is read as words.
SHORTCUT = re.compile(r"/([a-z_]{1,64})")


@functools.cache
def allowed_shortcuts() -> frozenset[str]:
    """The button payloads in domain.yml's responses that are intents, the website's opening
    payloads (bot/apps/web), and Rasa's /restart."""
    domain = yaml.safe_load((REPO_ROOT / "domain.yml").read_text(encoding="utf-8")) or {}
    payloads = {"/greet", "/start_checkin", "/restart"}
    for variants in (domain.get("responses") or {}).values():
        for variant in variants or []:
            for button in variant.get("buttons") or []:
                payloads.add(str(button.get("payload", "")))
    return frozenset(p for p in payloads if SHORTCUT.fullmatch(p))


def without_intent_syntax(text: str) -> str:
    """`text`, unless it uses Rasa's intent syntax other than an allowed shortcut: then the
    same words without their leading slashes, for NLU to read like any other message."""
    stripped = text.strip()
    if not stripped.startswith(INTENT_MESSAGE_PREFIX) or stripped in allowed_shortcuts():
        return text
    words = stripped.lstrip(INTENT_MESSAGE_PREFIX + " ")
    if not words:
        raise InvalidMessage(400, "'message' has no words")
    return words


class ChannelTokens:
    """Which bearer tokens may use the REST channel: active `channel` API tokens
    (`python -m bot api-token --name NAME --role channel`), looked up in the app database and
    remembered for a minute (a revoked token stops working within that minute)."""

    TTL = 60.0

    def __init__(self) -> None:
        self._valid_until: dict[str, float] = {}

    def allows(self, authorization: str | None) -> bool:
        """Whether an Authorization header carries an active channel token."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return False
        key = hash_token(token)
        now = time.monotonic()
        if self._valid_until.get(key, 0.0) > now:
            return True
        with get_sessionmaker()() as session:
            valid = channel_token_valid(session, token)
        if valid:
            if len(self._valid_until) > 10_000:  # tokens are few; never let this grow unbounded
                self._valid_until.clear()
            self._valid_until[key] = now + self.TTL
        return valid


# What a caller without a channel token reads.
TOKEN_REQUIRED = "a channel token is required: Authorization: Bearer <token from `python -m bot api-token --name NAME --role channel`>"  # noqa: E501, S105


class GuardedRestInput(RestInput):
    """`/webhooks/rest/webhook`: refuses malformed input with a 4xx, never logs message text."""

    def __init__(self, require_token: bool = True) -> None:
        super().__init__()
        # The channel for trusted integrations and tests (SPEC §4): every call shows a channel
        # token. `require_token: false` in credentials.yml turns that off (a closed network).
        self.require_token = require_token
        self.tokens = ChannelTokens()

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> RestInput:
        """`require_token` (default true) from credentials.yml."""
        return cls(require_token=bool((credentials or {}).get("require_token", True)))

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
                allowed = not self.require_token or self.tokens.allows(
                    request.headers.get("Authorization")
                )
            except STORAGE_ERRORS as exc:  # a token not seen lately, and no database to ask
                logger.error("rest: could not check a channel token (%s)", type(exc).__name__)
                return response.json({"error": "unavailable; try again shortly"}, status=503)
            if not allowed:
                return response.json(
                    {"error": TOKEN_REQUIRED}, status=401, headers={"WWW-Authenticate": "Bearer"}
                )
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
            if not messages:
                # Every message gets an answer: none came back when an action failed, e.g.
                # while the action server restarts (Rasa logs the error and carries on).
                logger.warning("rest: a message got no reply; sent the calm one")
                messages = [{"text": something_went_wrong()}]
            if forget:  # the visitor confirmed "delete my data" (actions/privacy_actions.py)
                forget_conversation(request.app, sender)
            return response.json(messages)

        return webhook


# --- The website widget's socket.io channel (SPEC §6) -----------------------------------------
# Appended below the REST channel so each channel reads top to bottom on its own.

import base64  # noqa: E402
import hashlib  # noqa: E402
import hmac  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
from collections import deque  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput  # noqa: E402
from socketio import AsyncServer  # noqa: E402

from bot.rasa.forget import FORGET_MARKER  # noqa: E402
from bot.rasa.forget import forget_conversation as forget_transcript  # noqa: E402
from bot.settings import get_settings, stored_secret  # noqa: E402


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


class ConversationIds:
    """The website's conversations, owned by whoever holds their secret.

    The server issues each browser a session id, `<random>.<signature>` (HMAC-SHA256 with
    IOP_SESSION_KEY, else a key generated once into var/): the widget keeps it and presents it
    on reconnecting. The conversation Rasa stores, and staff see, is a hash of it, so neither a
    guessed id, nor one made up by the client, nor a conversation id copied from a transcript or
    a log lets anyone read, write or delete somebody else's conversation.
    """

    def __init__(self, key: str) -> None:
        self._key = key.encode()

    @classmethod
    def from_settings(cls) -> ConversationIds:
        """With the key every Rasa server of this deployment shares."""
        return cls(stored_secret(get_settings().var_dir, "session_key", "IOP_SESSION_KEY"))

    def _signature(self, nonce: str) -> str:
        digest = hmac.new(self._key, nonce.encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self) -> str:
        """A new session id for a browser."""
        nonce = secrets.token_urlsafe(24)
        return f"{nonce}.{self._signature(nonce)}"

    def valid(self, session_id: object) -> bool:
        """Whether `session_id` is one this server (or one sharing its key) issued."""
        if not isinstance(session_id, str) or len(session_id) > MAX_SENDER_CHARS:
            return False
        nonce, dot, signature = session_id.partition(".")
        return bool(nonce and dot) and hmac.compare_digest(signature, self._signature(nonce))

    @staticmethod
    def conversation(session_id: str) -> str:
        """The conversation (Rasa's sender id) of a session id."""
        return "web-" + hashlib.sha256(session_id.encode()).hexdigest()[:40]


class RateLimit:
    """At most `limit` events per key in any `seconds` window (a sliding window in memory)."""

    MAX_KEYS = 50_000  # many keys at once is a flood itself: start counting afresh

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self._seen: dict[str, deque[float]] = {}

    def allow(self, key: str, now: float | None = None) -> bool:
        """Count one event for `key`; False when it is over the limit (then it is not counted)."""
        now = time.monotonic() if now is None else now
        if len(self._seen) > self.MAX_KEYS:
            self._seen.clear()
        seen = self._seen.setdefault(key, deque())
        while seen and seen[0] <= now - self.seconds:
            seen.popleft()
        if len(seen) >= self.limit:
            return False
        seen.append(now)
        return True


def client_address(environ: dict[str, Any] | None, trusted_proxies: int) -> str:
    """The browser's address: the peer's, or the one the trusted proxies in front reported."""
    environ = environ or {}
    if trusted_proxies > 0:
        forwarded = [a.strip() for a in str(environ.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= trusted_proxies:
            return forwarded[-trusted_proxies][:64]
    return str(environ.get("REMOTE_ADDR") or "unknown")[:64]


class ForgettingSocketIOOutput(SocketIOOutput):
    """Rasa's socket.io output that keeps the "delete my data" marker from the browser."""

    def __init__(self, sio: AsyncServer, bot_message_evt: str) -> None:
        super().__init__(sio, bot_message_evt)
        self.forget_requested = False
        self.replied = False

    async def _send_message(self, socket_id: str, response: Any) -> None:
        self.replied = True
        await super()._send_message(socket_id, response)

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
        # The session each connected socket joined with session_request (socket id -> session
        # id): its messages go to that session's conversation only, whatever they claim.
        self.joined: dict[str, str] = {}
        self.ids = ConversationIds.from_settings()
        # Fair use on the public channel: per conversation and per client address, far above
        # what people type (a clinic's shared connection carries many people).
        self.per_conversation = RateLimit(_env_int("IOP_CHAT_MESSAGES_PER_MINUTE", 30), 60)
        self.per_address = RateLimit(_env_int("IOP_CHAT_MESSAGES_PER_ADDRESS_MINUTE", 300), 60)
        self.trusted_proxies = _env_int("IOP_CHAT_TRUSTED_PROXIES", 0)

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
            if not self.ids.valid(session_id):
                # Only ids this server issued are taken back: any other gets a new conversation.
                # Asked again without one, a socket keeps the conversation it has. rasa-webchat
                # 1.0.1 opens a second socket when the chat is opened before the first one has
                # connected, and both ask on the second: two new ids, and the widget sent its
                # opening message under the first, which this socket no longer held.
                session_id = previous or self.ids.issue()
            if self.session_persistence:
                # noted before any await: the socket's next event may run while this one waits
                self.joined[sid] = session_id
                room = self.ids.conversation(session_id)
                if previous is not None and previous != session_id:
                    old_room = self.ids.conversation(previous)
                    await sio.leave_room(sid, old_room, namespace=self.namespace)
                await sio.enter_room(sid, room, namespace=self.namespace)
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
                session_id = self.joined.get(sid)
                sender = None
                if session_id is not None and data.get("session_id") == session_id:
                    sender = self.ids.conversation(session_id)
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
            address = client_address(sio.get_environ(sid, self.namespace), self.trusted_proxies)
            if not (self.per_conversation.allow(sender) and self.per_address.allow(address)):
                logger.warning("socketio: a message over the rate limit was not read")
                await sio.emit(
                    self.bot_message_evt, {"text": slow_down()}, room=sid, namespace=self.namespace
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
            if not output.replied:  # as in the REST channel: never silence
                logger.warning("socketio: a message got no reply; sent the calm one")
                await output._send_message(sender, {"text": something_went_wrong()})
            if output.forget_requested:  # the visitor confirmed "delete my data"
                request = (sio.get_environ(sid, self.namespace) or {}).get("sanic.request")
                if request is not None:
                    forget_transcript(request.app, sender)

        return socketio_webhook


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def refused_message(refused: InvalidMessage) -> str:
    """What the visitor reads when the widget sent something the channel cannot take."""
    if refused.status == 413:
        return (
            f"Sorry, that message is too long for me. Please keep it under {MAX_MESSAGE_CHARS} "
            "characters."
        )
    return "Sorry, I couldn't read that message. Please type it again."
