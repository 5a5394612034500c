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
from spacy.tokens import Doc

logger = logging.getLogger(__name__)

PATTERNS_FILE = Path(__file__).with_name("crisis_patterns.yml")
CRISIS_INTENT = "crisis"
# Where the match is recorded on the parse result, for actions (and staff) to see which rule fired.
MATCH_KEY = "crisis_match"


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
        for category, rules in (spec.get("categories") or {}).items():
            for phrase in rules.get("phrases") or []:
                key = f"{category}:phrase:{phrase}"
                self._rule_category[key] = category
                self._phrases.add(key, [blank.make_doc(str(phrase))])
            for index, pattern in enumerate(rules.get("patterns") or []):
                key = f"{category}:pattern:{index}"
                self._rule_category[key] = category
                self._tokens.add(key, [pattern])
        exclusions = [blank.make_doc(str(p)) for p in spec.get("exclusions") or []]
        if exclusions:
            self._exclusions.add("exclusion", exclusions)

    @classmethod
    def from_file(cls, path: Path = PATTERNS_FILE) -> CrisisRules:
        """Compile the rules in a patterns file."""
        return cls(yaml.safe_load(path.read_text(encoding="utf-8")) or {})

    def find(self, doc: Doc) -> CrisisMatch | None:
        """The first crisis match in `doc` that no exclusion overlaps, or None."""
        excluded = [(start, end) for _, start, end in self._exclusions(doc)]
        matches = sorted(self._phrases(doc) + self._tokens(doc), key=lambda m: (m[1], m[2]))
        for match_id, start, end in matches:
            if any(s < end and start < e for s, e in excluded):
                continue
            rule = self._vocab.strings[match_id]
            return CrisisMatch(self._rule_category[rule], rule, doc[start:end].text)
        return None


@lru_cache(maxsize=4)
def load_rules(path: str = str(PATTERNS_FILE)) -> CrisisRules:
    """The compiled rules of a patterns file, compiled once per process."""
    return CrisisRules.from_file(Path(path))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class CrisisMatcher(GraphComponent, IntentClassifier):
    """Sets intent `crisis` (confidence 1.0) when a crisis rule matches; place it last."""

    @classmethod
    def required_components(cls) -> list[type]:
        """Runs after the classifiers it overrides."""
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """`patterns`: path of the patterns file (default: next to this module)."""
        return {"patterns": str(PATTERNS_FILE)}

    def __init__(self, config: dict[str, Any]) -> None:
        self._rules = load_rules(str(config.get("patterns") or PATTERNS_FILE))

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
            match = self._rules.find(doc)
            if match is None:
                continue
            # Log the rule, never the words (they are the user's message).
            logger.info("crisis rule matched: %s", match.rule.split(":", 2)[0])
            crisis = {"name": CRISIS_INTENT, "confidence": 1.0}
            ranking = [
                r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != CRISIS_INTENT
            ]
            message.set(INTENT, crisis, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [crisis, *ranking], add_to_output=True)
            message.set(MATCH_KEY, match.as_dict(), add_to_output=True)
        return messages
