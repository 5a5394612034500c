"""The flag queue, acknowledge / resolve, and the transcript of a flagged conversation."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.db import get_sessionmaker
from bot.db.models import AuditEntry, Flag, utcnow
from tests.apps.staff.conftest import add_flag, flag_row, make_token
from tests.apps.staff.conversations import CRISIS_TEXT, seed_crisis_conversation


def queue_ids(html: bytes) -> list[int]:
    """The flag ids in a queue page, in the order shown."""
    return [int(i) for i in re.findall(rb'data-flag-id="(\d+)"', html)]


def audits(db_url: str, action: str) -> list[AuditEntry]:
    """The audit rows of one action, oldest first."""
    with get_sessionmaker(db_url)() as session:
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list(session.execute(query).scalars())


def test_queue_is_ordered_by_severity_then_age_with_counts(clinician, db_url: str) -> None:
    now = utcnow()
    normal_old = add_flag(db_url, "human_request", "normal", "a", "Asked", now - timedelta(hours=5))
    high_new = add_flag(db_url, "lapse", "high", "b", "Used", now - timedelta(minutes=5))
    urgent_new = add_flag(db_url, "crisis", "urgent", "c", "Crisis", now - timedelta(minutes=1))
    high_old = add_flag(db_url, "high_craving", "high", "d", "Craving 9", now - timedelta(hours=2))
    urgent_old = add_flag(db_url, "crisis", "urgent", "e", "Crisis", now - timedelta(hours=1))
    resolved = add_flag(db_url, "crisis", "urgent", "f", "Old", now - timedelta(days=2))
    with get_sessionmaker(db_url)() as session, session.begin():
        session.get(Flag, resolved).status = "resolved"
    page = clinician.get("/")
    assert page.status_code == 200
    assert queue_ids(page.data) == [urgent_old, urgent_new, high_old, high_new, normal_old]
    counts = dict(re.findall(rb'data-severity="(\w+)">(\d+)<', page.data))
    assert counts == {b"urgent": b"2", b"high": b"2", b"normal": b"1"}

    assert queue_ids(clinician.get("/?kind=crisis").data) == [urgent_old, urgent_new]
    assert queue_ids(clinician.get("/?status=resolved").data) == [resolved]
    assert len(queue_ids(clinician.get("/?status=all").data)) == 6
    assert clinician.get("/?status=nonsense").status_code == 400
    assert clinician.get("/?kind=nonsense").status_code == 400


def test_acknowledge_records_who_and_is_audited(clinician, db_url: str) -> None:
    flag_id = add_flag(db_url)
    response = clinician.post(f"/flags/{flag_id}/acknowledge")
    assert response.status_code == 303
    flag = flag_row(db_url, flag_id)
    assert (flag.status, flag.acknowledged_by) == ("acknowledged", "casey")
    page = clinician.get("/")
    assert b"ack: casey" in page.data and flag_id in queue_ids(page.data)
    assert clinician.post(f"/flags/{flag_id}/acknowledge").status_code == 409
    assert [(a.actor, a.object_id) for a in audits(db_url, "acknowledge")] == [
        ("staff:casey", str(flag_id))
    ]


def test_resolve_needs_a_note_then_leaves_the_queue(clinician, db_url: str) -> None:
    flag_id = add_flag(db_url)
    response = clinician.post(f"/flags/{flag_id}/resolve", data={"note": "   "})
    assert response.status_code == 400 and b"resolution note is required" in response.data
    assert flag_row(db_url, flag_id).status == "open"
    response = clinician.post(
        f"/flags/{flag_id}/resolve", data={"note": "Called; safe with family"}
    )
    assert response.status_code == 303
    flag = flag_row(db_url, flag_id)
    assert (flag.status, flag.resolved_by, flag.resolution_note) == (
        "resolved",
        "casey",
        "Called; safe with family",
    )
    assert queue_ids(clinician.get("/").data) == []
    resolved_page = clinician.get("/?status=resolved")
    assert b"resolved: casey" in resolved_page.data
    detail = clinician.get(f"/flags/{flag_id}")
    assert b"Called; safe with family" in detail.data and b"Resolve</button>" not in detail.data
    again = clinician.post(f"/flags/{flag_id}/resolve", data={"note": "twice"})
    assert again.status_code == 400
    assert flag_row(db_url, flag_id).resolution_note == "Called; safe with family"


def test_unknown_flag_is_404(clinician) -> None:
    assert clinician.get("/flags/999").status_code == 404
    assert clinician.post("/flags/999/acknowledge").status_code == 404
    assert clinician.post("/flags/999/resolve", data={"note": "x"}).status_code == 404


def test_transcript_shows_turns_buttons_click_and_the_flagged_message(
    clinician, db_url: str
) -> None:
    message_id = seed_crisis_conversation("visitor-77")
    flag_id = add_flag(db_url, conversation_id="visitor-77", message_id=message_id)
    page = clinician.get(f"/flags/{flag_id}")
    assert page.status_code == 200
    html = page.data.decode()
    turns = re.findall(r'<li class="turn (user|bot)( flagged)?"', html)
    assert turns == [
        ("user", ""),
        ("bot", ""),
        ("user", ""),
        ("bot", ""),
        ("user", " flagged"),
        ("bot", ""),
    ]
    flagged = html.split('id="flagged-message"', 1)[1].split("</li>", 1)[0]
    assert "want to be alive anymore" in flagged and "crisis" in flagged
    assert "What is IOP?" in html and "/start_assessment" in html
    assert "clicked button <strong>Take the screening</strong>" in html
    assert "Call or text 988" in html
    assert page.headers["Cache-Control"] == "no-store"
    rows = audits(db_url, "view")
    assert [(a.actor, a.object_type, a.object_id, a.detail) for a in rows] == [
        ("staff:casey", "transcript", "visitor-77", {"flag_id": flag_id})
    ]
    assert CRISIS_TEXT not in str([a.detail for a in rows])


def test_missing_transcript_says_so(clinician, db_url: str) -> None:
    flag_id = add_flag(db_url, conversation_id="deleted-visitor")
    page = clinician.get(f"/flags/{flag_id}")
    assert page.status_code == 200 and b"No transcript is stored" in page.data


def test_callback_details_are_shown_on_the_flag(clinician, db_url: str) -> None:
    flag_id = add_flag(
        db_url,
        "human_request",
        "normal",
        callback_name="Jo",
        callback_phone="555-010-2000",
        callback_time="mornings",
    )
    page = clinician.get(f"/flags/{flag_id}")
    assert b"555-010-2000" in page.data and b"mornings" in page.data


def test_flag_page_shows_who_did_what_and_when(clinician, db_url: str) -> None:
    flag_id = add_flag(db_url)
    clinician.post(f"/flags/{flag_id}/acknowledge")
    clinician.post(f"/flags/{flag_id}/resolve", data={"note": "done"})
    html = clinician.get(f"/flags/{flag_id}").data.decode()
    history = html.split('<ul class="history">', 1)[1].split("</ul>", 1)[0]
    assert re.findall(r"· (staff:\w+) · (\w+)</li>", history) == [
        ("staff:casey", "acknowledge"),
        ("staff:casey", "resolve"),
    ]


def test_transcript_text_is_escaped(clinician, db_url: str) -> None:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.apps.staff.transcript_views import run_coroutine
    from bot.rasa.tracker_store import SettingsSQLTrackerStore

    tracker = DialogueStateTracker.from_events(
        "visitor-xss", [UserUttered("<script>alert(1)</script>", message_id="m1")]
    )
    run_coroutine(SettingsSQLTrackerStore(domain=Domain.empty()).save(tracker))
    flag_id = add_flag(db_url, conversation_id="visitor-xss", message_id="m1")
    html = clinician.get(f"/flags/{flag_id}").data
    assert b"<script>alert(1)" not in html and b"&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_flag_page_answers_when_the_tracker_database_is_down(clinician, db_url, monkeypatch):
    """Rasa's SQL store retries forever on a down server: the page must not hang on it."""
    from bot.settings import get_settings

    monkeypatch.setenv("TRACKER_DATABASE_URL", "postgresql://postgres@127.0.0.1:9/nothing")
    get_settings.cache_clear()
    flag_id = add_flag(db_url)
    page = clinician.get(f"/flags/{flag_id}")
    assert page.status_code == 200 and b"could not be read right now" in page.data


class _UnreachableStore:
    """Stands in for Rasa's tracker store when its database does not answer."""

    async def retrieve_full_tracker(self, conversation_id: str) -> None:
        """Fail the way a tracker store on a down database does."""
        raise ConnectionError("tracker database down")


def test_flag_page_survives_an_unreachable_tracker_store(db_url: str) -> None:
    from tests.apps.staff.conftest import make_app, make_staff, sign_in

    app = make_app(db_url, TRACKER_STORE=_UnreachableStore())
    make_staff(db_url, "casey", "clinician")
    client = app.test_client()
    sign_in(client, "casey")
    flag_id = add_flag(db_url)
    page = client.get(f"/flags/{flag_id}")
    assert page.status_code == 200 and b"could not be read right now" in page.data
    assert b"Resolve</button>" in page.data


def test_transcript_on_one_shared_database(database_url: str, monkeypatch) -> None:
    """Production keeps flags and Rasa's events in one PostgreSQL database: that works too."""
    from bot.settings import get_settings
    from tests.apps.staff.conftest import make_app, make_staff, sign_in

    monkeypatch.setenv("TRACKER_DATABASE_URL", database_url)
    get_settings.cache_clear()
    message_id = seed_crisis_conversation("visitor-shared")
    flag_id = add_flag(database_url, conversation_id="visitor-shared", message_id=message_id)
    app = make_app(database_url)
    make_staff(database_url, "casey", "clinician")
    client = app.test_client()
    sign_in(client, "casey")
    html = client.get(f"/flags/{flag_id}").data.decode()
    assert html.count('<li class="turn ') == 6
    assert "want to be alive anymore" in html.split('id="flagged-message"', 1)[1]
    store = app.extensions["iop_tracker_store"]
    store.engine.dispose()  # let the per-test PostgreSQL database be dropped


def test_open_flags_can_be_acknowledged_from_the_queue(db_url: str) -> None:
    from tests.apps.staff.conftest import csrf_token, make_app, make_staff

    app = make_app(db_url, WTF_CSRF_ENABLED=True)
    make_staff(db_url, "casey", "clinician")
    client = app.test_client()
    token = csrf_token(client.get("/login").data)
    sign_in_data = {"username": "casey", "password": "correct horse battery", "csrf_token": token}
    assert client.post("/login", data=sign_in_data).status_code == 302
    open_id = add_flag(db_url, reason="first")
    acked_id = add_flag(db_url, reason="second", status="acknowledged", acknowledged_by="ada")
    html = client.get("/").data.decode()
    assert f'action="/flags/{open_id}/acknowledge"' in html
    assert f'action="/flags/{acked_id}/acknowledge"' not in html
    response = client.post(
        f"/flags/{open_id}/acknowledge", data={"csrf_token": csrf_token(html.encode())}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/flags/{open_id}"
    assert flag_row(db_url, open_id).acknowledged_by == "casey"


@pytest.mark.parametrize("row_id", [2**63 - 1, 2**63, 2**64, 10**40])
def test_an_id_beyond_any_row_is_404_on_every_route(app, admin, db_url: str, row_id: int) -> None:
    token = make_token(db_url, "reader", "admin")
    routes = [rule for rule in app.url_map.iter_rules() if "<int:" in rule.rule]
    assert len(routes) >= 10
    for rule in routes:
        url = re.sub(r"<int:\w+>", str(row_id), rule.rule)
        headers = {"Authorization": f"Bearer {token}"} if url.startswith("/api/") else {}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            form = {"note": "n", "status": "contacted"} if method == "POST" else None
            response = admin.open(url, method=method, headers=headers, data=form)
            assert response.status_code == 404, (method, url)
