"""The public website in a real browser: the rasa-webchat widget against the real Rasa server,
action server and database (bot.ops.stack.Stack with the website), as visitors and participants
meet it: FAQ answers, a pre-assessment by buttons, a check-in from a personal link, crisis
help, phone and desktop layouts, no third-party requests, the chat socket on the website's own
origin (its front server forwards it to Rasa) from either loopback name, and the origin checks."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import yaml
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import create_engine, select, text

from bot.apps.web import WIDGET_BUNDLE
from bot.apps.web import create_app as create_website
from bot.db import get_sessionmaker
from bot.db.models import Assessment, CheckIn
from bot.db.participants import enroll, revoke
from bot.ops.stack import Stack
from bot.rasa.channels import ConversationIds
from bot.settings import REPO_ROOT, get_settings
from tests.conftest import settings_env

pytestmark = pytest.mark.stack

CLINIC = get_settings().clinic
VALUES = CLINIC.response_values()
FAQ = yaml.safe_load((REPO_ROOT / "data" / "responses" / "faq.yml").read_text())["responses"]
WAIT_MS = 20_000
# Button payloads (what the REST conversation tests send); the page shows each one's title.
ASSESSMENT_BUTTONS = [
    "Yes", "No", "No", "No",
    "18 or older", "Substance use", "Alcohol", "No", "Yes", "No",
    "Several days", "Several days", "Several days", "Several days", "4",
    "Yes", "Evening", "In person", "Yes", "Self-pay", "No",
]  # fmt: skip
CHECKIN_BUTTONS = ["4", "2", "Nothing", "No", "Nothing to add"]
# The title of the latest message's button with a given payload, once the page shows it
# (the widget keeps the conversation, payloads included, in sessionStorage).
SHOWN_BUTTON_TITLE = """(payload) => {
  const conversation = JSON.parse(sessionStorage.getItem("chat_session") || "{}").conversation;
  const last = (conversation || []).slice(-1)[0];
  if (!last || last.sender !== "response") return null;
  const button = (last.quick_replies || last.buttons || []).find((b) => b.payload === payload);
  if (!button) return null;
  const shown = [...document.querySelectorAll(".rw-replies [role=button]")];
  return shown.some((el) => el.textContent.trim() === button.title) ? button.title : null;
}"""


@pytest.fixture(scope="module")
def site(stack: Stack) -> Stack:
    """The session's stack (Rasa, actions, website; the widget allowed from the site)."""
    if stack.web_port is None:  # the stack starts the website only when the widget is there
        pytest.fail(f"{WIDGET_BUNDLE} missing: run scripts/ensure-web.sh (make test does)")
    return stack


# ---- helpers ----------------------------------------------------------------------------------


def squash(value: str) -> str:
    return " ".join(value.split())


def first_sentence(topic: str) -> str:
    """The start of the FAQ answer for `topic`, as the widget shows it."""
    answer = FAQ[f"utter_faq/{topic}"][0]["text"].format(**VALUES).replace("**", "")
    return squash(answer).split(". ")[0]


def bot_texts(page: Page) -> list[str]:
    return [squash(t) for t in page.locator(".rw-response").all_inner_texts()]


def open_chat(page: Page, url: str) -> None:
    """Open the landing page and the chat; wait for the greeting."""
    page.goto(url)
    page.get_by_role("button", name="Open the chat", exact=True).click()
    wait_for_greeting(page)


def wait_for_greeting(page: Page) -> None:
    """The assistant's introduction is the first reply, with its topic buttons."""
    expect(page.locator(".rw-response").first).to_contain_text(
        "automated assistant", timeout=WAIT_MS
    )
    expect(reply_button(page, "What is IOP?")).to_be_visible(timeout=WAIT_MS)


def say(page: Page, message: str) -> None:
    """Type a message into the widget and send it with Enter."""
    before = page.locator(".rw-response").count()
    page.get_by_label("Your message").fill(message)
    page.get_by_label("Your message").press("Enter")
    expect(page.locator(".rw-client").last).to_have_text(message)
    expect(page.locator(".rw-response")).not_to_have_count(before, timeout=WAIT_MS)


def reply_button(page: Page, title: str):
    """A quick-reply button of the latest message (the widget shows only those)."""
    return page.locator(".rw-replies").last.get_by_role("button", name=title, exact=True)


def choose(page: Page, payload: str, keyboard: bool = False) -> None:
    """Click the latest message's quick reply with `payload` (or focus it and press Enter)."""
    try:
        handle = page.wait_for_function(SHOWN_BUTTON_TITLE, arg=payload, timeout=WAIT_MS)
    except PlaywrightTimeout:
        pytest.fail(f"no button {payload!r} after: {bot_texts(page)[-2:]}")
    title = handle.json_value()
    button = reply_button(page, title)
    if keyboard:
        button.focus()
        page.keyboard.press("Enter")
    else:
        button.click()
    expect(page.locator(".rw-client").last).to_have_text(title, timeout=WAIT_MS)


def conversation_of(page: Page) -> str:
    """The conversation (Rasa's sender id) of the session id the server issued the widget."""
    session_id = page.evaluate("JSON.parse(sessionStorage.getItem('chat_session')).session_id")
    return ConversationIds.conversation(session_id)


# The bot's messages after the visitor's latest one.
LATEST_REPLIES = (
    "xpath=(//div[contains(@class, 'rw-from-client')])[last()]"
    "/following-sibling::div[contains(@class, 'rw-from-response')]"
)


def wait_for_reply(page: Page, fragment: str) -> str:
    """Wait until a reply to the latest message contains `fragment` (case-sensitive); return
    the text of those replies."""
    replies = page.locator(LATEST_REPLIES)
    matching = replies.filter(has_text=re.compile(re.escape(fragment)))
    expect(matching.first).to_be_visible(timeout=WAIT_MS)
    return squash(" ".join(replies.all_inner_texts()))


def tracker_events(tracker_url: str) -> str:
    """Every event Rasa stored, as text (the transcripts)."""
    engine = create_engine(tracker_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT data FROM events")).scalars()
            return "\n".join(str(row) for row in rows)
    finally:
        engine.dispose()


def enroll_participant(url: str, name: str) -> tuple[int, str]:
    with get_sessionmaker(url)() as session, session.begin():
        enrollment = enroll(session, name)
    return enrollment.participant_id, enrollment.token


# ---- visitors ---------------------------------------------------------------------------------


def test_a_visitor_asks_two_questions_and_reads_the_answers(site: Stack, page: Page) -> None:
    open_chat(page, site.web_url)
    say(page, "How many weeks does the program last?")
    wait_for_reply(page, first_sentence("duration"))
    say(page, "Is it covered by my insurance?")
    wait_for_reply(page, first_sentence("cost_insurance"))
    for log in site.log_dir.glob("*.log"):  # SPEC §5: no message text in any server's log
        assert "covered by my insurance" not in log.read_text(errors="replace"), log.name
    # the conversation survives a reload (per-tab session storage), greeting not repeated
    count = page.locator(".rw-response").count()
    page.reload()
    expect(page.locator(".rw-response", has_text=first_sentence("cost_insurance"))).to_be_visible()
    expect(page.locator(".rw-response")).to_have_count(count)


def test_buttons_through_the_preassessment_store_an_assessment(
    site: Stack, page: Page, stack_database_url: str
) -> None:
    open_chat(page, site.web_url)
    choose(page, "What is IOP?", keyboard=True)
    choose(page, "/start_assessment")
    for index, payload in enumerate(ASSESSMENT_BUTTONS):
        choose(page, payload, keyboard=index % 5 == 0)
    reply = wait_for_reply(page, "IOP-")
    conversation = conversation_of(page)
    with get_sessionmaker(stack_database_url)() as session:
        rows = session.execute(
            select(Assessment).where(Assessment.conversation_id == conversation)
        ).scalars()
        [row] = list(rows)
    assert row.recommendation == "iop"
    assert row.reference in reply


def test_keyboard_only(site: Stack, page: Page) -> None:
    page.goto(site.web_url)
    for _ in range(20):  # Tab until the "Open the chat" button has focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "open-chat":
            break
    else:
        pytest.fail("the Open the chat button is not reachable with Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_label("Your message")).to_be_focused(timeout=WAIT_MS)
    page.keyboard.type("Do you offer virtual sessions?")
    page.keyboard.press("Enter")
    wait_for_reply(page, first_sentence("transportation_telehealth"))


def test_a_crisis_message_shows_the_crisis_lines(site: Stack, page: Page) -> None:
    open_chat(page, site.web_url)
    say(page, "i don't want to live anymore")
    reply = wait_for_reply(page, CLINIC.crisis.lifeline)
    assert CLINIC.crisis.emergency in reply and CLINIC.crisis.text_line_number in reply
    # and the widget's own header carries them too
    expect(page.locator(".rw-header")).to_contain_text(f"text {CLINIC.crisis.lifeline}")


def test_the_chat_opened_before_its_socket_connects_still_greets(site: Stack, page: Page) -> None:
    # rasa-webchat opens another socket whenever the open chat re-renders before its socket has
    # connected; every one of them asks for a conversation on the newest socket. The socket.io
    # handshakes are held here until the chat is open and a second socket has started.
    held: list = []
    released = False

    def hold(route) -> None:
        if released:
            route.continue_()
        else:
            held.append(route)

    page.route(re.compile(r"/socket\.io/\?(?!.*[?&]sid=)"), hold)
    page.goto(site.web_url)
    page.get_by_role("button", name="Open the chat", exact=True).click()
    expect(page.locator(".rw-conversation-container")).to_be_visible()
    for _ in range(100):
        if len(held) >= 2:
            break
        page.wait_for_timeout(50)
    assert len(held) >= 2, "the widget opened only one socket: this test no longer applies"
    released = True
    for route in held:
        route.continue_()
    wait_for_greeting(page)
    say(page, "What is the weekly schedule?")
    wait_for_reply(page, first_sentence("schedule"))
    assert not [text for text in bot_texts(page) if "couldn't read" in text]


# ---- participants -----------------------------------------------------------------------------


def test_a_participant_link_does_a_checkin_that_is_stored(
    site: Stack, page: Page, stack_database_url: str, stack_tracker_url: str
) -> None:
    participant_id, token = enroll_participant(stack_database_url, "Browser participant")
    page.goto(f"{site.web_url}/checkin#token={token}")
    expect(page.locator(".rw-response", has_text="mood")).to_be_visible(timeout=WAIT_MS)
    assert urlsplit(page.url).fragment == ""  # the token left the address bar
    choose(page, CHECKIN_BUTTONS[0])
    page.wait_for_function(SHOWN_BUTTON_TITLE, arg=CHECKIN_BUTTONS[1], timeout=WAIT_MS)
    page.reload()  # the link's fragment is gone: the page keeps the token for this tab only
    for payload in CHECKIN_BUTTONS[1:]:
        choose(page, payload)
    wait_for_reply(page, "Thanks for checking in.")
    with get_sessionmaker(stack_database_url)() as session:
        [row] = session.execute(
            select(CheckIn).where(CheckIn.participant_id == participant_id)
        ).scalars()
        assert (row.mood, row.craving, row.used_since_last) == (4, 2, False)
        assert row.conversation_id == conversation_of(page)
    assert token not in page.locator("body").inner_text()
    # no token in Rasa's transcripts or any server's log, only its hash
    assert token not in tracker_events(stack_tracker_url)
    for log in site.log_dir.glob("*.log"):
        assert token not in log.read_text(errors="replace"), log.name


def test_checkin_page_explains_a_missing_or_broken_link(site: Stack, page: Page) -> None:
    page.goto(f"{site.web_url}/checkin")
    expect(page.get_by_role("alert")).to_contain_text("personal check-in link")
    expect(page.locator(".rw-widget-container")).to_have_count(0)
    page.goto(f"{site.web_url}/checkin#token=short")
    page.reload()  # a new fragment on the same page does not reload it
    expect(page.get_by_role("alert")).to_contain_text("incomplete or damaged")
    assert urlsplit(page.url).fragment == ""


def test_a_revoked_link_gets_the_needs_link_answer(
    site: Stack, page: Page, stack_database_url: str
) -> None:
    participant_id, token = enroll_participant(stack_database_url, "Revoked in browser")
    with get_sessionmaker(stack_database_url)() as session, session.begin():
        revoke(session, participant_id)
    page.goto(f"{site.web_url}/checkin#token={token}")
    needs_link = page.locator(".rw-response", has_text=re.compile("personal check-in link"))
    expect(needs_link).to_be_visible(timeout=WAIT_MS)


# ---- layout, privacy and security -------------------------------------------------------------


def test_phone_and_desktop_screenshots(site: Stack, browser, artifacts_dir: Path) -> None:
    for name, viewport in (("phone", (375, 812)), ("desktop", (1280, 900))):
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        page = context.new_page()
        page.goto(site.web_url)
        expect(page.locator(".crisis-banner")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport[0]
        open_chat(page, site.web_url)
        # the open widget covers a phone's page: the crisis lines stay in view in its header
        header = page.locator(".rw-header").bounding_box()
        assert header and header["y"] >= 0 and header["y"] + header["height"] <= viewport[1]
        expect(page.locator(".rw-header")).to_contain_text(CLINIC.crisis.lifeline)
        path = artifacts_dir / f"website-{name}.png"
        page.screenshot(path=str(path))
        assert path.stat().st_size > 10_000
        context.close()


def test_checkin_page_on_a_phone(
    site: Stack, browser, artifacts_dir: Path, stack_database_url: str
) -> None:
    _, token = enroll_participant(stack_database_url, "Phone participant")
    context = browser.new_context(viewport={"width": 375, "height": 812})
    page = context.new_page()
    page.goto(f"{site.web_url}/checkin#token={token}")
    expect(page.locator(".rw-response", has_text="mood")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(".crisis-banner")).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(artifacts_dir / "website-checkin-phone.png"))
    context.close()


def test_reduced_motion_turns_the_animations_off(site: Stack, page: Page) -> None:
    page.emulate_media(reduced_motion="reduce")
    page.goto(site.web_url)
    launcher = page.get_by_role("button", name=re.compile("Open the chat with our"))
    expect(launcher).to_be_visible(timeout=WAIT_MS)
    duration = launcher.evaluate("(el) => getComputedStyle(el).animationDuration")
    assert float(duration.rstrip("ms")) < 0.1, duration


def test_the_landing_page_shows_clinic_details_and_the_privacy_notice(
    site: Stack, page: Page
) -> None:
    page.goto(site.web_url)
    body = squash(page.locator("body").inner_text())
    for detail in (
        CLINIC.phone,
        CLINIC.hours_text(),
        CLINIC.email,
        f"{CLINIC.retention_days} days",
    ):
        assert detail in body
    for phrase in ("42 CFR Part 2", "HIPAA", "automated", "Who can see it"):
        assert phrase in body
    banner = page.locator(".crisis-banner")
    expect(banner).to_contain_text("988")
    expect(banner).to_contain_text("911")
    expect(banner).to_contain_text("HOME to 741741")
    # keyboard: the skip link is the first stop and leads to the main content
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()


def test_every_request_goes_to_our_own_servers(
    site: Stack, page: Page, stack_database_url: str
) -> None:
    ours = {urlsplit(site.web_url).netloc}  # the chat socket too: the website forwards it
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    page.on("websocket", lambda socket: seen.append(socket.url))
    # anything else is also stopped here, so the test never reaches another host
    page.route(
        re.compile(r"^(?!https?://127\.0\.0\.1:)"), lambda route: route.abort("blockedbyclient")
    )
    open_chat(page, site.web_url)
    say(page, "What is the weekly schedule?")
    wait_for_reply(page, first_sentence("schedule"))
    _, token = enroll_participant(stack_database_url, "Request watcher")
    page.goto(f"{site.web_url}/checkin#token={token}")
    expect(page.locator(".rw-response", has_text="mood")).to_be_visible(timeout=WAIT_MS)
    network = [url for url in seen if urlsplit(url).scheme in ("http", "https", "ws", "wss")]
    foreign = [url for url in network if urlsplit(url).netloc not in ours]
    assert foreign == []
    assert any(urlsplit(url).scheme == "ws" for url in seen)  # the chat itself was seen


def test_the_content_security_policy_blocks_third_party_hosts(site: Stack, page: Page) -> None:
    response = requests.get(site.web_url, timeout=10)
    policy = response.headers["Content-Security-Policy"]
    web = urlsplit(site.web_url).netloc
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert f"connect-src 'self' ws://{web};" in policy  # the chat socket is same-origin
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    bundle = requests.get(f"{site.web_url}/vendor/rasa-webchat.js", timeout=10)
    assert bundle.status_code == 200 and "fonts.googleapis.com" not in bundle.text
    # a third-party stylesheet (what the widget's bundle asks for) is refused by the browser
    page.goto(site.web_url)
    blocked = page.evaluate(
        """() => new Promise((resolve) => {
            document.addEventListener("securitypolicyviolation",
                (event) => resolve(event.blockedURI), { once: true });
            const link = document.createElement("link");
            link.rel = "stylesheet";
            link.href = "https://fonts.googleapis.com/css?family=Inter";
            document.head.appendChild(link);
        })"""
    )
    assert blocked.startswith("https://fonts.googleapis.com")


def websocket_handshake(url: str, origin: str) -> int:
    """The HTTP status of a websocket upgrade request to `url` from `origin` (101 = opened)."""
    parts = urlsplit(url)
    request = (
        f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: {origin}\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall(request.encode("ascii"))
        status_line = connection.recv(4096).split(b"\r\n", 1)[0]
    return int(status_line.split()[1])


def test_a_socket_from_a_foreign_origin_is_refused(site: Stack) -> None:
    handshake = f"{site.rasa_url}/socket.io/?EIO=4&transport=polling"
    refused = requests.get(handshake, headers={"Origin": "https://evil.example"}, timeout=10)
    assert refused.status_code == 400
    allowed = requests.get(handshake, headers={"Origin": site.web_url}, timeout=10)
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == site.web_url
    # browsers apply no CORS to websockets: only the server's origin check stops another site
    upgrade = f"{site.rasa_url}/socket.io/?EIO=4&transport=websocket"
    assert websocket_handshake(upgrade, "https://evil.example") == 400
    assert websocket_handshake(upgrade, site.web_url) == 101


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_the_chat_works_on_either_loopback_address(site: Stack, page: Page, host: str) -> None:
    # issue #27: opened as localhost the chat's input never enabled (a cross-origin socket)
    url = f"http://{host}:{site.web_port}"
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    open_chat(page, url)
    expect(page.get_by_label("Your message")).to_be_enabled()
    say(page, "How many weeks does the program last?")
    wait_for_reply(page, first_sentence("duration"))
    # the widget's socket is the page's own origin, upgraded from long polling to a websocket
    assert sockets and {urlsplit(s).netloc for s in sockets} == {f"{host}:{site.web_port}"}
    assert all(urlsplit(s).path == "/socket.io/" for s in sockets)


def test_the_websites_socket_admits_only_its_own_pages(site: Stack) -> None:
    port = site.web_port
    for host in ("localhost", "127.0.0.1"):
        own = f"http://{host}:{port}"
        handshake = f"{own}/socket.io/?EIO=4&transport=polling"
        refused = requests.get(handshake, headers={"Origin": "https://evil.example"}, timeout=10)
        assert refused.status_code == 403
        other_name = "127.0.0.1" if host == "localhost" else "localhost"
        other = requests.get(
            handshake, headers={"Origin": f"http://{other_name}:{port}"}, timeout=10
        )
        assert other.status_code == 403  # a page of the other name is another origin
        allowed = requests.get(handshake, headers={"Origin": own}, timeout=10)
        assert allowed.status_code == 200 and allowed.text.startswith("0{")
        assert "Access-Control-Allow-Origin" not in allowed.headers
        assert allowed.headers["X-Content-Type-Options"] == "nosniff"
        upgrade = f"{own}/socket.io/?EIO=4&transport=websocket"
        assert websocket_handshake(upgrade, "https://evil.example") == 403
        assert websocket_handshake(upgrade, own) == 101
    # DNS rebinding: a foreign name that resolves here is same-origin to the browser
    rebound = requests.get(
        f"http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling",
        headers={"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"},
        timeout=10,
    )
    assert rebound.status_code == 403


def test_error_responses_carry_the_security_headers() -> None:
    app = create_website()

    @app.get("/fails")
    def fails() -> str:
        raise RuntimeError("a stack trace that must not be shown")

    client = app.test_client()
    for method, url, status in (("GET", "/nope", 404), ("POST", "/", 405), ("GET", "/fails", 500)):
        response = client.open(url, method=method)
        assert response.status_code == status, url
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert b"must not be shown" not in response.data and b"Traceback" not in response.data


@pytest.mark.parametrize(
    ("address", "hsts"),
    [("https://iop.example.org", True), ("HTTPS://IOP.example.org/", True), (None, False)],
)
def test_hsts_only_when_the_site_is_served_over_https(address: str | None, hsts: bool) -> None:
    with settings_env("IOP_WEBSITE_URL", address):
        response = create_website().test_client().get("/healthz")
    assert response.status_code == 200
    assert response.headers.get("Strict-Transport-Security") == (
        "max-age=31536000" if hsts else None
    )
