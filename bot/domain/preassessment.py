"""The pre-assessment's questions: their order, which ones apply, how each answer is read, why each
is asked, and the plain-language result. Pure; the Rasa form (actions/assessment_form.py) asks them
one at a time and `recommend_level_of_care` (bot/domain/screening.py) decides the level of care.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from bot.domain import form_answers
from bot.domain.form_answers import Question
from bot.domain.screening import (
    CssrsAnswers,
    Recommendation,
    ScreeningResult,
    cssrs_risk,
    two_item_score,
)


def _yes_no(text: str) -> bool:
    return form_answers.parse_yes_no(text)


# Risk questions: "maybe" or "not sure" counts as yes, so a doubtful answer errs toward safety.
_risk = partial(form_answers.parse_yes_no, unsure_means_yes=True)

WHY_SAFETY = (
    "We ask everyone about safety first, so that anyone who needs help right now gets it "
    "right away."
)
QUESTIONS: dict[str, Question] = {
    q.slot: q
    for q in (
        Question(
            "consent",
            _yes_no,
            "The screening only goes ahead with your permission, and nothing is kept unless "
            "you agree.",
        ),
        Question("wish_dead", _risk, WHY_SAFETY),
        Question("suicidal_thoughts", _risk, WHY_SAFETY),
        Question("suicide_method", _risk, WHY_SAFETY),
        Question("suicide_intent", _risk, WHY_SAFETY),
        Question("suicide_plan", _risk, WHY_SAFETY),
        Question("suicidal_behavior", _risk, WHY_SAFETY),
        Question("behavior_recent", _risk, WHY_SAFETY),
        Question(
            "age",
            form_answers.parse_age,
            "Our program is for adults 18 and over; teens do best in programs made for them.",
        ),
        Question(
            "concern",
            form_answers.parse_concern,
            "It tells our team which kind of support and which counselors fit you best.",
        ),
        Question(
            "substances",
            form_answers.parse_substances,
            "Some substances need medical care when you stop, so we want to plan safely.",
            free_text=True,
            strict_read=partial(form_answers.parse_substances, strict=True),
        ),
        Question(
            "withdrawal_risk",
            _risk,
            "Stopping some substances suddenly can be dangerous, and then a supervised detox "
            "comes first.",
        ),
        Question(
            "safe_housing",
            _yes_no,
            "A safe, substance-free home makes outpatient treatment work; without one, a "
            "residential program may help more.",
        ),
        Question(
            "recent_higher_care",
            _yes_no,
            "People often step down to IOP after detox or residential care, which changes what "
            "fits.",
        ),
        Question(
            "phq_interest",
            form_answers.parse_frequency,
            "These two short mood questions (PHQ-2) help us see if depression needs attention.",
        ),
        Question(
            "phq_depressed",
            form_answers.parse_frequency,
            "These two short mood questions (PHQ-2) help us see if depression needs attention.",
        ),
        Question(
            "gad_nervous",
            form_answers.parse_frequency,
            "These two short questions (GAD-2) help us see if anxiety needs attention.",
        ),
        Question(
            "gad_worry",
            form_answers.parse_frequency,
            "These two short questions (GAD-2) help us see if anxiety needs attention.",
        ),
        Question(
            "impact",
            form_answers.parse_impact,
            "How much daily life is affected helps decide how much support fits.",
        ),
        Question(
            "can_attend",
            form_answers.parse_attendance,
            "IOP usually means about 9 hours a week, often three 3-hour sessions.",
        ),
        Question(
            "preferred_time",
            form_answers.parse_time_of_day,
            "We run groups at different times of day and want one that fits your life.",
        ),
        Question(
            "attend_format",
            form_answers.parse_format,
            "Many groups meet both at the clinic and online; we'll match you to one.",
        ),
        Question(
            "transportation",
            form_answers.parse_transportation,
            "If getting here is hard, our team can help with rides or suggest virtual groups.",
        ),
        Question(
            "insurance",
            form_answers.parse_insurance,
            "It lets our team check your coverage before they call, so there are no surprises.",
            free_text=True,
        ),
        Question(
            "wants_contact",
            _yes_no,
            "Only if you'd like a call or email back from our intake team; it's optional.",
        ),
        Question(
            "contact_name",
            form_answers.parse_first_name,
            "So our intake team knows who to ask for when they reach out.",
            free_text=True,
        ),
        Question(
            "contact_method",
            form_answers.parse_contact,
            "So our intake team can reach you; it's used for nothing else.",
            free_text=True,
        ),
        Question(
            "contact_time",
            form_answers.parse_time_of_day,
            "So we call or write when it suits you.",
        ),
        Question(
            "confirm_stop",
            _yes_no,
            "If you stop now, nothing from this screening is kept.",
        ),
    )
}

SAFETY_SLOTS = (
    "wish_dead",
    "suicidal_thoughts",
    "suicide_method",
    "suicide_intent",
    "suicide_plan",
    "suicidal_behavior",
    "behavior_recent",
)
CONTACT_SLOTS = ("contact_name", "contact_method", "contact_time")
# Every slot the form fills, in the order they are asked (branches skip some).
FORM_SLOTS = tuple(slot for slot in QUESTIONS if slot != "confirm_stop")
# Slots an answer to "stop?" or a finished assessment leaves behind: cleared on (re)start.
ALL_SLOTS = (*QUESTIONS, "stop_requested")


def cssrs(values: Mapping[str, Any]) -> CssrsAnswers:
    """The C-SSRS answers given so far (questions not asked are None / False)."""
    return CssrsAnswers(
        wish_to_be_dead=bool(values.get("wish_dead")),
        suicidal_thoughts=bool(values.get("suicidal_thoughts")),
        method=values.get("suicide_method"),
        intent=values.get("suicide_intent"),
        plan=values.get("suicide_plan"),
        behaviour=bool(values.get("suicidal_behavior")),
        behaviour_past_3_months=values.get("behavior_recent"),
    )


def is_urgent(values: Mapping[str, Any]) -> bool:
    """An urgent C-SSRS answer so far: intent, a plan, or behaviour in the past 3 months."""
    return cssrs_risk(cssrs(values)) == "urgent"


def ending(values: Mapping[str, Any]) -> str | None:
    """Why the form stops early ("declined", "stopped", "emergency"), or None to go on."""
    if values.get("consent") is False:
        return "declined"
    if values.get("confirm_stop") is True:
        return "stopped"
    if is_urgent(values):
        return "emergency"
    return None


def questions_to_ask(values: Mapping[str, Any]) -> list[str]:
    """The slots still to ask, in order, given the answers so far (branching included)."""
    if ending(values):
        return []
    if values.get("stop_requested"):
        return ["confirm_stop"]
    if values.get("consent") is None:
        return ["consent"]
    applies: list[str] = ["wish_dead", "suicidal_thoughts"]
    if values.get("suicidal_thoughts"):
        applies += ["suicide_method", "suicide_intent", "suicide_plan"]
    applies.append("suicidal_behavior")
    if values.get("suicidal_behavior"):
        applies.append("behavior_recent")
    applies.append("age")
    age = values.get("age")
    if age is None or not form_answers.is_minor(age):
        applies.append("concern")
        if values.get("concern") in (None, "substance", "both"):
            applies += ["substances", "withdrawal_risk"]
        applies += [
            "safe_housing",
            "recent_higher_care",
            "phq_interest",
            "phq_depressed",
            "gad_nervous",
            "gad_worry",
            "impact",
            "can_attend",
            "preferred_time",
            "attend_format",
        ]
        if values.get("attend_format") != "virtual":
            applies.append("transportation")
        applies.append("insurance")
    applies.append("wants_contact")
    if values.get("wants_contact"):
        applies += list(CONTACT_SLOTS)
    return [slot for slot in applies if values.get(slot) is None]


def _years(age: int | str | None) -> int:
    return age if isinstance(age, int) else 18


def screening_result(values: Mapping[str, Any]) -> ScreeningResult:
    """The recommendation's inputs from the form's answers (skipped questions count as no)."""
    concern = values.get("concern")
    return ScreeningResult(
        cssrs=cssrs(values),
        # The buttons give a band; the rules only need to know which side of 18.
        age=17 if form_answers.is_minor(values.get("age")) else _years(values.get("age")),
        withdrawal_risk=bool(values.get("withdrawal_risk")) and concern != "mental_health",
        safe_housing=values.get("safe_housing") is not False,
        recent_higher_care=bool(values.get("recent_higher_care")),
        phq2=two_item_score(values.get("phq_interest") or 0, values.get("phq_depressed") or 0),
        gad2=two_item_score(values.get("gad_nervous") or 0, values.get("gad_worry") or 0),
        impact=int(values.get("impact") or 1),
    )


def stored_answers(values: Mapping[str, Any]) -> dict[str, Any]:
    """Every answer given (not contact details, which have their own consented columns)."""
    return {
        slot: values[slot]
        for slot in FORM_SLOTS
        if slot not in CONTACT_SLOTS and values.get(slot) is not None
    }


NEXT_STEPS = {
    "emergency": (
        "Please reach out for help now: call or text 988 (Suicide & Crisis Lifeline), or call "
        "911 if you are in immediate danger. Our intake team will also see your answers first "
        "thing."
    ),
    "adolescent_services": (
        "Our intake team can point you and a parent or guardian to a good teen program nearby."
    ),
    "higher_level_of_care": (
        "Our intake team will help you find the right program and can talk about IOP as the "
        "step after it."
    ),
    "outpatient": (
        "Our intake team can set up outpatient counseling, and IOP stays an option if things "
        "get harder."
    ),
    "iop": "Our intake team will go over the schedule, costs and a start date with you.",
}
LEVEL_NAMES = {
    "emergency": "getting help for your safety right now",
    "adolescent_services": "a program for teens (adolescent services)",
    "higher_level_of_care": "a higher level of care first (like medical detox or residential)",
    "outpatient": "standard outpatient counseling",
    "iop": "our Intensive Outpatient Program (IOP)",
}


def result_message(recommendation: Recommendation, reference: str, contact: bool) -> str:
    """The result in plain words: what fits, why, what happens next, the reference code."""
    why = " and ".join(recommendation.reasons)
    parts = [
        "Thank you. Based on your answers, the best fit looks like ",
        LEVEL_NAMES[recommendation.level],
        f", because {why}." if why else ".",
        " This is a screening, not a diagnosis. ",
        NEXT_STEPS[recommendation.level],
    ]
    if recommendation.risk in ("moderate", "low"):
        parts.append(
            " If thoughts of suicide come back or get stronger, call or text 988 any time, day "
            "or night, or call 911 in an emergency."
        )
    if recommendation.level != "emergency":
        parts.append(
            " We'll be in touch as you asked."
            if contact
            else " Call us whenever you're ready and mention your reference code."
        )
    parts.append(f" Your reference code is {reference}.")
    return "".join(parts)


def urgent_message(reference: str) -> str:
    """After an urgent safety answer (the crisis lines were just sent): where the answers went."""
    return (
        "Thank you for answering honestly. I've stopped the screening here, because your "
        "safety matters most right now. Our intake team will see your answers, saved under "
        f"reference {reference}."
    )
