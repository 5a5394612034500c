"""The pre-assessment's question flow: branches, early endings and the stored record."""

from __future__ import annotations

import pytest

from bot.domain import preassessment
from bot.domain.screening import recommend_level_of_care

SAFE = {
    "consent": True, "wish_dead": False, "suicidal_thoughts": False, "suicidal_behavior": False,
}  # fmt: skip
ADULT_SUBSTANCE = {
    **SAFE, "age": 34, "concern": "substance", "substances": ["alcohol"],
    "withdrawal_risk": False, "safe_housing": True, "recent_higher_care": False,
    "phq_interest": 1, "phq_depressed": 1, "gad_nervous": 1, "gad_worry": 1, "impact": 4,
    "can_attend": True, "preferred_time": "evening", "attend_format": "in_person",
    "transportation": True, "insurance": "Aetna", "wants_contact": False,
}  # fmt: skip


def test_consent_comes_first_and_a_no_ends_it() -> None:
    assert preassessment.questions_to_ask({}) == ["consent"]
    assert preassessment.questions_to_ask({"consent": False}) == []
    assert preassessment.ending({"consent": False}) == "declined"


def test_safety_questions_branch_on_thoughts_and_behaviour() -> None:
    asked = preassessment.questions_to_ask({"consent": True})
    assert asked[:3] == ["wish_dead", "suicidal_thoughts", "suicidal_behavior"]
    asked = preassessment.questions_to_ask({"consent": True, "suicidal_thoughts": True})
    assert asked[:5] == [
        "wish_dead", "suicide_method", "suicide_intent", "suicide_plan", "suicidal_behavior",
    ]  # fmt: skip
    assert "behavior_recent" in preassessment.questions_to_ask({**SAFE, "suicidal_behavior": True})


@pytest.mark.parametrize(
    "answer",
    [
        {"suicide_intent": True},
        {"suicide_plan": True},
        {"suicidal_behavior": True, "behavior_recent": True},
    ],
)
def test_an_urgent_answer_ends_the_form_at_once(answer: dict) -> None:
    values = {"consent": True, "suicidal_thoughts": True, **answer}
    assert preassessment.questions_to_ask(values) == []
    assert preassessment.ending(values) == "emergency"
    recommendation = recommend_level_of_care(preassessment.screening_result(values))
    assert (recommendation.level, recommendation.flag_severity) == ("emergency", "urgent")


def test_moderate_risk_goes_on_with_988_in_the_result() -> None:
    values = {**ADULT_SUBSTANCE, "suicidal_thoughts": True, "suicide_method": True,
              "suicide_intent": False, "suicide_plan": False}  # fmt: skip
    assert preassessment.ending(values) is None
    recommendation = recommend_level_of_care(preassessment.screening_result(values))
    assert recommendation.flag_severity == "high"
    assert "988" in preassessment.result_message(recommendation, "IOP-ABC234", False)


def test_minors_skip_the_clinical_questions() -> None:
    asked = preassessment.questions_to_ask({**SAFE, "age": 16})
    assert asked == ["wants_contact"]
    result = preassessment.screening_result({**SAFE, "age": 16, "wants_contact": False})
    assert recommend_level_of_care(result).level == "adolescent_services"


def test_mental_health_only_skips_substances_and_withdrawal() -> None:
    asked = preassessment.questions_to_ask({**SAFE, "age": 30, "concern": "mental_health"})
    assert "substances" not in asked and "withdrawal_risk" not in asked
    assert asked[0] == "safe_housing"


def test_virtual_skips_transport_and_no_contact_skips_details() -> None:
    values = {**ADULT_SUBSTANCE, "attend_format": "virtual"}
    del values["transportation"]
    assert preassessment.questions_to_ask(values) == []
    values = {**ADULT_SUBSTANCE, "wants_contact": True}
    assert preassessment.questions_to_ask(values) == list(preassessment.CONTACT_SLOTS)


def test_stop_asks_to_confirm_and_a_yes_ends_it() -> None:
    values = {**SAFE, "stop_requested": True}
    assert preassessment.questions_to_ask(values) == ["confirm_stop"]
    assert preassessment.questions_to_ask({**values, "confirm_stop": True}) == []
    assert preassessment.ending({**values, "confirm_stop": True}) == "stopped"


@pytest.mark.parametrize(
    ("changes", "level"),
    [
        ({}, "iop"),
        ({"withdrawal_risk": True}, "higher_level_of_care"),
        ({"safe_housing": False}, "higher_level_of_care"),
        ({"impact": 2}, "outpatient"),
        ({"impact": 2, "phq_interest": 2}, "iop"),  # PHQ-2 = 3
        ({"impact": 2, "recent_higher_care": True}, "iop"),
        ({"age": 17}, "adolescent_services"),
    ],
)
def test_form_answers_reach_each_level(changes: dict, level: str) -> None:
    values = {**ADULT_SUBSTANCE, **changes}
    assert recommend_level_of_care(preassessment.screening_result(values)).level == level


def test_withdrawal_answer_does_not_count_for_mental_health_only() -> None:
    values = {**ADULT_SUBSTANCE, "concern": "mental_health", "withdrawal_risk": True}
    assert recommend_level_of_care(preassessment.screening_result(values)).level == "iop"


def test_stored_answers_hold_every_answer_but_not_contact_details() -> None:
    values = {**ADULT_SUBSTANCE, "wants_contact": True, "contact_name": "Sam",
              "contact_method": {"phone": "(555) 010-4477"}, "contact_time": "morning"}  # fmt: skip
    stored = preassessment.stored_answers(values)
    assert stored["insurance"] == "Aetna" and stored["age"] == 34
    assert stored["wants_contact"] is True
    assert not set(stored) & set(preassessment.CONTACT_SLOTS)


def test_result_explains_why_and_gives_the_reference() -> None:
    values = {**ADULT_SUBSTANCE, "withdrawal_risk": True}
    recommendation = recommend_level_of_care(preassessment.screening_result(values))
    text = preassessment.result_message(recommendation, "IOP-ABC234", True)
    assert "detox" in text and "because" in text and "IOP-ABC234" in text
    assert "not a diagnosis" in text


def test_every_question_has_a_reason() -> None:
    for question in preassessment.QUESTIONS.values():
        assert 20 < len(question.why) < 160, question.slot


def test_age_bands_from_the_buttons_decide_like_ages() -> None:
    minor = {**SAFE, "age": "under_18", "wants_contact": False}
    assert preassessment.questions_to_ask(minor) == []
    assert recommend_level_of_care(preassessment.screening_result(minor)).level == (
        "adolescent_services"
    )
    adult = {**ADULT_SUBSTANCE, "age": "18_plus"}
    assert recommend_level_of_care(preassessment.screening_result(adult)).level == "iop"
