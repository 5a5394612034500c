"""A spaCy rule layer that sets the `crisis` intent on crisis language, whatever DIET predicted."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import spacy
import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import SPACY_DOCS
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span

from bot.settings import REPO_ROOT

logger = logging.getLogger(__name__)

# Relative to the repository root, wherever it is: a model trained in one clone or image serves
# in another (an absolute path would be stored in the model with its defaults).
PATTERNS_FILE = "data/crisis/crisis_patterns.yml"
CRISIS_INTENT = "crisis"
# Where the match is recorded on the parse result, for actions (and staff) to see which rule fired.
MATCH_KEY = "crisis_match"
# Where a rule match that a long message's low classifier score kept from escalating is recorded:
# the policy (bot/rasa/policies.py) asks the safety question after every such message.
DEFERRED_KEY = "crisis_match_deferred"
FALLBACK_INTENT = "nlu_fallback"
OUT_OF_SCOPE_INTENT = "out_of_scope"
# A warm reply to pain without risk language (the out-of-scope gate also gives it).
DISTRESS_INTENT = "distress"
# Set by the crisis classifier (crisis_classifier.py) on every message it scored.
CLASSIFIER_SCORE_KEY = "crisis_classifier"
# Penn tags of a finite verb: the tense of a clause is read from one of these.
FINITE_TAGS = {"VBD", "VBN", "VBP", "VBZ", "MD"}
CLAUSE_ENDS = {".", "!", "?", ";", "\n"}
HAVE = {"have", "'ve", "ve", "has", "'s", "had", "'d"}


@dataclass(frozen=True)
class CrisisMatch:
    """Which rule fired on which words."""

    category: str
    rule: str
    matched_text: str

    def as_dict(self) -> dict[str, str]:
        """JSON-friendly form stored on the parsed message."""
        return {"category": self.category, "rule": self.rule, "text": self.matched_text}


class CrisisRules:
    """The crisis patterns compiled into spaCy matchers; call `find(doc)`."""

    def __init__(self, spec: dict[str, Any]) -> None:
        blank = spacy.blank("en")  # same tokenizer rules as en_core_web_sm, no model needed
        self._vocab = blank.vocab
        self._phrases = PhraseMatcher(self._vocab, attr="LOWER")
        self._tokens = Matcher(self._vocab)
        self._exclusions = PhraseMatcher(self._vocab, attr="LOWER")
        self._rule_category: dict[str, str] = {}
        self._mentions: set[str] = set()  # rules that name an event rather than report one
        for category, rules in (spec.get("categories") or {}).items():
            self._add(blank, category, rules, "")
            mentions = rules.get("mentions") or {}
            self._mentions.update(self._add(blank, category, mentions, "mention_"))
        exclusions = [blank.make_doc(str(p)) for p in spec.get("exclusions") or []]
        if exclusions:
            self._exclusions.add("exclusion", exclusions)
        self._exclusion_patterns = Matcher(self._vocab)
        for pattern in spec.get("exclusion_patterns") or []:
            self._exclusion_patterns.add("exclusion", [pattern])
        past = spec.get("past_guard") or {}
        self._past_markers = Matcher(self._vocab)
        for pattern in past.get("markers") or []:
            self._past_markers.add("past", [pattern])
        self._present_markers = PhraseMatcher(self._vocab, attr="LOWER")
        present = [blank.make_doc(str(p)) for p in past.get("present") or []]
        if present:
            self._present_markers.add("present", present)
        jokes = spec.get("joke_guard") or {}
        self._joke_markers = PhraseMatcher(self._vocab, attr="LOWER")
        self._serious_markers = PhraseMatcher(self._vocab, attr="LOWER")
        for matcher, key in ((self._joke_markers, "markers"), (self._serious_markers, "serious")):
            docs = [blank.make_doc(str(p)) for p in jokes.get(key) or []]
            if docs:
                matcher.add(key, docs)

    def _add(self, blank: Any, category: str, rules: dict[str, Any], prefix: str) -> list[str]:
        """Compile a category's `phrases` and `patterns`; their keys name the rule that fired
        ("overdose:phrase:not breathing", "suicidal:pattern:3", "overdose:mention_phrase:od'd")."""
        keys = []
        for phrase in rules.get("phrases") or []:
            key = f"{category}:{prefix}phrase:{phrase}"
            self._phrases.add(key, [blank.make_doc(str(phrase))])
            keys.append(key)
        for index, pattern in enumerate(rules.get("patterns") or []):
            key = f"{category}:{prefix}pattern:{index}"
            self._tokens.add(key, [pattern])
            keys.append(key)
        self._rule_category.update(dict.fromkeys(keys, category))
        return keys

    @classmethod
    def from_file(cls, path: Path) -> CrisisRules:
        """Compile the rules in a patterns file."""
        return cls(yaml.safe_load(path.read_text(encoding="utf-8")) or {})

    def find(
        self, doc: Doc, *, defer_jokes: bool = False, defer_mentions: bool = False
    ) -> CrisisMatch | None:
        """The first crisis match in `doc` that no exclusion overlaps, or None.

        `defer_jokes`: skip matches in a clause marked as a joke ("lol"), for when the crisis
        classifier has already judged the message and found no crisis. `defer_mentions`: skip
        the rules that only name an event ("OD'd", "the DTs"), for when the classifier scored
        the message as clearly not a crisis.
        """
        excluded = [(s, e) for _, s, e in self._exclusions(doc) + self._exclusion_patterns(doc)]
        matches = sorted(self._phrases(doc) + self._tokens(doc), key=lambda m: (m[1], m[2]))
        for match_id, start, end in matches:
            if any(s < end and start < e for s, e in excluded):
                continue
            if self._told_as_distant_past(doc[start:end]):
                continue
            if defer_jokes and self._told_as_joke(doc[start:end]):
                continue
            rule = self._vocab.strings[match_id]
            if defer_mentions and rule in self._mentions:
                continue
            return CrisisMatch(self._rule_category[rule], rule, doc[start:end].text)
        return None

    def _told_as_joke(self, span: Span) -> bool:
        """True for a match in a clause with a laugh ("lol", "haha") and no "not joking"."""
        clause = _clause(span)
        return _inside(clause, self._joke_markers(span.doc)) and not _inside(
            clause, self._serious_markers(span.doc)
        )

    def _told_as_distant_past(self, span: Span) -> bool:
        """True for a match told in the past tense in a clause dated long ago.

        "I overdosed two years ago, can I join?" is history; "I overdosed years ago and did it
        again tonight" (a present marker) or "years ago I started and I want to die" (the match
        is not in the past tense) still fire. Reads part-of-speech tags only: Rasa's SpacyNLP
        runs without the parser. Without tags nothing is vetoed.
        """
        doc = span.doc
        if not doc.has_annotation("TAG"):
            return False
        clause = _clause(span)
        if not _inside(clause, self._past_markers(doc)):
            return False
        if _inside(clause, self._present_markers(doc)):
            return False
        return _past_tense(span, clause)


def _inside(clause: Span, matches: list[tuple[int, int, int]]) -> bool:
    """Whether any (id, start, end) match lies within `clause`."""
    return any(clause.start <= start and end <= clause.end for _, start, end in matches)


def _clause(span: Span) -> Span:
    """The stretch of text around `span` between sentence-ending punctuation marks."""
    doc = span.doc
    start, end = span.start, span.end
    while start > 0 and doc[start - 1].text not in CLAUSE_ENDS:
        start -= 1
    while end < len(doc) and doc[end].text not in CLAUSE_ENDS:
        end += 1
    return doc[start:end]


def _past_tense(span: Span, clause: Span) -> bool:
    """Whether the finite verb of `span` (or the nearest one before it) is in the past tense.

    "I overdosed", "I had a seizure", "used to hit me", "thought about killing myself" are past;
    "I want to die" is not.
    """
    doc = span.doc
    finite = [t for t in span if t.tag_ in FINITE_TAGS]
    if not finite:
        before = [t for t in doc[clause.start : span.start] if t.tag_ in FINITE_TAGS]
        finite = before[-1:]
    if not finite:
        return False
    verb = finite[0]
    if verb.tag_ == "VBD" or verb.lower_.endswith("'d"):  # "od'd" is tagged VBZ
        return True
    # "had overdosed", "I've had suicidal thoughts (in the past)": a participle after an auxiliary
    if verb.lower_ in HAVE and verb.i + 1 < len(doc) and doc[verb.i + 1].tag_ == "VBN":
        return True
    return verb.tag_ == "VBN" and verb.i > 0 and doc[verb.i - 1].lower_ in HAVE


@lru_cache(maxsize=4)
def load_rules(path: str = PATTERNS_FILE) -> CrisisRules:
    """The compiled rules of a patterns file (relative to the repository root, or absolute),
    compiled once per process."""
    return CrisisRules.from_file(REPO_ROOT / path)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class CrisisMatcher(GraphComponent, IntentClassifier):
    """Sets intent `crisis` (confidence 1.0) when a crisis rule matches; place it last."""

    @classmethod
    def required_components(cls) -> list[type]:
        """Runs after the classifiers it overrides."""
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """`patterns`: path of the patterns file, relative to the repository root or absolute;
        `mention_floor`: the crisis classifier's score below which a rule that only names an
        event (a category's `mentions`) does not escalate; `long_floor`: the score below which
        no rule escalates a message over `long_chars` characters (None: every length escalates)
        but the safety question is asked instead."""
        return {
            "patterns": PATTERNS_FILE,
            "mention_floor": 0.4,
            "long_floor": None,
            "long_chars": 200,
        }

    def __init__(self, config: dict[str, Any]) -> None:
        self._rules = load_rules(str(config.get("patterns") or PATTERNS_FILE))
        self._mention_floor = float(config.get("mention_floor", 0.4))
        long_floor = config.get("long_floor")
        self._long_floor = None if long_floor is None else float(long_floor)
        self._long_chars = int(config.get("long_chars", 200))

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CrisisMatcher:
        """Compile the rules; nothing to train or persist."""
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        """Mark every message with crisis language as intent `crisis`."""
        for message in messages:
            doc = message.get(SPACY_DOCS[TEXT])
            if doc is None:
                continue
            # A joking match waits for the classifier's view when it has judged the message, and
            # a mere mention of an event gives way to a clearly low score. Without the
            # classifier, every rule stands alone.
            score = message.get(CLASSIFIER_SCORE_KEY)
            judged_safe = (
                score is not None and (message.get(INTENT) or {}).get("name") != CRISIS_INTENT
            )
            match = self._rules.find(
                doc,
                defer_jokes=judged_safe,
                defer_mentions=score is not None and score < self._mention_floor,
            )
            if match is None:
                _keep_crisis_through_fallback(message)
                continue
            # Log the rule, never the words (they are the user's message).
            if self._asks_instead(message, score):
                # A paragraph quotes, advises and tells stories ("please don't kill yourself",
                # "I tried oding years ago"): a rule there escalates only with the classifier.
                logger.info("crisis rule deferred: %s", match.rule.split(":", 2)[0])
                message.set(DEFERRED_KEY, match.as_dict(), add_to_output=True)
                intent = (message.get(INTENT) or {}).get("name")
                if intent in (OUT_OF_SCOPE_INTENT, FALLBACK_INTENT):  # never "I can't help"
                    promote(message, DISTRESS_INTENT, float(score or 0.0))
                continue
            logger.info("crisis rule matched: %s", match.rule.split(":", 2)[0])
            set_crisis(message, 1.0)
            message.set(MATCH_KEY, match.as_dict(), add_to_output=True)
        return messages

    def _asks_instead(self, message: Message, score: float | None) -> bool:
        """Whether a rule match in `message` gets the safety question instead of escalating: a
        long message the crisis classifier scored below `long_floor`."""
        return (
            self._long_floor is not None
            and score is not None
            and score < self._long_floor
            and len(message.get(TEXT) or "") > self._long_chars
        )


def promote(message: Message, name: str, confidence: float) -> None:
    """Make `name` the message's intent, first in its ranking."""
    top = {"name": name, "confidence": round(confidence, 4)}
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != name]
    message.set(INTENT, top, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [top, *ranking], add_to_output=True)


def set_crisis(message: Message, confidence: float) -> None:
    """Make `crisis` the message's intent, first in its ranking (shared with the classifier)."""
    crisis = {"name": CRISIS_INTENT, "confidence": confidence}
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != CRISIS_INTENT]
    message.set(INTENT, crisis, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [crisis, *ranking], add_to_output=True)


def _keep_crisis_through_fallback(message: Message) -> None:
    """Undo the fallback when the classifier's own best guess was `crisis`.

    A low-confidence crisis is still a crisis: the fallback would answer "sorry, I didn't get
    that" to someone who may be in danger. When the crisis classifier (crisis_classifier.py)
    scored the message, its decision stands instead.
    """
    if message.get(CLASSIFIER_SCORE_KEY) is not None:
        return
    if (message.get(INTENT) or {}).get("name") != FALLBACK_INTENT:
        return
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != FALLBACK_INTENT]
    if ranking and ranking[0].get("name") == CRISIS_INTENT:
        message.set(INTENT, dict(ranking[0]), add_to_output=True)
