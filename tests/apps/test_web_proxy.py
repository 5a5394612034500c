"""The website's front server (bot/apps/web/proxy.py) against stand-in upstreams: the origin rule,
what is forwarded (query string, Origin, X-Forwarded-For, bodies, websocket frames), the
security headers, the size limit and a 502 when an upstream is down."""

from __future__ import annotations

import asyncio
import io
import os
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
import pytest
import requests
from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

from bot.apps.web import __main__ as web_main
from bot.apps.web import content_security_policy, create_app, widget_installed
from bot.apps.web.proxy import (
    MAX_SOCKET_BODY,
    create_proxy,
    host_name,
    socket_request_allowed,
    website_host_names,
)
from bot.ops.stack import Service
from tests.conftest import free_port, listening_sockets

LOCAL_SITE = "http://127.0.0.1:8080"
LOOPBACK = website_host_names(LOCAL_SITE)
PUBLIC = website_host_names("https://www.clinic.example")
QUERY = "EIO=4&transport=polling&t=Pq%2Fx-1&sid=abc_DEF"


@pytest.mark.parametrize(
    ("host", "origin", "names", "allowed"),
    [
        ("localhost:8080", "http://localhost:8080", LOOPBACK, True),
        ("127.0.0.1:8080", "http://127.0.0.1:8080", LOOPBACK, True),
        ("LocalHost:8080", "http://localhost:8080", LOOPBACK, True),
        ("[::1]:8080", "http://[::1]:8080", LOOPBACK, True),
        ("localhost:8080", None, LOOPBACK, True),  # not a browser page: Rasa checks nothing more
        # another page than the one addressed: another site, or the other loopback name
        ("localhost:8080", "http://127.0.0.1:8080", LOOPBACK, False),
        ("localhost:8080", "https://evil.example", LOOPBACK, False),
        ("localhost:8080", "http://localhost:9999", LOOPBACK, False),
        ("localhost:8080", "null", LOOPBACK, False),
        # DNS rebinding: a foreign name resolving to us is same-origin to the browser
        ("evil.example:8080", "http://evil.example:8080", LOOPBACK, False),
        ("evil.example:8080", None, LOOPBACK, False),
        (None, None, LOOPBACK, False),
        ("localhost:8080/x", "http://localhost:8080/x", LOOPBACK, False),
        ("localhost:99999", "http://localhost:99999", LOOPBACK, False),
        # deployed behind one public hostname (nginx passes the Host on)
        ("www.clinic.example", "https://www.clinic.example", PUBLIC, True),
        ("localhost:8080", "http://localhost:8080", PUBLIC, False),
        ("clinic.example", "https://clinic.example", PUBLIC, False),
    ],
)
def test_the_origin_rule(host, origin, names, allowed: bool) -> None:
    assert socket_request_allowed(host, origin, names) is allowed


def test_host_names() -> None:
    assert host_name("LocalHost:8080") == "localhost"
    assert host_name("[::1]:80") == "::1"
    assert host_name("a b") is None and host_name("x@y") is None and host_name("") is None
    assert website_host_names("http://localhost:8080") == LOOPBACK
    assert website_host_names("https://www.Clinic.example/") == PUBLIC == {"www.clinic.example"}


# ---- through the proxy ------------------------------------------------------------------------


class Upstreams:
    """A stand-in Rasa (socket.io endpoint, HTTP and websocket) and website, recording what
    reached them."""

    def __init__(self) -> None:
        self.seen: list[dict] = []

    def rasa(self) -> web.Application:
        async def socket(request: web.Request) -> web.StreamResponse:
            self.seen.append(
                {
                    "path": request.raw_path,
                    "method": request.method,
                    "headers": request.headers.copy(),
                    "body": await request.read(),
                }
            )
            if request.headers.get("Origin") not in (None, LOCAL_SITE):  # Rasa's own check
                return web.Response(status=400, text="Not an accepted origin.")
            ws = web.WebSocketResponse()
            if ws.can_prepare(request).ok:
                await ws.prepare(request)
                async for message in ws:
                    if message.data == "bye":
                        await ws.close(code=4001)
                    else:
                        await ws.send_str(f"echo {message.data}")
                return ws
            return web.Response(
                text="0{}",
                headers={
                    "Access-Control-Allow-Origin": LOCAL_SITE,
                    "Access-Control-Allow-Credentials": "true",
                },
            )

        app = web.Application(client_max_size=4 * MAX_SOCKET_BODY)
        app.router.add_route("*", "/socket.io/", socket)
        return app

    def site(self) -> web.Application:
        async def page(request: web.Request) -> web.Response:
            self.seen.append({"path": request.raw_path, "headers": request.headers.copy()})
            return web.Response(
                text="<p>page</p>",
                content_type="text/html",
                headers={"Content-Security-Policy": "default-src 'self'"},
            )

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", page)
        return app


async def through_proxy(
    test: Callable[[str, Upstreams], Awaitable[None]],
    rasa_up: bool = True,
    site_up: bool = True,
    website_url: str = LOCAL_SITE,
) -> Upstreams:
    """Run `test(proxy_url, upstreams)` with the proxy in front of the stand-ins."""
    upstreams = Upstreams()
    servers = []
    urls = []
    for up, app in ((site_up, upstreams.site()), (rasa_up, upstreams.rasa())):
        if up:
            server = TestServer(app, host="127.0.0.1")
            await server.start_server()
            servers.append(server)
            urls.append(str(server.make_url("")).rstrip("/"))
        else:
            urls.append(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    proxy = TestServer(create_proxy(urls[0], urls[1], website_url=website_url), host="127.0.0.1")
    await proxy.start_server()
    try:
        await test(str(proxy.make_url("")).rstrip("/"), upstreams)
    finally:
        await proxy.close()
        for server in servers:
            await server.close()
    return upstreams


def run_async(coroutine):
    """asyncio.run in a thread of its own: the browser tests' playwright keeps a loop running in
    this one when they share the session."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def run(test, **kwargs) -> Upstreams:
    return run_async(through_proxy(test, **kwargs))


def same_origin(url: str) -> dict[str, str]:
    return {"Origin": url}


def assert_security_headers(headers) -> None:
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in headers
    assert headers["Server"] == "iop-website"


def test_a_poll_reaches_rasa_with_its_query_the_website_origin_and_the_client_address() -> None:
    async def test(url: str, upstreams: Upstreams) -> None:
        async with aiohttp.ClientSession() as client:
            response = await client.get(
                URL(f"{url}/socket.io/?{QUERY}", encoded=True),  # sent as written
                headers={**same_origin(url), "X-Forwarded-For": "203.0.113.9"},
            )
            assert response.status == 200 and await response.text() == "0{}"
            # same-origin now: Rasa's CORS answer (naming IOP_WEBSITE_URL) is not passed on
            assert not [h for h in response.headers if h.lower().startswith("access-control-")]
            assert_security_headers(response.headers)
            assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")

    [seen] = run(test).seen
    assert seen["path"] == f"/socket.io/?{QUERY}"  # byte for byte
    assert seen["headers"]["Origin"] == LOCAL_SITE
    # what the browser claimed stays first; the address the proxy saw is last (trusted: 1)
    assert seen["headers"]["X-Forwarded-For"] == "203.0.113.9, 127.0.0.1"
    assert seen["headers"]["Host"].startswith("127.0.0.1:")
    assert seen["headers"]["Host"] != LOCAL_SITE.removeprefix("http://")


def test_a_post_body_is_forwarded_and_one_too_large_is_refused() -> None:
    async def test(url: str, upstreams: Upstreams) -> None:
        async with aiohttp.ClientSession() as client:
            ok = await client.post(
                f"{url}/socket.io/?{QUERY}", data=b'42["user_uttered",{}]', headers=same_origin(url)
            )
            assert ok.status == 200
            big = io.BytesIO(b"x" * (MAX_SOCKET_BODY + 1))
            refused = await client.post(
                f"{url}/socket.io/?{QUERY}", data=big, headers=same_origin(url)
            )
            assert refused.status == 413
            assert_security_headers(refused.headers)

            async def chunked():
                for _ in range(3):
                    yield b"x" * (MAX_SOCKET_BODY // 2)

            refused = await client.post(
                f"{url}/socket.io/?{QUERY}", data=chunked(), headers=same_origin(url)
            )
            assert refused.status == 413

    seen = run(test).seen
    assert [s["body"] for s in seen] == [b'42["user_uttered",{}]']
    assert seen[0]["method"] == "POST"


def test_another_origin_or_host_is_refused_before_rasa() -> None:
    async def test(url: str, upstreams: Upstreams) -> None:
        port = url.rsplit(":", 1)[1]
        async with aiohttp.ClientSession() as client:
            for headers in (
                {"Origin": "https://evil.example"},
                {"Origin": f"http://localhost:{port}"},  # Host is 127.0.0.1: another page
                {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"},
            ):
                response = await client.get(f"{url}/socket.io/?{QUERY}", headers=headers)
                assert response.status == 403, headers
                assert_security_headers(response.headers)
                upgrade = await websocket_status(client, url, headers)
                assert upgrade == 403, headers
            # addressed as localhost, from a localhost page: allowed like 127.0.0.1
            headers = {"Host": f"localhost:{port}", "Origin": f"http://localhost:{port}"}
            response = await client.get(f"{url}/socket.io/?{QUERY}", headers=headers)
            assert response.status == 200
            other = await client.get(f"{url}/socket.io/x?{QUERY}", headers=same_origin(url))
            assert other.status == 404
            put = await client.put(f"{url}/socket.io/?{QUERY}", headers=same_origin(url))
            assert put.status == 405

    seen = run(test).seen
    assert len(seen) == 1 and seen[0]["headers"]["Origin"] == LOCAL_SITE


async def websocket_status(client: aiohttp.ClientSession, url: str, headers: dict) -> int:
    try:
        ws = await client.ws_connect(f"{url}/socket.io/?EIO=4&transport=websocket", headers=headers)
    except aiohttp.WSServerHandshakeError as refused:
        return refused.status
    await ws.close()
    return 101


def test_a_websocket_is_carried_both_ways_and_closed_from_either_side() -> None:
    async def test(url: str, upstreams: Upstreams) -> None:
        async with aiohttp.ClientSession() as client:
            ws = await client.ws_connect(
                f"{url}/socket.io/?EIO=4&transport=websocket&sid=abc", headers=same_origin(url)
            )
            for text in ("2probe", "5", '42["user_uttered",{"message":"hi"}]'):
                await ws.send_str(text)
                assert (await ws.receive_str(timeout=5)) == f"echo {text}"
            await ws.send_str("bye")  # the upstream closes: so does the browser's socket
            message = await ws.receive(timeout=5)
            assert message.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 4001
            await ws.close()
            # and a browser that leaves closes the upstream socket
            ws = await client.ws_connect(
                f"{url}/socket.io/?EIO=4&transport=websocket", headers=same_origin(url)
            )
            await ws.send_str("3")
            assert (await ws.receive_str(timeout=5)) == "echo 3"
            await ws.close()

    seen = run(test).seen
    assert [s["path"] for s in seen] == [
        "/socket.io/?EIO=4&transport=websocket&sid=abc",
        "/socket.io/?EIO=4&transport=websocket",
    ]
    assert all(s["headers"]["Origin"] == LOCAL_SITE for s in seen)
    assert all(s["headers"]["X-Forwarded-For"] == "127.0.0.1" for s in seen)


def test_an_upstream_refusal_of_a_websocket_is_passed_on() -> None:
    async def test(url: str, upstreams: Upstreams) -> None:
        async with aiohttp.ClientSession() as client:
            assert await websocket_status(client, url, same_origin(url)) == 400

    # the proxy sends this IOP_WEBSITE_URL's origin, which the stand-in Rasa does not admit
    seen = run(test, website_url="http://localhost:8080").seen
    assert seen[0]["headers"]["Origin"] == "http://localhost:8080"


def test_rasa_down_is_a_502_and_the_pages_keep_serving() -> None:
    async def test(url: str, upstreams: Upstreams) -> None:
        async with aiohttp.ClientSession() as client:
            for _ in range(2):
                response = await client.get(f"{url}/socket.io/?{QUERY}", headers=same_origin(url))
                assert response.status == 502
                assert "not answering" in await response.text()
                assert_security_headers(response.headers)
                assert await websocket_status(client, url, same_origin(url)) == 502
            page = await client.get(f"{url}/")
            assert page.status == 200 and "page" in await page.text()

    run(test, rasa_up=False)


def test_the_website_down_is_a_502() -> None:
    async def test(url: str, upstreams: Upstreams) -> None:
        async with aiohttp.ClientSession() as client:
            response = await client.get(f"{url}/")
            assert response.status == 502
            assert_security_headers(response.headers)

    run(test, site_up=False)


def test_pages_keep_their_host_query_and_headers() -> None:
    async def test(url: str, upstreams: Upstreams) -> None:
        async with aiohttp.ClientSession() as client:
            response = await client.get(
                URL(f"{url}/reminders/stop?token=a%2Fb&x=1", encoded=True),
                headers={"Host": "localhost:8080"},
            )
            assert response.status == 200
            # the page's own CSP is kept; what it lacks is added
            assert response.headers["Content-Security-Policy"] == "default-src 'self'"
            assert_security_headers(response.headers)

    [seen] = run(test).seen
    assert seen["path"] == "/reminders/stop?token=a%2Fb&x=1"
    assert seen["headers"]["Host"] == "localhost:8080"  # the page's CSP names the ws:// of it
    assert seen["headers"]["X-Forwarded-For"] == "127.0.0.1"


@pytest.mark.parametrize("argv", [[], ["--host", "127.0.0.1"]], ids=["default", "explicit"])
def test_python_m_bot_apps_web_serves_pages_and_socket_without_logging_request_lines(
    argv: list[str], tmp_path: Path
) -> None:
    if not widget_installed():
        pytest.skip("the widget is not installed: run scripts/ensure-web.sh")
    port, rasa_port = free_port(), free_port()  # nothing listens on the Rasa port
    log = tmp_path / "web.log"
    service = Service(
        name="website",
        command=[
            sys.executable, "-m", "bot.apps.web", *argv, "--port", str(port),
            "--rasa-url", f"http://127.0.0.1:{rasa_port}",
        ],
        ready_url=f"http://127.0.0.1:{port}/healthz",
        log_path=log,
    )  # fmt: skip
    service.start(env={**os.environ, "IOP_WEBSITE_URL": "http://127.0.0.1:8080"})
    try:
        service.wait_ready(time.monotonic() + 60)
        assert service.process is not None
        sockets = listening_sockets(service.process.pid)
        if sockets is not None:  # /proc (Linux): the front server and waitress, loopback only
            assert {address for address, _ in sockets} == {"127.0.0.1"}
            assert port in {number for _, number in sockets} and len(sockets) == 2
        url = f"http://localhost:{port}"
        page = requests.get(url, timeout=10)
        assert page.status_code == 200
        policy = page.headers["Content-Security-Policy"]
        assert f"connect-src 'self' ws://localhost:{port};" in policy
        stop = requests.get(f"{url}/reminders/stop?token=secret-token-value", timeout=10)
        assert stop.status_code == 200
        poll = requests.get(f"{url}/socket.io/?{QUERY}", headers={"Origin": url}, timeout=10)
        assert poll.status_code == 502  # Rasa is down
        foreign = requests.get(
            f"{url}/socket.io/?{QUERY}", headers={"Origin": "https://x.example"}, timeout=10
        )
        assert foreign.status_code == 403
    finally:
        service.stop()
    output = log.read_text(errors="replace")
    assert f"website on http://127.0.0.1:{port}" in output
    assert "secret-token-value" not in output and "abc_DEF" not in output


def test_the_front_servers_host_is_loopback_unless_given() -> None:
    default = web_main.parse_args([])
    assert (default.host, default.port) == ("127.0.0.1", 8080)
    given = web_main.parse_args(["--host", "0.0.0.0", "--port", "8081"])  # noqa: S104
    assert (given.host, given.port) == ("0.0.0.0", 8081)  # noqa: S104


@pytest.mark.parametrize(
    ("argv", "host", "shown"),
    [
        ([], "127.0.0.1", "http://127.0.0.1:8123"),
        (["--host", "0.0.0.0"], "0.0.0.0", "http://0.0.0.0:8123"),  # noqa: S104
        (["--host", "::"], "::", "http://[::]:8123"),
    ],
)
def test_only_the_front_server_takes_the_host(
    argv: list[str],
    host: str,
    shown: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--host goes to the front server (aiohttp's run_app, a stand-in here: nothing listens
    beyond loopback); the website app behind it stays on a loopback port whatever --host says."""
    made = []
    front: dict = {}

    def create_server(app, **options):
        made.append(real_create_server(app, **options))
        return made[-1]

    def run_app(app, **options) -> None:
        front.update(options)
        (pages,) = made
        health = requests.get(f"http://127.0.0.1:{pages.effective_port}/healthz", timeout=10)
        front["pages answer"] = health.status_code

    real_create_server = web_main.create_server
    monkeypatch.setattr(web_main, "create_server", create_server)
    monkeypatch.setattr(web_main.web, "run_app", run_app)
    monkeypatch.setattr(web_main, "widget_installed", lambda: True)
    assert web_main.main([*argv, "--port", "8123"]) == 0
    assert front["host"] == host and front["port"] == 8123
    assert made[0].effective_host == "127.0.0.1" and front["pages answer"] == 200
    assert f"website on {shown} " in capsys.readouterr().out


# ---- the pages' Content-Security-Policy -------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "https", "connect"),
    [
        ("localhost:8080", False, "connect-src 'self' ws://localhost:8080;"),
        ("127.0.0.1:8080", False, "connect-src 'self' ws://127.0.0.1:8080;"),
        ("www.clinic.example", True, "connect-src 'self' wss://www.clinic.example;"),
        ("[::1]:8080", False, "connect-src 'self' ws://[::1]:8080;"),
        # a Host that is not one: only 'self', nothing injected into the policy
        ("x; script-src *", False, "connect-src 'self';"),
        ("", False, "connect-src 'self';"),
        (None, False, "connect-src 'self';"),
    ],
)
def test_the_pages_connect_only_to_their_own_origin(host, https: bool, connect: str) -> None:
    policy = content_security_policy(host, https)
    assert connect in policy
    assert policy.startswith("default-src 'self'") and "5005" not in policy


def test_the_page_names_no_socket_server_and_its_csp_follows_the_host() -> None:
    client = create_app().test_client()
    for host in ("localhost:8080", "127.0.0.1:8080"):
        response = client.get("/", headers={"Host": host})
        assert response.status_code == 200
        assert f"connect-src 'self' ws://{host};" in response.headers["Content-Security-Policy"]
        assert b"socketUrl" not in response.data and b"5005" not in response.data
