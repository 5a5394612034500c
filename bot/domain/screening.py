"""Pure pre-assessment rules: C-SSRS screener triage, PHQ-2 / GAD-2 scores, level of care.

The rules (SPEC §3.1), in order of precedence:
1. `emergency`: an urgent C-SSRS result (intent or a plan, or suicidal behaviour in the past
   3 months).
2. `adolescent_services`: under 18; the adult program cannot take them.
3. `higher_level_of_care`: withdrawal risk (stopping could be medically dangerous), or no safe,
   stable, substance-free place to live.
4. `outpatient`: mild impact on life (2 or less on the 1-5 scale), no recent higher level of
   care, PHQ-2 below 3 and GAD-2 below 3.
5. `iop`: everyone else.
A screening, not a diagnosis: the result decides what intake staff discuss first.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

Risk = Literal["none", "low", "moderate", "urgent"]
Level = Literal["emergency", "adolescent_services", "higher_level_of_care", "outpatient", "iop"]
Severity = Literal["urgent", "high", "normal"]

ADULT_AGE = 18
MILD_IMPACT_MAX = 2  # impact on work, school, family: 1 (none) .. 5 (severe)
SCREEN_POSITIVE = 3  # PHQ-2 / GAD-2 cut-off used in primary care
# Unambiguous when read aloud or copied by hand: no 0/O, 1/I/L.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class CssrsAnswers:
    """The C-SSRS screener; Q3-Q5 are asked only when Q2 is yes (None when not asked)."""

    wish_to_be_dead: bool  # Q1
    suicidal_thoughts: bool  # Q2
    method: bool | None = None  # Q3
    intent: bool | None = None  # Q4
    plan: bool | None = None  # Q5
    behaviour: bool = False  # Q6, ever
    behaviour_past_3_months: bool | None = None  # Q6 follow-up, when behaviour is yes


def cssrs_risk(answers: CssrsAnswers) -> Risk:
    """Triage: urgent (Q4, Q5 or recent behaviour), moderate (Q3 or older behaviour), low, none."""
    thoughts = answers.suicidal_thoughts
    if (thoughts and (answers.intent or answers.plan)) or (
        answers.behaviour and answers.behaviour_past_3_months
    ):
        return "urgent"
    if (thoughts and answers.method) or answers.behaviour:
        return "moderate"
    if answers.wish_to_be_dead or thoughts:
        return "low"
    return "none"


def two_item_score(first: int, second: int) -> int:
    """PHQ-2 or GAD-2: two items scored 0-3 each (not at all .. nearly every day), total 0-6."""
    for item in (first, second):
        if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item <= 3:
            raise ValueError(f"each item is scored 0-3, got {item!r}")
    return first + second


@dataclass(frozen=True)
class ScreeningResult:
    """The screening's inputs for the recommendation (the form stores every raw answer too)."""

    cssrs: CssrsAnswers
    age: int
    withdrawal_risk: bool
    safe_housing: bool
    recent_higher_care: bool
    phq2: int
    gad2: int
    impact: int  # 1-5


@dataclass(frozen=True)
class Recommendation:
    """The level of care, the plain-language reasons for it, and the follow-up flag's severity."""

    level: Level
    reasons: tuple[str, ...]
    flag_severity: Severity
    risk: Risk


def recommend_level_of_care(result: ScreeningResult) -> Recommendation:
    """Apply the documented rules (module docstring) to one completed screening."""
    if not 1 <= result.impact <= 5:
        raise ValueError(f"impact is 1-5, got {result.impact}")
    risk = cssrs_risk(result.cssrs)
    # Moderate C-SSRS: the form goes on, but intake must call soon.
    severity: Severity = "high" if risk == "moderate" else "normal"
    if risk == "urgent":
        return Recommendation(
            "emergency",
            ("your answers about suicidal thoughts mean your safety comes first, right now",),
            "urgent",
            risk,
        )
    if result.age < ADULT_AGE:
        return Recommendation(
            "adolescent_services",
            (
                "our program is for adults 18 and over, and teens do best in a program made "
                "for them",
            ),
            severity,
            risk,
        )
    reasons = []
    if result.withdrawal_risk:
        reasons.append(
            "stopping suddenly could bring dangerous withdrawal, so a medically supported detox "
            "is the safer first step"
        )
    if not result.safe_housing:
        reasons.append(
            "recovery is much harder without a safe, stable, substance-free place to live, and a "
            "residential program can give you that while you start"
        )
    if reasons:
        return Recommendation("higher_level_of_care", tuple(reasons), severity, risk)
    if (
        result.impact <= MILD_IMPACT_MAX
        and not result.recent_higher_care
        and result.phq2 < SCREEN_POSITIVE
        and result.gad2 < SCREEN_POSITIVE
    ):
        return Recommendation(
            "outpatient",
            (
                "your day-to-day life is only mildly affected and your mood and anxiety answers "
                "were low, so weekly outpatient counseling may be enough to start",
            ),
            severity,
            risk,
        )
    why = []
    if result.recent_higher_care:
        why.append("you recently finished a higher level of care, and IOP is the usual next step")
    if result.impact > MILD_IMPACT_MAX:
        why.append("this is affecting your work, school or family quite a lot")
    if result.phq2 >= SCREEN_POSITIVE or result.gad2 >= SCREEN_POSITIVE:
        why.append("your answers about mood or anxiety suggest you'd benefit from more support")
    return Recommendation("iop", tuple(why), severity, risk)


def new_reference() -> str:
    """A short reference code for the visitor and intake staff, e.g. IOP-7KQ2MX."""
    return "IOP-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
