"""The pre-assessment rules, every rule and boundary (bot/domain/screening.py)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from bot.domain.screening import (
    CssrsAnswers,
    ScreeningResult,
    cssrs_risk,
    new_reference,
    recommend_level_of_care,
    two_item_score,
)

NO_RISK = CssrsAnswers(wish_to_be_dead=False, suicidal_thoughts=False)
# An adult with moderate needs and nothing that changes the level: the baseline for each case.
BASE = ScreeningResult(
    cssrs=NO_RISK,
    age=34,
    withdrawal_risk=False,
    safe_housing=True,
    recent_higher_care=False,
    phq2=3,
    gad2=2,
    impact=3,
)
MILD = replace(BASE, phq2=2, gad2=2, impact=2)


@pytest.mark.parametrize(
    ("answers", "risk"),
    [
        (NO_RISK, "none"),
        (CssrsAnswers(True, False), "low"),
        (CssrsAnswers(False, True, method=False, intent=False, plan=False), "low"),
        (CssrsAnswers(True, True, method=True, intent=False, plan=False), "moderate"),
        (CssrsAnswers(True, True, method=True, intent=True, plan=False), "urgent"),
        (CssrsAnswers(True, True, method=False, intent=False, plan=True), "urgent"),
        (CssrsAnswers(False, False, behaviour=True, behaviour_past_3_months=False), "moderate"),
        (CssrsAnswers(False, False, behaviour=True, behaviour_past_3_months=True), "urgent"),
        # Q3-Q5 are only asked after a yes to Q2; stray answers without it do not count
        (CssrsAnswers(True, False, method=True, intent=True, plan=True), "low"),
    ],
)
def test_cssrs_triage(answers: CssrsAnswers, risk: str) -> None:
    assert cssrs_risk(answers) == risk


@pytest.mark.parametrize(
    ("result", "level", "severity"),
    [
        (BASE, "iop", "normal"),
        (MILD, "outpatient", "normal"),
        # emergency wins over everything
        (
            replace(MILD, cssrs=CssrsAnswers(True, True, True, True, False), age=15),
            "emergency",
            "urgent",
        ),
        (
            replace(
                BASE, cssrs=CssrsAnswers(False, False, behaviour=True, behaviour_past_3_months=True)
            ),
            "emergency",
            "urgent",
        ),
        # age boundary
        (replace(MILD, age=17), "adolescent_services", "normal"),
        (replace(MILD, age=18), "outpatient", "normal"),
        (replace(BASE, age=17, withdrawal_risk=True), "adolescent_services", "normal"),
        # higher level of care
        (replace(MILD, withdrawal_risk=True), "higher_level_of_care", "normal"),
        (replace(MILD, safe_housing=False), "higher_level_of_care", "normal"),
        # PHQ-2 and GAD-2 boundaries (2 is mild, 3 screens positive)
        (replace(MILD, phq2=3), "iop", "normal"),
        (replace(MILD, gad2=3), "iop", "normal"),
        (replace(MILD, phq2=2, gad2=2), "outpatient", "normal"),
        # impact boundary (2 mild, 3 not)
        (replace(MILD, impact=3), "iop", "normal"),
        (replace(MILD, impact=1), "outpatient", "normal"),
        # recent detox / residential: step down to IOP, not weekly outpatient
        (replace(MILD, recent_higher_care=True), "iop", "normal"),
        # moderate C-SSRS: the level stands, the flag is high and the reply shows 988
        (replace(MILD, cssrs=CssrsAnswers(True, True, True, False, False)), "outpatient", "high"),
        (
            replace(BASE, cssrs=CssrsAnswers(False, False, True, None, None, True, False)),
            "iop",
            "high",
        ),
    ],
)
def test_recommendation_rules(result: ScreeningResult, level: str, severity: str) -> None:
    recommendation = recommend_level_of_care(result)
    assert (recommendation.level, recommendation.flag_severity) == (level, severity)
    assert recommendation.reasons or level == "iop"


def test_reasons_explain_why_in_plain_words() -> None:
    both = recommend_level_of_care(replace(BASE, withdrawal_risk=True, safe_housing=False))
    assert len(both.reasons) == 2
    assert "detox" in both.reasons[0] and "place to live" in both.reasons[1]
    stepped_down = recommend_level_of_care(replace(BASE, recent_higher_care=True, impact=4))
    assert any("next step" in r for r in stepped_down.reasons)


@pytest.mark.parametrize(("a", "b", "total"), [(0, 0, 0), (1, 2, 3), (3, 3, 6)])
def test_two_item_scores(a: int, b: int, total: int) -> None:
    assert two_item_score(a, b) == total


@pytest.mark.parametrize(("a", "b"), [(-1, 0), (4, 0), (0, 7), (True, 1), ("2", 1), (1.5, 1)])
def test_two_item_scores_refuse_bad_items(a: object, b: object) -> None:
    with pytest.raises(ValueError):
        two_item_score(a, b)  # type: ignore[arg-type]


@pytest.mark.parametrize("impact", [0, 6])
def test_impact_out_of_range_is_refused(impact: int) -> None:
    with pytest.raises(ValueError):
        recommend_level_of_care(replace(BASE, impact=impact))


def test_reference_codes_are_short_unambiguous_and_distinct() -> None:
    codes = {new_reference() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(re.fullmatch(r"IOP-[2-9A-HJKMNP-Z]{6}", code) for code in codes)
