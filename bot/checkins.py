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

from bot.settings import REPO_ROOT

CONTENT = REPO_ROOT / "content"
HIGH_CRAVING = 8  # craving >= 8 opens a high_craving flag (SPEC §3.2)

NUMBER_WORDS = {
    "zero": 0, "none": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip
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
