"""Pre-assessment leads: list, detail, and the new -> contacted -> enrolled / closed workflow."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.db import get_sessionmaker
from bot.db.models import Assessment, AuditEntry
from tests.apps.staff.conftest import add_assessment


def status_of(db_url: str, assessment_id: int) -> str:
    """The lead status as stored now."""
    with get_sessionmaker(db_url)() as session:
        return session.get(Assessment, assessment_id).status


def audit_rows(db_url: str) -> list[tuple[str, str, str | None, dict | None]]:
    """Every audit row as (action, object type, object id, detail), oldest first."""
    with get_sessionmaker(db_url)() as session:
        rows = session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()
        return [(r.action, r.object_type, r.object_id, r.detail) for r in rows]


def test_leads_list_shows_reference_recommendation_contact_and_status(
    clinician, db_url: str
) -> None:
    add_assessment(db_url, "IOP-PHONE1", "iop", {"name": "Jo", "phone": "5550102000", "time": "am"})
    add_assessment(db_url, "IOP-NONE22", "outpatient")
    page = clinician.get("/assessments/")
    assert page.status_code == 200
    html = page.data.decode()
    first = html.split("IOP-PHONE1", 1)[1].split("</tr>", 1)[0]
    assert re.findall(r"<td>(.*?)</td>", first)[1:] == ["iop", "phone · am", "new"]
    second = html.split("IOP-NONE22", 1)[1].split("</tr>", 1)[0]
    assert "outpatient" in second and "no contact left" in second
    assert '<td class="small">evening, virtual</td>' in second
    # Contact details themselves are only on the (audited) detail page.
    assert "5550102000" not in html
    assert clinician.get("/assessments/?status=closed").data.count(b"data-assessment-id") == 0
    assert clinician.get("/assessments/?status=bogus").status_code == 400


def test_detail_shows_answers_and_is_audited(clinician, db_url: str) -> None:
    assessment_id = add_assessment(db_url, contact={"name": "Jo", "email": "jo@example.org"})
    page = clinician.get(f"/assessments/{assessment_id}")
    assert page.status_code == 200
    assert b"alcohol, cannabis" in page.data and b"jo@example.org" in page.data
    assert ("view", "assessment", str(assessment_id), None) in audit_rows(db_url)
    assert clinician.get("/assessments/999").status_code == 404


def test_status_workflow_and_refused_jumps(clinician, db_url: str) -> None:
    assessment_id = add_assessment(db_url)
    url = f"/assessments/{assessment_id}/status"
    assert clinician.post(url, data={"status": "enrolled"}).status_code == 400
    assert status_of(db_url, assessment_id) == "new"
    assert clinician.post(url, data={"status": "contacted"}).status_code == 303
    assert status_of(db_url, assessment_id) == "contacted"
    assert clinician.post(url, data={"status": "enrolled"}).status_code == 303
    assert status_of(db_url, assessment_id) == "enrolled"
    assert clinician.post(url, data={"status": "closed"}).status_code == 400
    assert status_of(db_url, assessment_id) == "enrolled"
    changes = [r for r in audit_rows(db_url) if r[0] == "status"]
    assert [r[3] for r in changes] == [{"status": "contacted"}, {"status": "enrolled"}]
    assert (
        clinician.post("/assessments/999/status", data={"status": "contacted"}).status_code == 404
    )


def test_assessment_page_links_its_follow_up_flag(clinician, db_url: str) -> None:
    from bot.db.models import Flag

    assessment_id = add_assessment(db_url, "IOP-FLAG01")
    with get_sessionmaker(db_url)() as session:
        flag_id = session.execute(
            select(Flag.id).where(Flag.assessment_id == assessment_id)
        ).scalar_one()
    html = clinician.get(f"/assessments/{assessment_id}").data.decode()
    assert f'href="/flags/{flag_id}"' in html and "assessment_followup" in html
