"""The audit log page: admins only, every view and change listed, filters."""

from __future__ import annotations

import re

from tests.apps.staff.conftest import add_participant, make_staff, sign_in


def rows(html: bytes) -> list[list[str]]:
    """The audit table's rows as lists of cell texts."""
    body = html.decode().split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        re.findall(r'<td(?: class="small")?>(.*?)</td>', r, re.S) for r in body.split("</tr>")[:-1]
    ]


def test_admin_reads_who_viewed_what(app, admin, db_url: str) -> None:
    participant_id, _ = add_participant(db_url)
    make_staff(db_url, "casey", "clinician")
    clinician = app.test_client()
    sign_in(clinician, "casey")
    clinician.get(f"/participants/{participant_id}")
    page = admin.get("/audit/")
    assert page.status_code == 200
    actions = [(r[1], r[2], r[3]) for r in rows(page.data)]
    assert ("staff:casey", "view", f"participant {participant_id}") in actions
    assert ("staff:ada", "login", "staff_user 1") in actions
    only_casey = rows(admin.get("/audit/?actor=staff:casey").data)
    assert only_casey and {r[1] for r in only_casey} == {"staff:casey"}
    one_object = rows(admin.get(f"/audit/?object_type=participant&object_id={participant_id}").data)
    assert [(r[1], r[2]) for r in one_object] == [("staff:casey", "view")]
    assert clinician.get("/audit/").status_code == 403


def test_audit_log_pages(admin, db_url: str) -> None:
    for _ in range(105):
        admin.get("/participants/")
    first = admin.get("/audit/")
    assert len(rows(first.data)) == 100 and b"Older" in first.data
    second = admin.get("/audit/?page=2")
    assert 1 <= len(rows(second.data)) <= 100 and b"Newer" in second.data
