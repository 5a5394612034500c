"""An out-of-scope gate on sentence embeddings: answer only what is near something we answer.

DIET's softmax is sharp: an off-topic question ("how do I change my PIN", "who sang thriller")
lands on some FAQ topic with confidence above 0.9 as often as not, and the FallbackClassifier's
threshold cannot see it. This component looks at the message's neighbours instead: its
all-mpnet-base-v2 embedding (computed once per message by the crisis classifier, which runs
before it, and reused here) against every training example of the assistant's intents and every
off-topic example (the NLU data's `out_of_scope` and real people's off-topic questions from
data/real/out_of_scope.csv: home-assistant commands, banking questions, voice-assistant queries,
web searches, health questions outside the program). Among the `k` nearest, weighted by cosine
similarity, the off-topic share is the message's score; at or above `threshold` its intent
becomes `out_of_scope`. An FAQ answer also needs one FAQ example at `faq_floor` similarity or
more: a question far from every FAQ topic is not answered from one.

The gate leaves alone a crisis, a message the crisis classifier scores at the direct safety
question's floor or more (the safety question, not an "I can't help with that", answers those),
and the short answers forms read (affirm, deny, inform, stop, ask_why). Thresholds are chosen on
the calibration part of the real data and the written held-out set a (bench/nlu.py --set real
prints the figures); the held-out parts are never used to choose them.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.rasa.nlu.crisis_classifier import embedding_key, real_data_dir
from bot.rasa.nlu.crisis_matcher import (
    CLASSIFIER_SCORE_KEY,
    CRISIS_INTENT,
    DISTRESS_INTENT,
    FALLBACK_INTENT,
    OUT_OF_SCOPE_INTENT,
    promote,
)
from bot.rasa.nlu.embedding_cache import cached_encode
from bot.rasa.nlu.encoders import load_encoder

logger = logging.getLogger(__name__)

OUT_OF_SCOPE = OUT_OF_SCOPE_INTENT
FAQ = "faq"
DISTRESS = DISTRESS_INTENT
BANK_FILE = "bank.npz"
GATE_SCORE_KEY = "out_of_scope_gate"


class Bank:
    """Unit-length embeddings of the examples, whether each is off topic, whether it is FAQ."""

    def __init__(self, vectors: np.ndarray, off_topic: np.ndarray, faq: np.ndarray) -> None:
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.off_topic = np.asarray(off_topic, dtype=bool)
        self.faq = np.asarray(faq, dtype=bool)

    def score(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(off-topic share among the k nearest weighted by similarity, highest similarity to
        an FAQ example) per row of `vectors`."""
        similarity = np.asarray(vectors, dtype=np.float32) @ self.vectors.T
        k = min(k, similarity.shape[1])
        nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        weights = np.maximum(np.take_along_axis(similarity, nearest, axis=1), 1e-6)
        share = (weights * self.off_topic[nearest]).sum(axis=1) / weights.sum(axis=1)
        faq_best = similarity[:, self.faq].max(axis=1) if self.faq.any() else np.zeros(len(vectors))
        return share, faq_best


def bank_examples(
    training_data: TrainingData, real: Any
) -> tuple[list[str], list[bool], list[bool]]:
    """(texts, off topic?, FAQ?) of the NLU examples (crisis left out: the gate never judges a
    crisis) and the real off-topic questions of the training part."""
    from bot.rasa.nlu.real_data import GATE_SOURCES, off_topic

    seen: dict[str, tuple[bool, bool]] = {}
    for example in training_data.intent_examples:
        text = (example.get(TEXT) or "").strip()
        intent = example.get(INTENT)
        if text and intent != CRISIS_INTENT:
            seen.setdefault(text, (intent == OUT_OF_SCOPE, intent == FAQ))
    if real is not None:
        for row in off_topic(real, sources=GATE_SOURCES):
            seen.setdefault(row["text"].strip(), (True, False))
    texts = sorted(seen)
    return texts, [seen[t][0] for t in texts], [seen[t][1] for t in texts]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class OutOfScopeGate(GraphComponent, IntentClassifier):
    """Turns an in-scope intent into `out_of_scope` when the message is near off-topic examples;
    place it after CrisisClassifier (whose embedding it reuses)."""

    @classmethod
    def required_components(cls) -> list[type]:
        return []

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """`encoder`: the sentence encoder (the crisis classifier's, to share its pass); `k`:
        neighbours; `threshold`: off-topic share that rejects; `faq_floor`: similarity to the
        nearest FAQ example an FAQ answer needs; `safety_floor`: crisis score at which the gate
        stands aside; `real_data`: directory of the real off-topic questions; `ungated`: intents
        never turned off topic."""
        return {
            "encoder": "mpnet",
            "k": 10,
            "threshold": 0.5,
            "faq_floor": 0.0,
            "safety_floor": 0.4,
            "real_data": None,
            "ungated": [
                CRISIS_INTENT,
                OUT_OF_SCOPE,
                DISTRESS,
                "affirm",
                "deny",
                "inform",
                "stop",
                "ask_why",
            ],
        }

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Retrain when the real off-topic questions, their sources or the encoder change."""
        import hashlib

        from bot.rasa.nlu.encoders import model_dir
        from bot.rasa.nlu.real_data import GATE_SOURCES

        digest = hashlib.sha256(",".join(GATE_SOURCES).encode())
        real = real_data_dir(config)
        path = real / "out_of_scope.csv" if real else None
        if path is not None and path.is_file():
            digest.update(path.read_bytes())
        encoder = str(config.get("encoder", "mpnet"))
        digest.update((model_dir(encoder) / "config.json").read_bytes())
        return digest.hexdigest()

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        bank: Bank | None = None,
    ) -> None:
        self._config = config
        self._storage = model_storage
        self._resource = resource
        self._bank = bank
        self._encoder = str(config.get("encoder", "mpnet"))
        self._k = int(config.get("k", 10))
        self._threshold = float(config.get("threshold", 0.5))
        self._faq_floor = float(config.get("faq_floor", 0.0))
        self._safety_floor = float(config.get("safety_floor", 0.4))
        self._ungated = set(config.get("ungated") or [])

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> OutOfScopeGate:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Embed the examples (cached by text: the crisis classifier embedded most of them)."""
        texts, off, faq = bank_examples(training_data, real_data_dir(self._config))
        if not texts:
            return self._resource
        vectors = cached_encode(self._encoder, texts)
        self._bank = Bank(vectors, np.array(off), np.array(faq))
        with self._storage.write_to(self._resource) as directory:
            np.savez(
                directory / BANK_FILE,
                vectors=vectors.astype(np.float16),  # half the size; similarity moves < 1e-3
                off_topic=self._bank.off_topic,
                faq=self._bank.faq,
            )
        logger.info("out-of-scope gate: %d examples (%d off topic)", len(texts), int(sum(off)))
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> OutOfScopeGate:
        try:
            with (
                model_storage.read_from(resource) as directory,
                np.load(directory / BANK_FILE, allow_pickle=False) as stored,
            ):
                bank = Bank(stored["vectors"], stored["off_topic"], stored["faq"])
        except (ValueError, FileNotFoundError, OSError):
            logger.warning("out-of-scope gate: no trained bank in the model archive")
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, bank)

    def process(self, messages: list[Message]) -> list[Message]:
        """Score every gated message; reject the ones near off-topic examples. A message in the
        safety question's band that would get the fallback or "I can't help with that" becomes
        `distress`: a warm reply, then the safety question (bot/rasa/policies.py)."""
        for message in messages:
            intent = (message.get(INTENT) or {}).get("name")
            score = message.get(CLASSIFIER_SCORE_KEY) or 0.0
            if intent in (OUT_OF_SCOPE, FALLBACK_INTENT) and score >= self._safety_floor:
                promote(message, DISTRESS, float(score))
        if self._bank is None:
            return messages
        gated = [m for m in messages if self._gates(m)]
        if not gated:
            return messages
        vectors = []
        for message in gated:
            vector = message.get(embedding_key(self._encoder))
            if vector is None:  # the crisis classifier did not embed it (a training text)
                vector = load_encoder(self._encoder).encode([message.get(TEXT)])[0]
            vectors.append(vector)
        shares, faq_best = self._bank.score(np.vstack(vectors), self._k)
        for message, share, best in zip(gated, shares, faq_best, strict=True):
            message.set(GATE_SCORE_KEY, round(float(share), 4), add_to_output=True)
            intent = (message.get(INTENT) or {}).get("name")
            if share >= self._threshold or (intent == FAQ and best < self._faq_floor):
                reject(message, float(share))
        return messages

    def _gates(self, message: Message) -> bool:
        intent = (message.get(INTENT) or {}).get("name")
        if not intent or intent in self._ungated or not (message.get(TEXT) or "").strip():
            return False
        return (message.get(CLASSIFIER_SCORE_KEY) or 0.0) < self._safety_floor


def reject(message: Message, share: float) -> None:
    """Make `out_of_scope` the message's intent, first in its ranking."""
    promote(message, OUT_OF_SCOPE, max(share, 0.5))
