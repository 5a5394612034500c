"""Pure check-in rules: reading craving, mood and triggers from free text; trends; coping tips.

Craving words map to documented values (0-10) so "pretty strong" is stored as a number staff
can chart: see CRAVING_WORDS. Numbers outside 0-10 raise OutOfRange, and the form re-asks.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from statistics import mean

import yaml

from bot.domain.form_answers import (
    NUMBER_WORDS,
    Invalid,
    Question,
    normalise,
    parse_substances,
    parse_yes_no,
)
from bot.settings import REPO_ROOT

CONTENT = REPO_ROOT / "content"
HIGH_CRAVING = 8  # craving >= 8 opens a high_craving flag (SPEC §3.2)

# Longest phrases are tried first, so "not strong" wins over "strong".
CRAVING_WORDS = {
    "no craving": 0, "not at all": 0, "nothing": 0, "not really": 1,
    "barely": 1, "a little": 2, "a bit": 2, "slight": 2, "mild": 2, "low": 2, "not strong": 2,
    "some": 4, "moderate": 5, "medium": 5, "so so": 5, "so-so": 5, "manageable": 4,
    "strong": 7, "pretty strong": 7, "high": 7, "bad": 7, "pretty bad": 7,
    "very strong": 8, "really strong": 8, "intense": 8, "really bad": 8, "very bad": 8,
    "super strong": 9, "overwhelming": 10, "unbearable": 10, "extreme": 10, "worst ever": 10,
}  # fmt: skip
MOOD_WORDS = {
    "awful": 1, "terrible": 1, "horrible": 1, "very bad": 1, "really bad": 1, "worst": 1,
    "bad": 2, "low": 2, "not great": 2, "not good": 2, "down": 2, "rough": 2,
    "okay": 3, "ok": 3, "meh": 3, "so so": 3, "so-so": 3, "fine": 3, "alright": 3, "average": 3,
    "good": 4, "pretty good": 4, "decent": 4,
    "great": 5, "very good": 5, "really good": 5, "excellent": 5, "amazing": 5, "fantastic": 5,
}  # fmt: skip


class OutOfRange(ValueError):
    """A number was given but it is outside the scale; the message says the scale."""


def _number(text: str) -> int | None:
    """The number a person meant: "7", "7/10", "7 out of 10", "like an 8", "seven", "-1"."""
    match = re.search(r"(?<![\w.])(-?\d+(?:\.\d+)?)\s*(?:/\s*10|out of 10)?", text)
    if match:
        value = float(match.group(1))
        return round(value)
    for word, value in NUMBER_WORDS.items():
        if re.search(rf"\b{word}\b", text):
            return value
    return None


def _phrase_value(text: str, table: dict[str, int]) -> int | None:
    for phrase in sorted(table, key=len, reverse=True):
        if re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text):
            return table[phrase]
    return None


def parse_scale(text: str, low: int, high: int, words: dict[str, int]) -> int | None:
    """A value on a low..high scale from digits, number words or descriptive words."""
    cleaned = " ".join(str(text).lower().split())
    number = _number(cleaned)
    if number is not None:
        if not low <= number <= high:
            raise OutOfRange(f"please answer with a number from {low} to {high}")
        return number
    return _phrase_value(cleaned, words)


def parse_craving(text: str) -> int | None:
    """Craving 0-10, or None when the answer holds no level; OutOfRange for e.g. 12 or -1."""
    return parse_scale(text, 0, 10, CRAVING_WORDS)


def parse_mood(text: str) -> int | None:
    """Mood 1-5 (1 very low, 5 very good), or None; OutOfRange for numbers outside 1-5."""
    return parse_scale(text, 1, 5, MOOD_WORDS)


@lru_cache(maxsize=1)
def trigger_words() -> dict[str, tuple[str, ...]]:
    """Trigger name -> the words and phrases that point to it (content/triggers.yml)."""
    data = yaml.safe_load((CONTENT / "triggers.yml").read_text(encoding="utf-8"))
    return {name: tuple(str(w).lower() for w in words or ()) for name, words in data.items()}


TRIGGERS = tuple(trigger_words())


def extract_triggers(text: str) -> list[str]:
    """The canonical triggers a free-text answer mentions, in the canonical order."""
    cleaned = " ".join(str(text).lower().replace("’", "'").split())
    found = []
    for name, words in trigger_words().items():
        named = name != "other" and name in re.findall(r"[a-z]+", cleaned)
        if named or any(re.search(rf"(?<![\w']){re.escape(w)}(?![\w'])", cleaned) for w in words):
            found.append(name)
    return found


@dataclass(frozen=True)
class DayCraving:
    """One check-in, reduced to what trends need."""

    day: date
    craving: int
    triggers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Trend:
    """A participant's own figures for the check-in reply."""

    this_week: float | None  # average craving, last 7 days including today
    last_week: float | None  # average craving, the 7 days before
    streak_days: int  # consecutive days with a check-in, ending today (or yesterday)
    top_trigger: str | None  # most common trigger in the last 7 days

    def sentence(self) -> str:
        """The trend in plain words."""
        parts = []
        if self.this_week is not None and self.last_week is not None:
            direction = (
                "down from"
                if self.this_week < self.last_week
                else "up from"
                if self.this_week > self.last_week
                else "the same as"
            )
            parts.append(
                f"Your average craving this week is {self.this_week:.1f}, "
                f"{direction} {self.last_week:.1f} the week before."
            )
        elif self.this_week is not None:
            parts.append(f"Your average craving this week is {self.this_week:.1f}.")
        if self.streak_days >= 2:
            parts.append(f"That's {self.streak_days} days in a row of checking in.")
        if self.top_trigger:
            parts.append(f"Your most common trigger this week: {self.top_trigger}.")
        return " ".join(parts)


def craving_trend(history: list[DayCraving], today: date) -> Trend:
    """7-day average vs the previous 7 days, check-in streak and top trigger this week."""
    this_week = [c for c in history if today - timedelta(days=6) <= c.day <= today]
    last_week = [
        c for c in history if today - timedelta(days=13) <= c.day <= today - timedelta(days=7)
    ]
    days = {c.day for c in history}
    cursor = today if today in days else today - timedelta(days=1)
    streak = 0
    while cursor in days:
        streak += 1
        cursor -= timedelta(days=1)
    triggers = Counter(t for c in this_week for t in c.triggers if t != "other")
    top = min(triggers, key=lambda t: (-triggers[t], TRIGGERS.index(t))) if triggers else None
    return Trend(
        this_week=round(mean(c.craving for c in this_week), 1) if this_week else None,
        last_week=round(mean(c.craving for c in last_week), 1) if last_week else None,
        streak_days=streak,
        top_trigger=top,
    )


@lru_cache(maxsize=1)
def coping_content(path: Path = CONTENT / "coping.yml") -> dict[str, tuple[str, ...]]:
    """Suggestions by trigger (content/coping.yml), editable by staff."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {key: tuple(values or ()) for key, values in data.items()}


def suggest_coping(triggers: list[str], craving: int, limit: int = 2) -> list[str]:
    """One or two suggestions: craving support first when craving is high, then by trigger."""
    content = coping_content()
    keys = (["high_craving"] if craving >= HIGH_CRAVING else []) + list(triggers)
    suggestions: list[str] = []
    for key in keys:
        for suggestion in content.get(key, ()):
            if suggestion not in suggestions:
                suggestions.append(suggestion)
                break
        if len(suggestions) >= limit:
            break
    return suggestions or list(content.get("default", ()))[:1]


# --- The check-in form's questions (actions/checkin_form.py asks them one at a time) ---

NO_TRIGGERS = ("nothing", "none", "no triggers", "nothing in particular", "nothing really",
               "not really", "no", "nope", "nah", "nothing today", "n/a", "na")  # fmt: skip
GROUPED_TRIGGERS = {"people or places": ["people", "places"]}
STAYED_SOBER = ("clean", "sober", "stayed clean", "stayed sober", "didn't use", "didnt use",
                "nothing", "no use", "abstinent", "haven't used", "havent used")  # fmt: skip
USED_WORDS = ("used", "relapsed", "relapse", "slipped", "slip", "drank", "had a drink",
              "got high", "smoked", "took", "shot up", "had a few", "using",
              "drinking")  # fmt: skip
COPING_SKILLS = {
    "called someone": ("called", "call", "texted", "talked to", "sponsor", "reached out"),
    "went to a meeting": ("meeting", "aa", "na meeting", "group", "smart recovery"),
    "exercise": ("exercise", "run", "ran", "walk", "walked", "gym", "workout", "yoga", "bike"),
    "breathing or meditation": ("breathing", "breathe", "meditate", "meditated", "meditation",
                                "mindfulness", "urge surfing"),
    "prayer": ("pray", "prayed", "prayer", "church"),
    "music or hobbies": ("music", "guitar", "painted", "drew", "read", "reading", "game",
                         "cooked", "journal", "journaled", "wrote"),
    "rest": ("slept", "nap", "rested", "rest"),
}  # fmt: skip
NOTHING_TO_ADD = ("nothing to add", "nothing", "no", "nope", "skip", "none", "nah", "n/a",
                  "not really", "that's all", "thats all", "no thanks")  # fmt: skip
MAX_NOTE_CHARS = 500


def _scale(parse, text: str, ask: str) -> int:  # noqa: ANN001
    try:
        value = parse(text)
    except OutOfRange as exc:
        raise Invalid(f"That's outside the scale: {exc}.") from exc
    if value is None:
        raise Invalid(ask)
    return value


def read_mood(text: str) -> int:
    """Mood 1-5 from a button, a digit or words ("pretty good", "meh")."""
    return _scale(parse_mood, text, "How's your mood, from 1 (very low) to 5 (very good)?")


def read_craving(text: str) -> int:
    """Craving 0-10 from "7", "seven", "7/10", "like an 8", "pretty strong"; 12 is re-asked."""
    return _scale(
        parse_craving, text, "How strong is your craving right now, from 0 (none) to 10 (worst)?"
    )


def read_triggers(text: str) -> list[str]:
    """Triggers from free text ("fought with my sister at the bar"); [] for "nothing"."""
    cleaned = normalise(text)
    if cleaned in GROUPED_TRIGGERS:
        return GROUPED_TRIGGERS[cleaned]
    if cleaned.strip(" .!") in NO_TRIGGERS:
        return []
    found = extract_triggers(cleaned)
    if not found and not cleaned:
        raise Invalid("What made today harder, if anything? You can say 'nothing'.")
    return found or ["other"]


def read_use(text: str) -> dict:
    """Any use since the last check-in, and what if said: {"used": bool, "what": str | None}."""
    cleaned = normalise(text)
    named = parse_substances(cleaned, strict=True)
    what = ", ".join(named) if named else None
    stayed_sober = any(
        re.search(rf"(?<![\w']){re.escape(w)}(?![\w'])", cleaned) for w in STAYED_SOBER
    )
    if stayed_sober and not re.search(r"\b(?:but|except)\b", cleaned):
        return {"used": False, "what": None}
    try:
        used = parse_yes_no(cleaned)
    except Invalid:
        if named or any(re.search(rf"\b{re.escape(w)}\b", cleaned) for w in USED_WORDS):
            return {"used": True, "what": what}
        raise Invalid("Have you used since your last check-in? Yes or no is fine.") from None
    return {"used": used, "what": what if used else None}


def read_used_what(text: str) -> str:
    """What was used, in the participant's words (trimmed); "rather not say" is respected."""
    plain = " ".join(str(text).split())[:200]
    if not plain:
        raise Invalid("What did you use? You can also say you'd rather not say.")
    return plain


def read_coping_note(text: str) -> dict:
    """Coping used (known skills from the words) and the free-text note, both optional."""
    plain = " ".join(str(text).split())[:MAX_NOTE_CHARS]
    cleaned = normalise(plain).strip(" .!")
    if cleaned in NOTHING_TO_ADD:
        return {"coping": None, "note": None}
    skills = [
        skill
        for skill, words in COPING_SKILLS.items()
        if skill == cleaned
        or any(re.search(rf"(?<![\w']){re.escape(w)}(?![\w'])", cleaned) for w in words)
    ]
    is_button = cleaned in COPING_SKILLS
    return {"coping": ", ".join(skills) or None, "note": None if is_button else plain}


CHECKIN_QUESTIONS: dict[str, Question] = {
    q.slot: q
    for q in (
        Question(
            "mood", read_mood, "Your mood over time helps you and your counselor spot patterns."
        ),  # fmt: skip
        Question(
            "craving",
            read_craving,
            "Tracking cravings shows what raises them and what "
            "helps, and lets your team step in early.",
        ),  # fmt: skip
        Question(
            "triggers",
            read_triggers,
            "Knowing what sets off cravings lets me suggest something that fits.",
            free_text=True,
        ),  # fmt: skip
        Question(
            "used_since_last",
            read_use,
            "Your team uses this to support you, never to "
            "judge; slips are part of many recoveries.",
        ),  # fmt: skip
        Question(
            "used_what",
            read_used_what,
            "It helps your care team offer the right support.",
            free_text=True,
        ),  # fmt: skip
        Question(
            "coping_note",
            read_coping_note,
            "Noting what helped makes it easier to use again; your note goes to your care team.",
            free_text=True,
        ),  # fmt: skip
        Question(
            "confirm_stop",
            lambda text: parse_yes_no(text),
            "If you stop now, nothing from this check-in is saved.",
        ),  # fmt: skip
    )
}
CHECKIN_SLOTS = (*CHECKIN_QUESTIONS, "stop_requested")


def checkin_questions_to_ask(values: dict) -> list[str]:
    """The check-in slots still to ask, in order (what was used only after a yes)."""
    if values.get("confirm_stop") is True:
        return []
    if values.get("stop_requested"):
        return ["confirm_stop"]
    order = ["mood", "craving", "triggers", "used_since_last"]
    use = values.get("used_since_last") or {}
    if use.get("used") and not use.get("what"):
        order.append("used_what")
    order.append("coping_note")
    return [slot for slot in order if values.get(slot) is None]
