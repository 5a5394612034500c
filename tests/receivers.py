"""Real local receivers for alerts and reminders: an HTTP webhook receiver and an SMTP server."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


@dataclass
class Received:
    """One request the webhook receiver took."""

    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float = field(default_factory=time.time)

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """An HTTP server on loopback recording every POST; `status` is what it answers, `hang`
    makes it read a request and never answer (until stopped)."""

    port: int
    status: int = 200
    hang: bool = False
    received: list[Received] = field(default_factory=list)
    acknowledged: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)
    _release: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook/secret-path-token"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                item = Received(self.path, dict(self.headers), self.rfile.read(length))
                receiver.received.append(item)
                if receiver.hang:
                    receiver._release.wait(120)
                    return
                if receiver.status == 0:  # not HTTP at all
                    self.wfile.write(b"garbage\r\n\r\n")
                    self.close_connection = True
                    return
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                if 200 <= receiver.status < 300:
                    receiver.acknowledged.append(item)

            def log_message(self, *args: object) -> None:
                pass

        self._release.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening (connections are refused afterwards)."""
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(self, predicate, timeout: float = 60) -> list[Received]:  # noqa: ANN001
        """Wait until some received request satisfies `predicate`; those requests."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [r for r in list(self.received) if predicate(r)]
            if found:
                return found
            time.sleep(0.2)
        return []


class _Collect:
    def __init__(self, sink: list[Message], accept: list[bool]) -> None:
        self.sink = sink
        self.accept = accept

    async def handle_RCPT(self, server, session, envelope, address, options) -> str:  # noqa: ANN001, N802
        if address.startswith("refuse"):
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        if not self.accept[0]:
            return "451 try again later"
        message = message_from_bytes(envelope.original_content or envelope.content)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        message["X-Received-At"] = repr(time.time())
        self.sink.append(message)
        return "250 OK"


@dataclass
class SmtpServer:
    """aiosmtpd on loopback keeping every message it accepts; `accepting = False` answers 451,
    and a recipient whose address starts with "refuse" is refused."""

    port: int
    messages: list[Message] = field(default_factory=list)
    _accept: list[bool] = field(default_factory=lambda: [True], repr=False)
    _controller: Controller | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def accepting(self) -> bool:
        return self._accept[0]

    @accepting.setter
    def accepting(self, value: bool) -> None:
        self._accept[0] = value

    def start(self) -> SmtpServer:
        self._controller = Controller(
            _Collect(self.messages, self._accept), hostname="127.0.0.1", port=self.port
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, predicate, timeout: float = 60) -> list[Message]:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in list(self.messages) if predicate(m)]
            if found:
                return found
            time.sleep(0.2)
        return []


def body_text(message: Message) -> str:
    """The plain-text body of a received e-mail."""
    if message.is_multipart():
        return "".join(body_text(part) for part in message.get_payload())
    payload = message.get_payload(decode=True) or b""
    return payload.decode(message.get_content_charset() or "utf-8")
