"""Check-in parsing, trends and coping suggestions (bot/domain/checkin_rules.py)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.domain.checkin_rules import (
    TRIGGERS,
    DayCraving,
    OutOfRange,
    checkin_questions_to_ask,
    coping_content,
    craving_trend,
    extract_triggers,
    parse_craving,
    parse_mood,
    read_coping_note,
    read_craving,
    read_mood,
    read_triggers,
    read_use,
    suggest_coping,
)
from bot.domain.form_answers import Invalid

SPEC_TRIGGERS = [
    "stress",
    "conflict",
    "loneliness",
    "boredom",
    "anger",
    "tiredness",
    "hunger",
    "people",
    "places",
    "celebration",
    "money",
    "pain",
    "anxiety",
    "sadness",
    "cues",
    "other",
]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("7", 7),
        ("seven", 7),
        ("7/10", 7),
        ("7 / 10", 7),
        ("7 out of 10", 7),
        ("like an 8", 8),
        ("8ish", 8),
        ("0", 0),
        ("10", 10),
        ("Ten!", 10),
        ("pretty strong", 7),
        ("not strong", 2),
        ("none", 0),
        ("no craving today", 0),
        ("overwhelming", 10),
        ("a little", 2),
    ],
)
def test_craving_answers(text: str, value: int) -> None:
    assert parse_craving(text) == value


@pytest.mark.parametrize("text", ["12", "-1", "11/10", "100"])
def test_craving_out_of_range_is_re_asked(text: str) -> None:
    with pytest.raises(OutOfRange, match="0 to 10"):
        parse_craving(text)


@pytest.mark.parametrize("text", ["", "purple", "why do you ask", "🙂"])
def test_craving_without_a_level_is_none(text: str) -> None:
    assert parse_craving(text) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [("3", 3), ("five", 5), ("meh", 3), ("not good", 2), ("great", 5), ("awful", 1)],
)
def test_mood_answers(text: str, value: int) -> None:
    assert parse_mood(text) == value


@pytest.mark.parametrize("text", ["0", "6", "-2"])
def test_mood_out_of_range(text: str) -> None:
    with pytest.raises(OutOfRange, match="1 to 5"):
        parse_mood(text)


def test_trigger_names_are_the_spec_list() -> None:
    assert list(TRIGGERS) == SPEC_TRIGGERS


@pytest.mark.parametrize(
    ("text", "triggers"),
    [
        ("fought with my sister at the bar", ["conflict", "places"]),
        ("so stressed about rent", ["stress", "money"]),
        ("I was bored and lonely", ["loneliness", "boredom"]),
        ("tired and hungry, skipped lunch", ["tiredness", "hunger"]),
        ("my old friends were drinking at a birthday party", ["people", "places", "celebration"]),
        ("back pain all day", ["pain"]),
        ("nothing really", []),
        ("other people", ["people"]),
        ("FOUGHT with my boss!!", ["conflict"]),
    ],
)
def test_triggers_from_free_text(text: str, triggers: list[str]) -> None:
    assert extract_triggers(text) == triggers


def day(n: int) -> date:
    return date(2026, 11, 24) - timedelta(days=n)


def test_trend_compares_this_week_with_the_last() -> None:
    history = [DayCraving(day(i), 4, ("stress",)) for i in range(7)]
    history += [DayCraving(day(i), 6) for i in range(7, 14)]
    history += [DayCraving(day(20), 10)]  # older than two weeks: ignored
    trend = craving_trend(history, day(0))
    assert (trend.this_week, trend.last_week) == (4.0, 6.0)
    assert trend.streak_days == 14
    assert trend.top_trigger == "stress"
    assert "4.0, down from 6.0" in trend.sentence()


def test_trend_with_gaps_and_no_history() -> None:
    history = [DayCraving(day(1), 5, ("anger", "hunger")), DayCraving(day(2), 8, ("hunger",))]
    trend = craving_trend(history, day(0))
    assert trend.this_week == 6.5 and trend.last_week is None
    assert trend.streak_days == 2  # yesterday and the day before; today not yet
    assert trend.top_trigger == "hunger"
    empty = craving_trend([], day(0))
    assert empty == type(empty)(None, None, 0, None)
    assert empty.sentence() == ""


def test_trend_ties_break_in_canonical_order() -> None:
    history = [DayCraving(day(0), 3, ("sadness", "stress"))]
    assert craving_trend(history, day(0)).top_trigger == "stress"


def test_coping_high_craving_comes_first() -> None:
    tips = suggest_coping(["places", "stress"], craving=9)
    assert len(tips) == 2
    assert tips[0] == coping_content()["high_craving"][0]
    assert tips[1] == coping_content()["places"][0]


def test_coping_without_triggers_has_a_default() -> None:
    assert suggest_coping([], craving=2) == [coping_content()["default"][0]]


def test_every_trigger_has_a_coping_suggestion() -> None:
    assert set(SPEC_TRIGGERS) <= set(coping_content())


# --- the check-in form's question readers ---


@pytest.mark.parametrize("text", ["12", "-1", "11/10"])
def test_read_craving_reasks_out_of_range(text: str) -> None:
    with pytest.raises(Invalid, match="outside the scale"):
        read_craving(text)


def test_read_mood_and_craving_reask_what_they_cannot_read() -> None:
    with pytest.raises(Invalid, match="1 \\(very low\\) to 5"):
        read_mood("purple")
    with pytest.raises(Invalid, match="0 \\(none\\) to 10"):
        read_craving("banana")
    assert read_mood("meh") == 3 and read_craving("like an 8") == 8


@pytest.mark.parametrize(
    ("text", "triggers"),
    [
        ("fought with my sister at the bar", ["conflict", "places"]),
        ("Nothing", []),
        ("nothing really", []),
        ("People or places", ["people", "places"]),
        ("stressed about rent", ["stress", "money"]),
        ("my cat knocked over a plant", ["other"]),
    ],
)
def test_read_triggers(text: str, triggers: list[str]) -> None:
    assert read_triggers(text) == triggers


@pytest.mark.parametrize(
    ("text", "use"),
    [
        ("No", {"used": False, "what": None}),
        ("Yes, alcohol", {"used": True, "what": "alcohol"}),
        ("Yes", {"used": True, "what": None}),
        ("had a few beers last night", {"used": True, "what": "alcohol"}),
        ("relapsed on saturday", {"used": True, "what": None}),
        ("stayed clean", {"used": False, "what": None}),
        ("nothing, sober 12 days", {"used": False, "what": None}),
        ("clean except a joint on friday", {"used": True, "what": "cannabis"}),
    ],
)
def test_read_use(text: str, use: dict) -> None:
    assert read_use(text) == use


def test_read_use_reasks_what_it_cannot_read() -> None:
    with pytest.raises(Invalid, match="Yes or no"):
        read_use("purple")


def test_read_coping_note_separates_known_skills_from_the_note() -> None:
    assert read_coping_note("Nothing to add") == {"coping": None, "note": None}
    assert read_coping_note("Called someone") == {"coping": "called someone", "note": None}
    both = read_coping_note("went for a run, can we talk about my meds next time")
    assert both == {
        "coping": "exercise",
        "note": "went for a run, can we talk about my meds next time",
    }
    assert len(read_coping_note("x" * 2000)["note"]) == 500


def test_checkin_questions_branch_on_use_and_stop() -> None:
    assert checkin_questions_to_ask({}) == [
        "mood", "craving", "triggers", "used_since_last", "coping_note",
    ]  # fmt: skip
    used = {"mood": 3, "craving": 2, "triggers": [], "used_since_last": {"used": True}}
    assert checkin_questions_to_ask(used) == ["used_what", "coping_note"]
    assert checkin_questions_to_ask({"stop_requested": True}) == ["confirm_stop"]
    assert checkin_questions_to_ask({"stop_requested": True, "confirm_stop": True}) == []
