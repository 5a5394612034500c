"""The staff app in a real browser: sign in, open an urgent crisis flag, read, resolve."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db import get_sessionmaker
from bot.db.flags import open_flag
from bot.db.migrate import upgrade
from bot.db.models import AuditEntry, Flag
from bot.db.staff_accounts import create_staff
from bot.settings import REPO_ROOT, get_settings
from tests.apps.staff.conftest import add_checkins, add_participant
from tests.apps.staff.conversations import seed_crisis_conversation
from tests.conftest import free_port

PASSWORD = "correct horse battery"


@pytest.fixture
def staff_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    """`python -m bot.apps.staff` on a free port against a temp SQLite db with a seeded crisis
    flag."""
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'iop.db'}",
        "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'tracker.db'}",
        "IOP_VAR_DIR": str(tmp_path / "var"),
        "IOP_STAFF_SECRET_KEY": "browser-test-secret",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    url = env["DATABASE_URL"]
    upgrade(url)
    message_id = seed_crisis_conversation("visitor-browser")
    with get_sessionmaker(url)() as session, session.begin():
        create_staff(session, "casey", PASSWORD, "clinician")
        flag = open_flag(
            session,
            kind="crisis",
            severity="urgent",
            conversation_id="visitor-browser",
            reason="Crisis language in the chat",
            dedup_key="crisis:visitor-browser:1",
            message_id=message_id,
        )
        open_flag(
            session,
            kind="human_request",
            severity="normal",
            conversation_id="visitor-other",
            reason="Asked for a person",
            dedup_key="human:visitor-other:1",
        )
        flag_id = flag.id
    participant_id, _ = add_participant(url, "Alex P")
    add_checkins(url, participant_id, 30)
    port = free_port()
    log = (tmp_path / "staff.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.apps.staff", "--port", str(port)],
        cwd=REPO_ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "staff.log").read_text()
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "staff app did not answer /healthz"
            time.sleep(0.3)
        yield {
            "url": base,
            "db": url,
            "flag_id": flag_id,
            "participant_id": participant_id,
            "log": tmp_path / "staff.log",
        }
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        get_settings.cache_clear()


def test_sign_in_read_transcript_resolve_crisis_flag(page, staff_server, artifacts_dir) -> None:
    base = staff_server["url"]
    csp_errors: list[str] = []
    page.on(
        "console",
        lambda message: (
            csp_errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto(f"{base}/")
    assert page.url.startswith(f"{base}/login")
    page.fill("input[name=username]", "casey")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{base}/")

    # The queue: the urgent crisis flag first, the counts at the top.
    rows = page.locator("table.records tbody tr")
    assert rows.count() == 2
    assert "urgent" in rows.nth(0).inner_text() and "crisis" in rows.nth(0).inner_text()
    assert page.locator("[data-severity=urgent]").inner_text() == "1"
    rows.nth(0).locator("a:has-text('Open')").click()
    page.wait_for_url(f"{base}/flags/{staff_server['flag_id']}")

    # The transcript, with the flagged message highlighted by the stylesheet (allowed by CSP).
    flagged = page.locator("#flagged-message")
    assert "want to be alive anymore" in flagged.inner_text()
    border = flagged.evaluate("el => getComputedStyle(el).borderTopColor")
    assert border == "rgb(176, 58, 46)"
    assert "Take the screening" in page.locator("ol.transcript").inner_text()
    page.screenshot(path=str(artifacts_dir / "staff-transcript.png"), full_page=True)

    page.fill("textarea[name=note]", "Called the visitor back; safe, intake booked for tomorrow.")
    page.click("button:has-text('Resolve')")
    page.wait_for_url(f"{base}/")
    assert "resolved" in page.locator(".flash").inner_text()
    assert page.locator("table.records tbody tr").count() == 1  # only the normal flag is left
    page.screenshot(path=str(artifacts_dir / "staff-queue-after-resolve.png"), full_page=True)

    with get_sessionmaker(staff_server["db"])() as session:
        flag = session.get(Flag, staff_server["flag_id"])
        assert (flag.status, flag.resolved_by) == ("resolved", "casey")
        assert flag.resolution_note.startswith("Called the visitor back")
        actions = session.execute(select(AuditEntry.action, AuditEntry.object_type)).all()
        assert ("view", "transcript") in actions and ("resolve", "flag") in actions

    # The participant's charts load as images under the page's CSP.
    page.goto(f"{base}/participants/{staff_server['participant_id']}")
    for chart in ("#chart-craving-mood", "#chart-triggers"):
        width = page.locator(chart).evaluate("img => img.complete && img.naturalWidth")
        assert width and width > 100
    page.screenshot(path=str(artifacts_dir / "staff-participant.png"), full_page=True)
    assert csp_errors == []
    # Loopback only, and no message text in the server's log.
    log = staff_server["log"].read_text()
    assert f"Serving on {base}" in log and "0.0.0.0" not in log  # noqa: S104
    assert "alive anymore" not in log
