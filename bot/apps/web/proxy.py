"""The website's front server (aiohttp): one origin for the pages and the chat socket.

It listens on the website's port. `/socket.io/` (engine.io long-polling GET/POST and the websocket
upgrade, query string kept) goes to the Rasa server; everything else goes to the Flask app,
served by waitress on an internal loopback port (waitress cannot carry websockets). The page's
widget connects to the page's own origin, as it does behind one public hostname in production.

Origin rule: a socket request is forwarded only when its Host names this website (the host of
IOP_WEBSITE_URL; when that is a loopback name, any loopback name: localhost and 127.0.0.1 are
this server) and its Origin, when sent, is that Host's own origin, i.e. a page this server
served. Rasa then sees Origin = IOP_WEBSITE_URL's origin, the one its own check admits. Another
site's page fails the Origin test; a DNS-rebinding page (its name resolving to us) the Host test.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Iterable, Mapping
from urllib.parse import urlsplit

import aiohttp
from aiohttp import WSMsgType, web
from multidict import CIMultiDict
from yarl import URL

from bot.apps.web import security_headers
from bot.settings import get_settings

logger = logging.getLogger(__name__)

SOCKET_PATH = "/socket.io/"
SOCKET_METHODS = frozenset({"GET", "POST"})
# Request bodies: engine.io's own buffer and Rasa's SANIC_REQUEST_MAX_SIZE are 1 MB; the pages
# take only small forms. Both are read whole before forwarding (they are small by rule).
MAX_SOCKET_BODY = 1024 * 1024
MAX_PAGE_BODY = 64 * 1024
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
# RFC 9110 §7.6.1: meant for one connection, never forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
SERVER_NAME = "iop-website"
# Long polls wait up to engine.io's ping interval (25 s) for data: read timeouts well above it.
UPSTREAM_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=120)

SESSIONS = web.AppKey("sessions", dict)
SOCKETS = web.AppKey("sockets", weakref.WeakSet)


class Refused(Exception):
    """A request the proxy answers itself (status and a short plain-text reason)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def host_name(host: str | None) -> str | None:
    """The lower-cased name in a Host header (`name[:port]`, `[v6][:port]`); None if malformed."""
    if not host or any(c in host for c in "/?#@\\ ") or host != host.strip():
        return None
    try:
        parts = urlsplit(f"//{host}")
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    return parts.hostname or None


def website_host_names(website_url: str) -> frozenset[str]:
    """The Host names a socket request may be addressed to: the website's own, and every
    loopback name when the website is on loopback."""
    name = (urlsplit(website_url).hostname or "").lower()
    return LOOPBACK_NAMES if name in LOOPBACK_NAMES else frozenset({name})


def socket_request_allowed(host: str | None, origin: str | None, names: Iterable[str]) -> bool:
    """The origin rule (module docstring): Host is the website's, Origin absent or Host's own."""
    if host_name(host) not in frozenset(names):
        return False
    if origin is None:  # not a browser page (browsers send Origin with every socket request)
        return True
    host = (host or "").lower()
    return origin.lower() in (f"http://{host}", f"https://{host}")


def forwarded_for(request: web.BaseRequest) -> str:
    """X-Forwarded-For with this hop's peer appended (Rasa trusts the last one: see stack.py)."""
    earlier = ", ".join(request.headers.getall("X-Forwarded-For", []))
    peer = request.remote or "unknown"
    return f"{earlier}, {peer}" if earlier else peer


def forward_headers(
    request: web.BaseRequest, *, keep_host: bool, origin: str | None = None
) -> CIMultiDict[str]:
    """The request's end-to-end headers for the upstream, X-Forwarded-For set. For Rasa
    (`keep_host` false) without the Host and with Origin, when sent, replaced by `origin`."""
    named = {
        token.strip().lower()
        for value in request.headers.getall("Connection", [])
        for token in value.split(",")
    }
    # Expect: aiohttp answers "100 Continue" to the client itself
    dropped = HOP_BY_HOP | named | {"content-length", "expect", "x-forwarded-for"}
    if not keep_host:
        dropped |= {"host", "origin"}
    headers = CIMultiDict(
        (name, value) for name, value in request.headers.items() if name.lower() not in dropped
    )
    if not keep_host and origin is not None and "Origin" in request.headers:
        headers["Origin"] = origin
    headers["X-Forwarded-For"] = forwarded_for(request)
    return headers


def harden(headers: CIMultiDict[str] | Mapping[str, str], https: bool) -> CIMultiDict[str]:
    """The website's security headers on a response that lacks them (socket.io answers, our own
    errors, waitress's own errors); the pages' own values are kept."""
    hardened = CIMultiDict(headers)
    for name, value in security_headers(https).items():
        hardened.setdefault(name, value)
    hardened["Server"] = SERVER_NAME
    return hardened


def plain(status: int, text: str, https: bool) -> web.Response:
    """A short plain-text answer from the proxy itself, with the security headers."""
    headers = harden({"Cache-Control": "no-store"}, https)
    return web.Response(status=status, text=text + "\n", headers=headers)


async def read_body(request: web.BaseRequest, limit: int) -> bytes | None:
    """The whole request body (None when empty), at most `limit` bytes (else Refused 413)."""
    if request.content_length is not None and request.content_length > limit:
        raise Refused(413, "request body too large")
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.content.iter_any():
        total += len(chunk)
        if total > limit:
            raise Refused(413, "request body too large")
        chunks.append(chunk)
    return b"".join(chunks) or None


def create_proxy(site_url: str, rasa_url: str, website_url: str | None = None) -> web.Application:
    """The front server: `/socket.io/` to the Rasa server at `rasa_url`, the rest to the website
    app at `site_url` (waitress on loopback). `website_url`: IOP_WEBSITE_URL by default."""
    parts = urlsplit(rasa_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--rasa-url must be an http(s) URL, got {rasa_url!r}")
    website_url = website_url or get_settings().website_url
    site_parts = urlsplit(website_url)
    https = site_parts.scheme.lower() == "https"
    # What Rasa's origin check admits: IOP_WEBSITE_URL's origin (bot/rasa/channels.py)
    rasa_origin = f"{site_parts.scheme}://{site_parts.netloc}".lower()
    names = website_host_names(website_url)
    site_base = site_url.rstrip("/")
    rasa_base = rasa_url.rstrip("/")

    async def sessions(app: web.Application) -> AsyncIterator[None]:
        # auto_decompress off: bodies pass through as sent, their Content-Length still true
        app[SESSIONS] = {
            "site": aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=64),
                timeout=aiohttp.ClientTimeout(total=60, sock_connect=5),
                auto_decompress=False,
            ),
            # long polls and websockets each hold a connection while they last
            "rasa": aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0),
                timeout=UPSTREAM_TIMEOUT,
                auto_decompress=False,
            ),
        }
        yield
        for session in app[SESSIONS].values():
            await session.close()

    async def close_sockets(app: web.Application) -> None:
        for ws in list(app[SOCKETS]):
            await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"server shutdown")

    async def forward_http(
        request: web.Request,
        session: aiohttp.ClientSession,
        url: URL,
        headers: CIMultiDict[str],
        limit: int,
        upstream_name: str,
    ) -> web.StreamResponse:
        body = await read_body(request, limit)
        try:
            async with session.request(
                request.method, url, headers=headers, data=body, allow_redirects=False
            ) as upstream:
                response_headers = CIMultiDict(
                    (name, value)
                    for name, value in upstream.headers.items()
                    if name.lower() not in HOP_BY_HOP
                    # same-origin now: Rasa's CORS answer names another origin, and none is needed
                    and not name.lower().startswith("access-control-")
                )
                response = web.StreamResponse(
                    status=upstream.status,
                    reason=upstream.reason,
                    headers=harden(response_headers, https),
                )
                try:
                    await response.prepare(request)
                    async for chunk in upstream.content.iter_chunked(64 * 1024):
                        await response.write(chunk)
                except ConnectionResetError:  # the browser left (a long poll, a closed tab)
                    return response
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    # too late for a 502: cut the connection so the client sees it fail
                    logger.warning(
                        "website proxy: the %s stopped mid-answer (%s)",
                        upstream_name,
                        type(exc).__name__,
                    )
                    if request.transport is not None:
                        request.transport.close()
                    return response
                await response.write_eof()
                return response
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            logger.warning(
                "website proxy: the %s is unreachable (%s)", upstream_name, type(exc).__name__
            )
            return plain(502, f"Bad gateway: the {upstream_name} is not answering.", https)

    async def forward_socket(
        request: web.Request, url: URL, headers: CIMultiDict[str]
    ) -> web.StreamResponse:
        """A websocket upgrade: open Rasa's first (its refusal is passed on), then pump frames
        both ways until either side closes."""
        client = web.WebSocketResponse(max_msg_size=MAX_SOCKET_BODY)
        if not client.can_prepare(request).ok:
            return plain(400, "Not a websocket request.", https)
        session = request.app[SESSIONS]["rasa"]
        for name in ("Key", "Version", "Extensions", "Protocol"):  # aiohttp sends its own
            headers.popall(f"Sec-WebSocket-{name}", None)
        try:
            upstream = await session.ws_connect(
                url, headers=headers, max_msg_size=MAX_SOCKET_BODY, timeout=10
            )
        except aiohttp.WSServerHandshakeError as exc:
            return plain(exc.status if exc.status >= 400 else 502, "Socket refused.", https)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            logger.warning("website proxy: the chat server is unreachable (%s)", type(exc).__name__)
            return plain(502, "Bad gateway: the chat server is not answering.", https)
        try:
            client.headers.update(harden({}, https))
            await client.prepare(request)
            request.app[SOCKETS].add(client)

            async def pump(source, target) -> None:
                async for message in source:
                    if message.type == WSMsgType.TEXT:
                        await target.send_str(message.data)
                    elif message.type == WSMsgType.BINARY:
                        await target.send_bytes(message.data)
                    else:  # ERROR: the loop ends on CLOSE by itself
                        break

            tasks = [
                asyncio.ensure_future(pump(client, upstream)),
                asyncio.ensure_future(pump(upstream, client)),
            ]
            try:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            # the first side's close code, passed on (1005/1006 are never sent, RFC 6455 §7.4.1)
            code = client.close_code or upstream.close_code or 1000
            code = code if 1000 <= code < 5000 and code not in (1004, 1005, 1006, 1015) else 1000
            await client.close(code=code)
            await upstream.close(code=code)
        finally:
            await upstream.close()
        return client

    async def handle(request: web.Request) -> web.StreamResponse:
        path = request.raw_path.partition("?")[0]
        try:
            if not path.startswith("/"):  # e.g. an absolute-form target: never another host
                raise Refused(400, "Bad request.")
            if path == SOCKET_PATH or path.startswith(SOCKET_PATH):
                if path != SOCKET_PATH:
                    raise Refused(404, "Not found.")
                if request.method not in SOCKET_METHODS:
                    raise Refused(405, "Method not allowed.")
                origin = request.headers.get("Origin")
                if not socket_request_allowed(request.headers.get("Host"), origin, names):
                    logger.info("website proxy: refused a socket from another origin or host")
                    raise Refused(403, "This page may not open the chat.")
                # the query string as sent (engine.io's sid, transport, cache breaker)
                url = URL(f"{rasa_base}{request.raw_path}", encoded=True)
                headers = forward_headers(request, keep_host=False, origin=rasa_origin)
                if request.headers.get("Upgrade", "").lower() == "websocket":
                    return await forward_socket(request, url, headers)
                session = request.app[SESSIONS]["rasa"]
                return await forward_http(
                    request, session, url, headers, MAX_SOCKET_BODY, "chat server"
                )
            url = URL(f"{site_base}{request.raw_path}", encoded=True)
            headers = forward_headers(request, keep_host=True)
            session = request.app[SESSIONS]["site"]
            return await forward_http(request, session, url, headers, MAX_PAGE_BODY, "website")
        except Refused as refused:
            return plain(refused.status, refused.reason, https)

    app = web.Application(client_max_size=MAX_SOCKET_BODY)
    app[SOCKETS] = weakref.WeakSet()
    app.cleanup_ctx.append(sessions)
    app.on_shutdown.append(close_sockets)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app
