"""Clinic settings: one file, checked on load, and every response placeholder filled from it."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.settings import REPO_ROOT, SettingsError, get_settings, load_clinic

CLINIC_FILE = REPO_ROOT / "content" / "clinic.yml"
NY = ZoneInfo("America/New_York")


def write_clinic(tmp_path: Path, **changes: object) -> Path:
    data = yaml.safe_load(CLINIC_FILE.read_text())
    data.update(changes)
    path = tmp_path / "clinic.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_default_clinic_loads() -> None:
    clinic = load_clinic(CLINIC_FILE)
    assert clinic.crisis.lifeline == "988"
    assert clinic.crisis.emergency == "911"
    assert clinic.crisis.text_line == "text HOME to 741741"


def test_hours_text_groups_days() -> None:
    clinic = load_clinic(CLINIC_FILE)
    assert clinic.hours_text() == "Mon–Thu 8 am–8 pm, Fri 8 am–5 pm, Sat 9 am–1 pm, closed Sun"


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (datetime(2026, 11, 23, 9, 0, tzinfo=NY), True),  # Monday morning
        (datetime(2026, 11, 23, 7, 59, tzinfo=NY), False),  # before opening
        (datetime(2026, 11, 27, 16, 59, tzinfo=NY), True),  # Friday, last minute
        (datetime(2026, 11, 27, 17, 0, tzinfo=NY), False),  # Friday closing time
        (datetime(2026, 11, 29, 12, 0, tzinfo=NY), False),  # Sunday
        (datetime(2026, 11, 23, 14, 30, tzinfo=ZoneInfo("UTC")), True),  # 9:30 am in New York
    ],
)
def test_is_open(moment: datetime, is_open: bool) -> None:
    assert load_clinic(CLINIC_FILE).is_open(moment) is is_open


@pytest.mark.parametrize(
    "changes",
    [
        {"name": ""},
        {"phone": None},
        {"timezone": "Mars/Olympus"},
        {"hours": {"mon": "8-5"}},
        {"hours": {"mon": "17:00-08:00"}},
        {"hours": {"funday": "08:00-17:00"}},
        {"crisis": {"lifeline": "988"}},
    ],
)
def test_bad_clinic_file_is_refused_with_a_clear_error(tmp_path: Path, changes: dict) -> None:
    with pytest.raises(SettingsError):
        load_clinic(write_clinic(tmp_path, **changes))


def test_unreadable_clinic_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError):
        load_clinic(tmp_path / "missing.yml")
    (tmp_path / "list.yml").write_text("- a\n- b\n")
    with pytest.raises(SettingsError):
        load_clinic(tmp_path / "list.yml")


def test_every_placeholder_in_responses_comes_from_settings() -> None:
    """Clinic details appear in responses only as placeholders that settings fill."""
    values = get_settings().clinic.response_values()
    files = [REPO_ROOT / "domain.yml", *sorted((REPO_ROOT / "data").rglob("*.yml"))]
    used = set()
    for path in files:
        used |= set(re.findall(r"\{(\w+)\}", path.read_text()))
    assert used, "responses use placeholders"
    # {tips} is filled by action_craving_support from content/coping.yml, not from settings.
    assert used - {"tips"} <= set(values), used - {"tips"} - set(values)


def test_clinic_details_are_not_written_into_responses() -> None:
    clinic = get_settings().clinic
    for path in [REPO_ROOT / "domain.yml", *(REPO_ROOT / "data").rglob("*.yml")]:
        text = path.read_text()
        for literal in (clinic.phone, clinic.email, clinic.address, clinic.name, "741741"):
            assert literal not in text, f"{literal!r} written literally in {path}"
