"""Opening the website's chat in a real browser: how often the greeting comes first, how fast.

Starts the stack with the website on free ports and throwaway SQLite databases, then opens the
landing page in a fresh Chromium context `--openings` times and clicks "Open the chat" as soon
as the page has loaded, as a quick visitor does (the widget then often opens more than one
socket). For each opening it records whether the first reply is the assistant's introduction
(or another reply, such as the channel's "couldn't read that message"), the time from the click
to the greeting, and how many sockets the page opened. Prints the counts and percentiles.

    .venv/bin/python bench/website.py [--openings 80] [--model models/iop.tar.gz]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from bench.latency import percentile  # noqa: E402
from bot.apps.web import WIDGET_BUNDLE, widget_installed  # noqa: E402
from bot.db.migrate import upgrade  # noqa: E402
from bot.ops.stack import Stack  # noqa: E402
from tests.browser.conftest import CHROMIUM  # noqa: E402
from tests.conftest import free_port  # noqa: E402

GREETING = "automated assistant"  # in the introduction (data/responses)
WAIT_MS = 20_000


def open_once(browser, url: str) -> tuple[str, float | None, int]:
    """One visitor: (the first reply's kind, seconds from the click to it, sockets opened)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    try:
        page.goto(url)
        start = time.perf_counter()
        page.get_by_role("button", name="Open the chat", exact=True).click()
        first = page.locator(".rw-response").first
        try:
            expect(first).not_to_have_text("", timeout=WAIT_MS)
        except AssertionError:
            return "no reply", None, len(sockets)
        elapsed = time.perf_counter() - start
        text = first.inner_text()
        if GREETING in text:
            return "greeting", elapsed, len(sockets)
        return ("refused" if "couldn't read" in text else "other reply"), elapsed, len(sockets)
    finally:
        context.close()


def main() -> int:
    """Open the chat `--openings` times and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--openings", type=int, default=80)
    parser.add_argument("--model", type=Path, default=REPO / "models" / "iop.tar.gz")
    args = parser.parse_args()
    if not widget_installed() or not CHROMIUM.exists():
        print(
            f"needs {WIDGET_BUNDLE} and {CHROMIUM}: run scripts/ensure-web.sh and "
            "scripts/ensure-chromium.sh (make test does both)",
            file=sys.stderr,
        )
        return 2
    work = Path(tempfile.mkdtemp(prefix="iop-bench-web-"))
    db = f"sqlite:///{work / 'iop.db'}"
    upgrade(db)
    web_port = free_port()
    stack = Stack(
        model=args.model,
        rasa_port=free_port(),
        action_port=free_port(),
        web_port=web_port,
        log_dir=work / "logs",
        extra_env={
            "DATABASE_URL": db,
            "TRACKER_DATABASE_URL": f"sqlite:///{work / 't.db'}",
            "IOP_WEBSITE_URL": f"http://127.0.0.1:{web_port}",
        },
    )
    stack.start()
    results = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
            )
            open_once(browser, stack.web_url)  # warm-up, not counted
            results = [open_once(browser, stack.web_url) for _ in range(args.openings)]
            browser.close()
    finally:
        stack.stop()
    kinds = Counter(kind for kind, _, _ in results)
    print(f"{args.openings} openings of the chat, a fresh browser context each, one Rasa process")
    for kind in ("greeting", "refused", "other reply", "no reply"):
        print(f"{kind:<12} {kinds[kind]}")
    times = [elapsed for kind, elapsed, _ in results if kind == "greeting"]
    if times:
        print(
            f"click to greeting  p50 {percentile(times, 50):5.0f} ms  "
            f"p95 {percentile(times, 95):5.0f} ms  max {max(times) * 1000:5.0f} ms"
        )
    sockets = Counter(count for _, _, count in results)
    print("sockets per page  " + ", ".join(f"{n}: {sockets[n]}" for n in sorted(sockets)))
    return 0 if kinds["greeting"] == args.openings else 1


if __name__ == "__main__":
    raise SystemExit(main())
