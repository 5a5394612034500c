"""Participants: list, enroll / revoke / new link, the history page with charts, CSV export."""

from __future__ import annotations

import base64
import csv
import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.apps.staff.charts import craving_mood_chart, trigger_chart
from bot.db import get_sessionmaker
from bot.db.models import AuditEntry, CheckIn, Participant, utcnow
from bot.db.participants import resolve_token
from tests.apps.staff.conftest import add_checkins, add_participant


@pytest.fixture
def db_url(database_url: str) -> str:
    """These tests run on SQLite and on PostgreSQL."""
    return database_url


def audit_actions(db_url: str) -> list[tuple[str, str, str | None]]:
    """(action, object type, object id) of every audit row but sign-ins, oldest first."""
    with get_sessionmaker(db_url)() as session:
        rows = session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()
        return [(r.action, r.object_type, r.object_id) for r in rows if r.action != "login"]


def test_list_shows_last_checkin_week_count_and_latest_craving(clinician, db_url: str) -> None:
    alex, _ = add_participant(db_url, "Alex P")
    add_participant(db_url, "Robin Q")
    # 10 daily check-ins ending today: 7 fall in the last 7 days; the last craving is (9*3)%11=5.
    add_checkins(db_url, alex, 10)
    page = clinician.get("/participants/")
    assert page.status_code == 200
    html = page.data.decode()
    alex_row = html.split(f'data-participant-id="{alex}"', 1)[1].split("</tr>", 1)[0]
    cells = re.findall(r"<td>(.*?)</td>", alex_row, re.S)
    assert cells[1].strip() != "—" and cells[2] == "7" and cells[3] == "5"
    assert 'class="high-craving"' not in alex_row
    robin_row = html.split("Robin Q", 1)[1].split("</tr>", 1)[0]
    assert re.findall(r"<td>(.*?)</td>", robin_row)[:3] == ["—", "0", "—"]
    assert ("list", "participant", None) in audit_actions(db_url)


def test_admin_enrolls_and_sees_the_link_once(admin, db_url: str) -> None:
    page = admin.post("/participants/", data={"name": "Sam Lee"})
    assert page.status_code == 200
    token = re.search(rb"checkin#token=([\w-]+)", page.data).group(1).decode()
    with get_sessionmaker(db_url)() as session:
        participant = resolve_token(session, token)
        assert participant is not None and participant.display_name == "Sam Lee"
        participant_id = participant.id
    assert token.encode() not in admin.get(f"/participants/{participant_id}").data
    assert ("enroll", "participant", str(participant_id)) in audit_actions(db_url)
    assert admin.post("/participants/", data={"name": "  "}).status_code == 400


def test_admin_revokes_and_issues_a_new_link(admin, db_url: str) -> None:
    participant_id, old_token = add_participant(db_url)
    assert admin.post(f"/participants/{participant_id}/revoke").status_code == 303
    with get_sessionmaker(db_url)() as session:
        assert resolve_token(session, old_token) is None
        assert session.get(Participant, participant_id).revoked_at is not None
    page = admin.post(f"/participants/{participant_id}/link")
    new_token = re.search(rb"checkin#token=([\w-]+)", page.data).group(1).decode()
    with get_sessionmaker(db_url)() as session:
        assert resolve_token(session, new_token).id == participant_id
        assert resolve_token(session, old_token) is None
    actions = audit_actions(db_url)
    assert ("revoke", "participant", str(participant_id)) in actions
    assert ("new_link", "participant", str(participant_id)) in actions
    assert admin.post("/participants/999/revoke").status_code == 404
    assert admin.post("/participants/999/link").status_code == 404


def _svgs(html: bytes) -> dict[str, str]:
    found = re.findall(rb'id="(chart-[\w-]+)"[^>]*src="data:image/svg\+xml;base64,([^"]+)"', html)
    return {name.decode(): base64.b64decode(data).decode() for name, data in found}


def test_participant_page_charts_30_days_of_checkins(clinician, db_url: str) -> None:
    participant_id, _ = add_participant(db_url)
    add_checkins(db_url, participant_id, 30)
    page = clinician.get(f"/participants/{participant_id}")
    assert page.status_code == 200
    charts = _svgs(page.data)
    assert set(charts) == {"chart-craving-mood", "chart-triggers"}
    line = charts["chart-craving-mood"]
    assert line.startswith("<?xml") and "<svg" in line and "Craving and mood" in line
    # Two lines of 30 points each (craving, mood): paths of one move and 29 line segments.
    paths = re.findall(r'<path d="M ([^"]+)"[^>]*clip-path', line)
    assert sum(1 for p in paths if p.count("\nL ") == 29) == 2
    bars = charts["chart-triggers"]
    for trigger in ("stress", "conflict", "places", "loneliness", "boredom"):
        assert f">{trigger}<" in bars
    # the check-in table: 30 rows, newest first
    assert page.data.count(b"<tr>\n    <td>") == 30
    assert page.data.index(b"day 29") < page.data.index(b"day 0<")
    assert ("view", "participant", str(participant_id)) in audit_actions(db_url)


def test_participant_without_checkins_has_no_charts(clinician, db_url: str) -> None:
    participant_id, _ = add_participant(db_url)
    page = clinician.get(f"/participants/{participant_id}")
    assert page.status_code == 200 and b"No check-ins yet" in page.data and not _svgs(page.data)
    assert clinician.get("/participants/999").status_code == 404


def test_charts_leave_no_pyplot_figures_behind(db_url: str) -> None:
    import matplotlib.pyplot as plt

    participant_id, _ = add_participant(db_url)
    add_checkins(db_url, participant_id, 5)
    with get_sessionmaker(db_url)() as session:
        checkins = list(session.execute(select(CheckIn)).scalars())
    before = plt.get_fignums()
    first = craving_mood_chart(checkins, ZoneInfo("UTC"))
    assert craving_mood_chart(checkins, ZoneInfo("UTC")) == first  # same data, same SVG
    trigger_chart(checkins)
    assert plt.get_fignums() == before


def test_csv_export_has_every_checkin_and_defuses_formulas(clinician, db_url: str) -> None:
    participant_id, _ = add_participant(db_url)
    add_checkins(db_url, participant_id, 3)
    with get_sessionmaker(db_url)() as session, session.begin():
        first = session.execute(select(CheckIn).order_by(CheckIn.created_at)).scalars().first()
        first.note = '=HYPERLINK("http://evil")'
    response = clinician.get(f"/participants/{participant_id}/checkins.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.data.decode())))
    assert [r["note"] for r in rows] == ['\'=HYPERLINK("http://evil")', "day 1", "day 2"]
    assert [r["craving"] for r in rows] == ["0", "3", "6"]
    assert rows[1]["triggers"] == "conflict;places"
    assert ("export", "participant", str(participant_id)) in audit_actions(db_url)
    assert clinician.get("/participants/999/checkins.csv").status_code == 404


def test_week_count_excludes_older_checkins(clinician, db_url: str) -> None:
    participant_id, _ = add_participant(db_url)
    add_checkins(db_url, participant_id, 3, start=utcnow() - timedelta(days=20))
    row = clinician.get("/participants/").data.decode().split("</thead>", 1)[1]
    assert re.findall(r"<td>(.*?)</td>", row)[2] == "0"


def test_participant_page_links_their_flags(clinician, db_url: str) -> None:
    from tests.apps.staff.conftest import add_flag

    participant_id, _ = add_participant(db_url)
    other_id, _ = add_participant(db_url, "Robin Q")
    mine = add_flag(
        db_url, "high_craving", "high", "p-1", "Craving 9", participant_id=participant_id
    )
    theirs = add_flag(db_url, "lapse", "high", "p-2", "Used", participant_id=other_id)
    html = clinician.get(f"/participants/{participant_id}").data.decode()
    assert f"/flags/{mine}" in html and f"/flags/{theirs}" not in html


def test_a_high_latest_craving_stands_out(clinician, db_url: str) -> None:
    participant_id, _ = add_participant(db_url)
    add_checkins(db_url, participant_id, 4)  # the last craving is (3*3)%11 = 9
    html = clinician.get("/participants/").data.decode()
    assert '<td class="high-craving">9</td>' in html
