"""Pure readers for form answers typed in free text or sent by a button ("nah", "I'm 34",
"twice a week", "555 010 4477"). Each returns the value, or raises Invalid with the specific
message the form re-asks with. Nothing here knows about Rasa.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

NUMBER_WORDS = {
    "zero": 0, "none": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip


def is_minor(age: int | str | None) -> bool:
    """Under 18, from an age in years or an age band."""
    return age == "under_18" or (isinstance(age, int) and age < 18)


class Invalid(ValueError):
    """The answer could not be read; str(exc) is the plain-language re-ask message."""


@dataclass(frozen=True)
class Question:
    """One form slot: how to read its answer (raising Invalid) and why we ask it."""

    slot: str
    read: Callable[[str], Any]
    why: str
    free_text: bool = False  # open answers (names, insurance): accepted unless clearly a question
    # For an open question: a reader that accepts only known words (substance names), so a short
    # known answer is never mistaken for something else (actions/forms.py `_plain_answer`).
    strict_read: Callable[[str], Any] | None = None


def normalise(text: object) -> str:
    """Lower-case, straight quotes, single spaces, no control characters."""
    cleaned = "".join(ch for ch in str(text) if unicodedata.category(ch)[0] != "C" or ch == " ")
    cleaned = cleaned.replace("’", "'").replace("‘", "'").lower()
    return " ".join(cleaned.split())


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text)


def _has(text: str, phrases: tuple[str, ...]) -> bool:
    return any(re.search(rf"(?<![\w']){re.escape(p)}(?![\w'])", text) for p in phrases)


def _first_phrase(text: str, table: dict[str, object]) -> object | None:
    """The value of the longest phrase of `table` found in `text`."""
    for phrase in sorted(table, key=len, reverse=True):
        if _has(text, (phrase,)):
            return table[phrase]
    return None


YES_START = ("yes", "yeah", "yea", "yep", "yup", "ya", "yah", "y", "sure", "ok", "okay",
             "correct", "definitely", "absolutely", "affirmative", "true", "mhm", "uh")  # fmt: skip
NO_START = ("no", "nah", "nope", "n", "never", "negative", "nay")
# Said to a screening question about risk, these count as "yes" for safety's sake.
UNSURE = ("maybe", "sometimes", "kind of", "kinda", "sort of", "a little", "i guess", "not sure",
          "i think so", "possibly", "probably", "idk", "i don't know", "i dont know", "unsure",
          "perhaps", "a bit", "dunno", "i dunno", "idek", "sorta")  # fmt: skip
NEGATIONS = ("not", "don't", "dont", "haven't", "havent", "didn't", "didnt", "never", "none",
             "isn't", "wasn't", "won't", "can't", "cant", "cannot", "no")  # fmt: skip
YES_PHRASES = ("i do", "i have", "i am", "i did", "i can", "i will", "of course", "that's right",
               "go ahead", "i agree", "agreed", "yes please", "please do",
               "let's do it")  # fmt: skip


def parse_yes_no(text: object, *, unsure_means_yes: bool = False) -> bool:
    """Yes or no from "yeah I guess", "nah", "I don't think so", "/affirm"; unsure may be yes."""
    cleaned = normalise(text)
    if cleaned in ("/affirm", "/deny"):
        return cleaned == "/affirm"
    words = _words(cleaned)
    if words and words[0] in YES_START:
        return True
    if words and words[0] in NO_START:
        return False
    if _has(cleaned, UNSURE):
        if unsure_means_yes:
            return True
        raise Invalid("That's okay. Could you answer yes or no? You can use the buttons.")
    if _has(cleaned, NEGATIONS):
        return False
    if _has(cleaned, YES_PHRASES):
        return True
    raise Invalid("Sorry, I didn't catch that. Please answer yes or no.")


QUESTION_START = ("what", "why", "how", "who", "where", "when", "which", "should", "can",
                  "could", "would", "do", "does", "is", "are", "will")  # fmt: skip
ASKING = ("what", "why", "how", "who", "where", "when", "which")
# Unsure, as an answer to a question about suicide or self-harm ("a little" and "a bit" are left
# out: typed after a check-in's scale question they answer that one).
UNSURE_ABOUT_SAFETY = tuple(p for p in UNSURE if p not in ("a little", "a bit"))
# A reply to "Are you safe right now?" that starts with these, and says no "no", means safe;
# so do these words ("I'm fine"); and these mean not safe, whatever else it says.
SAFE_YES = ("yes", "yeah", "yea", "yep", "yup", "ya", "yah", "y", "sure", "ok", "okay",
            "correct", "definitely", "absolutely", "mhm")  # fmt: skip
SAFE_WORDS = ("safe", "ok", "okay", "fine", "alright", "all right", "good", "better")
# What else a plain "I'm safe" may say; a reply with anything more ("safe for now", "ok bye",
# "yes, I have a plan", "ok 😭") is not read as safe.
SAFE_FILLER = ("i", "i'm", "im", "i am", "am", "now", "right now", "really", "totally", "yes i am",
               "thanks", "thank you", "thx", "at home", "home", "feeling", "doing", "pretty",
               "all good", "don't worry", "dont worry", "no worries")  # fmt: skip
REASSURING = ("don't worry", "dont worry", "no worries")
SAFE_SIGNS = re.compile(r"[\s.,!'\-]|🙂|👍|😊|❤️?")
NOT_SAFE_WORDS = ("unsafe", "scared", "afraid", "terrified", "danger", "alone", "hurt", "pills",
                  "knife", "gun", "rope", "bleeding", "overdose")  # fmt: skip
# Besides doubt, a reply that says these is not only unsure ("I'm fine, I guess", "I was kinda
# joking"): it is asked again rather than taken for a yes.
NOT_ONLY_UNSURE = (*SAFE_WORDS, "just", "joking", "kidding", "dramatic", "exaggerating", "tired")


def _is_question(cleaned: str) -> bool:
    words = _words(cleaned)
    return (
        cleaned.endswith("?") or bool(words and words[0] in QUESTION_START) or _has(cleaned, ASKING)
    )


def _without(cleaned: str, phrases: tuple[str, ...]) -> str:
    for phrase in phrases:
        cleaned = re.sub(rf"(?<![\w']){re.escape(phrase)}(?![\w'])", " ", cleaned)
    return cleaned


def is_only_unsure(text: object) -> bool:
    """Unsure and nothing else: "maybe", "I don't know", "I think about it sometimes"; not
    "maybe not", "no, I'm not sure what you mean" or "I don't know why you ask"."""
    cleaned = normalise(text)
    if not _has(cleaned, UNSURE_ABOUT_SAFETY) or cleaned.endswith("?"):
        return False
    rest = _without(cleaned, UNSURE_ABOUT_SAFETY)
    return not (
        _has(rest, NO_START)
        or _has(rest, NEGATIONS)
        or _has(rest, NOT_ONLY_UNSURE)
        or _is_question(rest)
    )


def parse_safe_now(text: object) -> bool:
    """Safe (True) or not (False) from a reply to "Are you safe right now?". Anything unsure, any
    no or negation, or a word of danger ("scared", "alone", "pills") is not safe, for safety's
    sake ("ok no", "yes and no", "not sure"); a plain yes or "I'm fine" and nothing more is safe;
    a question or anything else ("safe for now", "ok bye", "yes, I have a plan") is unclear
    (Invalid)."""
    cleaned = normalise(text)
    if cleaned in ("/affirm", "/deny"):
        return cleaned == "/affirm"
    said = _without(cleaned, REASSURING)  # "no worries", "don't worry" are not a no
    if any(_has(said, words) for words in (UNSURE, NO_START, NEGATIONS, NOT_SAFE_WORDS)):
        return False
    rest = SAFE_SIGNS.sub("", _without(cleaned, (*SAFE_FILLER, *SAFE_WORDS, *SAFE_YES)))
    if _is_question(cleaned) or rest or not _has(cleaned, (*SAFE_YES, *SAFE_WORDS)):
        raise Invalid("Are you safe right now? Please answer yes or no.")
    return True


TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
        "eighty": 80, "ninety": 90}  # fmt: skip
TEENS = {"eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
         "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}  # fmt: skip


def _spelled_number(text: str) -> int | None:
    words = _words(text.replace("-", " "))
    for i, word in enumerate(words):
        if word in TENS:
            unit = NUMBER_WORDS.get(words[i + 1], 0) if i + 1 < len(words) else 0
            return TENS[word] + (unit if unit < 10 else 0)
        if word in TEENS:
            return TEENS[word]
        if word in NUMBER_WORDS and word not in ("none", "zero"):
            return NUMBER_WORDS[word]
    return None


UNDER_18 = ("under 18", "younger than 18", "less than 18", "minor", "i'm a teen", "teenager",
            "not 18 yet", "not yet 18")  # fmt: skip
ADULT = ("18 or older", "18 or over", "over 18", "18+", "older than 18", "an adult", "adult")


def parse_age(text: object) -> int | str:
    """Age in years from "34", "I'm 34", "thirty four"; the buttons' bands "under_18"/"18_plus"."""
    cleaned = normalise(text)
    if _has(cleaned, UNDER_18):
        return "under_18"
    if cleaned.startswith("18+") or _has(cleaned, ADULT):
        return "18_plus"
    numbers = re.findall(r"(?<![\d.])\d{1,3}(?![\d.])", cleaned)
    age = int(numbers[0]) if len(numbers) == 1 else _spelled_number(cleaned)
    if len(numbers) > 1:
        age = None
    if age is None:
        raise Invalid("Please tell me your age in years, as a number (for example, 34).")
    if not 10 <= age <= 110:
        raise Invalid("That doesn't look like an age. Please type your age in years, like 34.")
    return age


FREQUENCY_WORDS = {
    "not at all": 0, "never": 0, "none": 0, "no": 0, "nope": 0, "nah": 0, "not really": 0,
    "zero": 0, "0": 0,
    "several days": 1, "some days": 1, "sometimes": 1, "a few days": 1, "a few times": 1,
    "a little": 1, "once or twice": 1, "occasionally": 1, "a couple days": 1, "rarely": 1,
    "1": 1, "one": 1,
    "more than half the days": 2, "more than half": 2, "half the time": 2, "most days": 2,
    "often": 2, "a lot": 2, "frequently": 2, "many days": 2, "2": 2, "two": 2,
    "nearly every day": 3, "every day": 3, "everyday": 3, "all the time": 3, "always": 3,
    "constantly": 3, "daily": 3, "almost every day": 3, "3": 3, "three": 3,
}  # fmt: skip


def parse_frequency(text: object) -> int:
    """A PHQ-2 / GAD-2 item, 0-3: "not at all", "several days", "most days", "every day"."""
    cleaned = normalise(text)
    if re.search(r"(?<![\d.])(?:[4-9]|\d{2,})(?![\d.])", cleaned):
        raise Invalid("Please pick one of the four answers, from 0 (not at all) to 3 (nearly "
                      "every day).")  # fmt: skip
    value = _first_phrase(cleaned, FREQUENCY_WORDS)
    if value is None:
        raise Invalid(
            "Please choose: not at all, several days, more than half the days, or nearly every day."
        )
    return int(value)  # type: ignore[arg-type]


IMPACT_WORDS = {
    "not at all": 1, "none": 1, "no impact": 1, "barely": 1, "hardly": 1, "not much": 2,
    "a little": 2, "slightly": 2, "a bit": 2, "mild": 2, "somewhat": 3, "moderately": 3,
    "some": 3, "medium": 3, "quite a bit": 4, "a lot": 4, "very much": 4, "pretty bad": 4,
    "badly": 4, "seriously": 4, "completely": 5, "extremely": 5, "severely": 5,
    "ruining": 5, "ruined": 5, "destroying": 5, "everything": 5,
}  # fmt: skip


def parse_impact(text: object) -> int:
    """Impact on work, school or family, 1 (not at all) to 5 (severely)."""
    cleaned = normalise(text)
    numbers = re.findall(r"(?<![\d.])-?\d+(?![\d.])", cleaned)
    if numbers:
        value = int(numbers[0])
        if not 1 <= value <= 5:
            raise Invalid("Please use a number from 1 (not at all) to 5 (severely).")
        return value
    spelled = _spelled_number(cleaned)
    if spelled is not None and 1 <= spelled <= 5:
        return spelled
    value = _first_phrase(cleaned, IMPACT_WORDS)
    if value is None:
        raise Invalid("On a scale from 1 (not at all) to 5 (severely), how much does it affect "
                      "you?")  # fmt: skip
    return int(value)  # type: ignore[arg-type]


ATTEND_HOURS = 9  # an IOP week: about three 3-hour sessions
_TIMES = {"once": 1, "twice": 2, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
          "six": 6, "seven": 7, "a couple": 2, "a few": 3}  # fmt: skip


def parse_attendance(text: object) -> bool:
    """Can attend about 9 hours a week: yes/no, "twice a week", "3 evenings", "10 hours"."""
    cleaned = normalise(text)
    hours = re.search(r"(\d+)\s*(?:hours|hrs|hr|h)\b", cleaned)
    if hours:
        return int(hours.group(1)) >= ATTEND_HOURS
    days = re.search(
        r"\b(\d|once|twice|one|two|three|four|five|six|seven|a couple|a few)\s*"
        r"(?:times|days|evenings|mornings|afternoons|nights|x)?\s*(?:a|per|each|/)?\s*week",
        cleaned,
    ) or re.search(r"\b(\d|one|two|three|four|five|six|seven)\s+(?:days|evenings|mornings|nights)",
                   cleaned)  # fmt: skip
    if days:
        word = days.group(1)
        count = int(word) if word.isdigit() else _TIMES[word]
        return count >= 3
    if _has(cleaned, ("weekends only", "only weekends", "just weekends", "once in a while")):
        return False
    if _has(cleaned, ("every day", "weekdays", "any day", "most days", "full time")):
        return True
    return parse_yes_no(cleaned)


TIME_OF_DAY = {
    "morning": "morning", "mornings": "morning", "am": "morning", "before work": "morning",
    "early": "morning", "afternoon": "afternoon", "afternoons": "afternoon",
    "midday": "afternoon", "lunch": "afternoon", "lunchtime": "afternoon",
    "evening": "evening", "evenings": "evening", "night": "evening", "nights": "evening",
    "after work": "evening", "pm": "evening", "after 5": "evening", "after five": "evening",
    "tonight": "evening", "late": "evening",
    "any": "any", "anytime": "any", "any time": "any", "flexible": "any", "whenever": "any",
    "doesn't matter": "any", "doesnt matter": "any", "either": "any", "no preference": "any",
    "all": "any",
}  # fmt: skip


def parse_time_of_day(text: object) -> str:
    """morning, afternoon, evening or any."""
    value = _first_phrase(normalise(text), TIME_OF_DAY)
    if value is None:
        raise Invalid("Which works best: morning, afternoon, evening, or any time?")
    return str(value)


FORMATS = {
    "in person": "in_person", "in-person": "in_person", "on site": "in_person",
    "onsite": "in_person", "at the clinic": "in_person", "face to face": "in_person",
    "in the office": "in_person", "person": "in_person",
    "virtual": "virtual", "virtually": "virtual", "online": "virtual", "telehealth": "virtual",
    "zoom": "virtual", "video": "virtual", "remote": "virtual", "remotely": "virtual",
    "from home": "virtual", "at home": "virtual", "computer": "virtual",
    "either": "either", "both": "either", "no preference": "either", "doesn't matter": "either",
    "doesnt matter": "either", "any": "either", "whichever": "either",
}  # fmt: skip


def parse_format(text: object) -> str:
    """in_person, virtual or either."""
    value = _first_phrase(normalise(text), FORMATS)
    if value is None:
        raise Invalid("Would you rather come in person, join virtually, or either?")
    return str(value)


def parse_transportation(text: object) -> bool:
    """Reliable transport to the clinic: yes/no, "I drive", "I take the bus", "no car"."""
    cleaned = normalise(text)
    if _has(cleaned, ("no car", "don't have a car", "dont have a car", "no ride", "no way to get",
                      "can't drive", "cant drive", "no transportation", "no license")):  # fmt: skip
        return False
    if _has(cleaned, ("i drive", "my car", "have a car", "bus", "train", "subway", "ride",
                      "walk", "bike", "uber", "lyft", "drive myself")):  # fmt: skip
        return True
    return parse_yes_no(cleaned)


SUBSTANCE_CONCERN = ("substance", "substances", "drug", "drugs", "drinking", "drink", "alcohol",
                     "using", "use", "addiction", "addicted", "pills", "opioids", "weed",
                     "gambling")  # fmt: skip
MENTAL_CONCERN = ("mental", "anxiety", "anxious", "depression", "depressed", "mood", "trauma",
                  "ptsd", "panic", "bipolar", "stress", "emotions", "emotional", "grief",
                  "sad", "ocd", "eating")  # fmt: skip


def parse_concern(text: object) -> str:
    """substance, mental_health or both."""
    cleaned = normalise(text)
    if _has(cleaned, ("both", "all of it", "all of the above", "a mix", "mix of both")):
        return "both"
    substance = _has(cleaned, SUBSTANCE_CONCERN)
    mental = _has(cleaned, MENTAL_CONCERN)
    if substance and mental:
        return "both"
    if substance:
        return "substance"
    if mental:
        return "mental_health"
    substances = parse_substances(cleaned, strict=True)
    if substances:
        return "substance"
    raise Invalid("Is it mainly substance use, mental health, or both?")


SUBSTANCES = {
    "alcohol": ("alcohol", "drinking", "drink", "booze", "beer", "beers", "wine", "liquor",
                "vodka", "whiskey", "tequila", "rum"),
    "opioids": ("opioid", "opioids", "opiates", "heroin", "fentanyl", "fent", "oxy", "oxys",
                "oxycodone", "oxycontin", "percocet", "percs", "hydrocodone", "vicodin",
                "painkillers", "pain pills", "methadone", "dope", "morphine", "suboxone"),
    "benzodiazepines": ("benzo", "benzos", "benzodiazepines", "xanax", "xannies", "bars",
                        "valium", "klonopin", "ativan"),
    "stimulants": ("meth", "crystal", "cocaine", "coke", "crack", "adderall", "speed",
                   "amphetamines", "stimulants", "ice"),
    "cannabis": ("weed", "marijuana", "cannabis", "pot", "thc", "edibles", "joint", "joints",
                 "dabs", "vape", "smoking weed", "blunts"),
    "nicotine": ("nicotine", "cigarettes", "cigs", "vaping", "tobacco"),
}  # fmt: skip


def parse_substances(text: object, *, strict: bool = False) -> list[str]:
    """Canonical substances named in free text; unnamed ones become "other"."""
    cleaned = normalise(text)
    found = [name for name, words in SUBSTANCES.items() if _has(cleaned, words)]
    if found or strict:
        return found
    if len(_words(cleaned)) == 0:
        raise Invalid("Which substances? For example alcohol, opioids, stimulants or cannabis.")
    return ["other"]


SELF_PAY = ("self pay", "self-pay", "selfpay", "cash", "no insurance", "uninsured",
            "don't have insurance", "dont have insurance", "pay myself", "out of pocket",
            "none", "no")  # fmt: skip
UNSURE_INSURANCE = ("not sure", "unsure", "don't know", "dont know", "idk", "no idea")
MAX_INSURANCE_CHARS = 80


def parse_insurance(text: object) -> str:
    """A provider name as typed (trimmed), or "self-pay" / "unsure"."""
    cleaned = normalise(text)
    if _has(cleaned, UNSURE_INSURANCE):
        return "unsure"
    if _has(cleaned, SELF_PAY):
        return "self-pay"
    plain = " ".join(str(text).split())
    if not re.search(r"[A-Za-z]", plain) or len(plain) > MAX_INSURANCE_CHARS:
        raise Invalid("Please type the name of your insurance (for example Aetna or Medicaid), "
                      "or say self-pay or not sure.")  # fmt: skip
    return plain


NAME_PREFIX = re.compile(
    r"^(?:my name is|my name's|name is|i'm|im|i am|it's|its|call me|this is)\s+"
)


def parse_first_name(text: object) -> str:
    """A first name (letters, apostrophes, hyphens), e.g. from "my name is Sam"."""
    raw = " ".join(str(text).split())
    stripped = NAME_PREFIX.sub("", raw.lower())
    if stripped != raw.lower():
        raw = raw[len(raw) - len(stripped) :]
    name = raw.strip(" .!,")
    if not re.fullmatch(r"[^\W\d_][^\W\d_'\- ]{0,38}(?:[' -][^\W\d_]+)?", name):
        raise Invalid("Please type just your first name (letters only).")
    return name[:1].upper() + name[1:]


EMAIL = re.compile(
    r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}"
)


PHONE = re.compile(r"(?<!\d)(?:\+?1[\s.-]?)?(?:\(\d{3}\)|\d{3})[\s.-]?\d{3}[\s.-]?\d{4}(?!\d)")


def _phone(digits: str) -> str | None:
    """(555) 010-4477 from ten digits (or eleven with the leading 1) of a US number."""
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) == 10 and digits[0] not in "01":
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return None


def parse_contact(text: object) -> dict[str, str]:
    """{"phone": "(555) 010-4477"}, {"email": "sam@example.com"} or both, validated."""
    raw = " ".join(str(text).split())
    email = EMAIL.search(raw)
    if email:
        contact = {"email": email.group(0).lower()}
        rest = raw[: email.start()] + " " + raw[email.end() :]
        number = PHONE.search(rest)
        phone = _phone(re.sub(r"\D", "", number.group(0))) if number else None
        return {**contact, "phone": phone} if phone else contact
    phone = _phone(re.sub(r"\D", "", raw))
    if phone:
        return {"phone": phone}
    raise Invalid("That doesn't look like a phone number or email. Please type a 10-digit "
                  "phone number like 555-010-4477, or an email like name@example.com.")  # fmt: skip
