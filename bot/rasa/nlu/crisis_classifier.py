"""A crisis classifier on sentence embeddings: the layer that generalises past the spaCy rules.

The rules in crisis_patterns.yml catch the wordings someone wrote down; a paraphrase nobody
foresaw ("the bath is running and the razor is on the tub") slips through them, and DIET, trained
with bag-of-words features on a few hundred crisis examples, both misses such paraphrases and
fires on harmless look-alikes. This component decides instead of DIET whether a message the rules
did not match is a crisis:

- features: the message's sentence embedding by each of the `encoders` in the config
  (bot/rasa/nlu/encoders.py: all-mpnet-base-v2, all-MiniLM-L6-v2; sentence encoders pre-trained so
  that paraphrases lie close together), plus character and word n-gram TF-IDF (typos, "kms",
  and the exact words that separate "cut myself" from "cut my dose");
- model: an RBF support-vector machine (its kernel counts the embedding distance `embedding_weight`
  times the n-gram distances; `gamma` scales its width), its score the logistic of the signed
  distance to the boundary (0.5 on it: Platt scaling, five extra fits for a monotone map of the same
  ranking, cost two minutes of training and changed no decision at the threshold), trained at
  `rasa train` on the NLU data (intent `crisis` against every other intent) and the labelled
  corpora in the config: crisis messages by kind and benign look-alikes (figures of speech,
  history told as history, questions about the program);
- a message is scored whole and clause by clause ("what time is group? also I have the pills
  lined up": the crisis is in the second clause), and its score is the highest.

At or above `threshold` the message becomes intent `crisis`; below it, a `crisis` that DIET
predicted gives way to DIET's next guess (or the fallback). The score is on every parse result as
`crisis_classifier`. The rule layer (bot/rasa/nlu/crisis_matcher.py) runs after this one and
escalates its matches whatever the score, except a joking match when the score is below the
threshold and a mere mention of an event ("OD'd") when it is below the matcher's mention_floor.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.special import expit

from bot.rasa.nlu.crisis_matcher import CLASSIFIER_SCORE_KEY as SCORE_KEY
from bot.rasa.nlu.crisis_matcher import CRISIS_INTENT, FALLBACK_INTENT, set_crisis
from bot.rasa.nlu.embedding_cache import cached_encode
from bot.rasa.nlu.encoders import load_encoder, model_dir
from bot.settings import REPO_ROOT

logger = logging.getLogger(__name__)

CORPUS_FILE = "data/crisis/crisis_corpus.yml"  # relative to the repository root
# Below this, DIET's next guess after a withdrawn crisis is not trusted (as FallbackClassifier).
FALLBACK_CONFIDENCE = 0.5
MODEL_FILE = "crisis_classifier.skops"
# Clause boundaries: sentence ends, line breaks, a dash, and ", also / and / but ..." joins.
CLAUSE_BREAK = re.compile(
    r"(?<=[.!?;])\s+|\n+|\s+-+\s+|,\s*(?=(?:also|and|but|plus|btw|anyway|so)\b)", re.I
)
# What skops may rebuild when loading the model (the classes this module saved, nothing else).
TRUSTED_TYPES = [
    "sklearn.svm._classes.SVC",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "numpy.float64",
    "numpy.int64",
    "builtins.slice",
    "scipy.sparse._csr.csr_matrix",
]


def load_labelled(path: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """(crisis (text, kind) pairs, benign texts) of a labelled file.

    Crisis messages come as {kind: [text, ...]} or as [{text, kind}, ...]; benign ones as
    [text, ...] or [{text}, ...]. The corpora and the safety sets (data/crisis/, heldout/safety/)
    share it.
    """
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    crisis_part = data.get("crisis") or {}
    if isinstance(crisis_part, dict):
        crisis = [(str(t), str(kind)) for kind, texts in crisis_part.items() for t in texts or []]
    else:
        crisis = [(str(m["text"]), str(m["kind"])) for m in crisis_part]
    benign = [str(m["text"] if isinstance(m, dict) else m) for m in data.get("benign") or []]
    return crisis, benign


def clauses(text: str) -> list[str]:
    """The whole text, then its clauses of two words or more when there are several."""
    parts = [p.strip() for p in CLAUSE_BREAK.split(text) if p and len(p.strip().split()) >= 2]
    return [text, *parts] if len(parts) > 1 else [text]


def training_texts(
    training_data: TrainingData, corpora: list[Path] = (), real: Path | None = None
) -> tuple[list[str], np.ndarray]:
    """Texts and 0/1 labels: NLU examples by whether their intent is `crisis`, then the corpora,
    then the training part of the real people's words in directory `real`
    (bot/rasa/nlu/real_data.py: rows by their human label, distress counting as no crisis; off-topic
    questions).

    A text found with both labels keeps the crisis one (a miss costs more than a false alarm).
    """
    labels: dict[str, int] = {}
    for example in training_data.intent_examples:
        text = (example.get(TEXT) or "").strip()
        if text:
            positive = int(example.get(INTENT) == CRISIS_INTENT)
            labels[text] = max(labels.get(text, 0), positive)
    for path in corpora:
        crisis, benign = load_labelled(path)
        for text in benign:
            labels.setdefault(text.strip(), 0)
        for text, _ in crisis:
            labels[text.strip()] = 1
    if real is not None:
        from bot.rasa.nlu.real_data import crisis_training

        crisis_texts, other_texts = crisis_training(real)
        for text in other_texts:
            labels.setdefault(text.strip(), 0)
        for text in crisis_texts:
            labels[text.strip()] = 1
    texts = sorted(labels)  # a fixed order: the same data trains the same model
    return texts, np.array([labels[t] for t in texts], dtype=np.int64)


def normalise(text: str) -> str:
    """Lower case, words only: "I want to stop." and "i want to stop" are the same message."""
    return " ".join(re.findall(r"[\w']+", text.lower()))


def known_labels(texts: list[str], labels: np.ndarray) -> dict[str, int]:
    """Each training text's label by its normalised words (crisis wins a tie)."""
    known: dict[str, int] = {}
    for text, label in zip(texts, labels.tolist(), strict=True):
        key = normalise(text)
        known[key] = max(known.get(key, 0), int(label))
    return known


class CrisisModel:
    """Features (embedding + n-gram TF-IDF) and the SVM; `fit`, then `score`.

    A message that is, word for word, one of the training texts gets that text's label: the SVM's
    soft margin can leave a training text on the wrong side ("I want to stop", a stop request,
    scored 0.52), and a labelled example is better evidence than a score near it.
    """

    def __init__(
        self,
        svm: Any = None,
        chars: Any = None,
        words: Any = None,
        known: dict[str, int] | None = None,
        encoders: tuple[str, ...] = ("mpnet",),
        embedding_weight: float = 1.0,
    ) -> None:
        self.svm, self.chars, self.words = svm, chars, words
        self.known = known or {}
        self.encoders = tuple(encoders)
        self.embedding_weight = float(embedding_weight)
        self._kernel: tuple[int, np.ndarray, Any, np.ndarray, np.ndarray] | None = None

    def fit(
        self, texts: list[str], labels: np.ndarray, c: float = 1.0, gamma: float = 1.0
    ) -> CrisisModel:
        """Train on texts with 0/1 labels (deterministic for the same data).

        The RBF kernel is exp(-g * (w * |embedding distance|^2 + |n-gram distances|^2)): w is
        `embedding_weight`, g is `gamma` times scikit-learn's "scale" of the unweighted features
        (1 / (features x their variance)); w = 1, gamma = 1 is scikit-learn's default kernel.
        """
        from sklearn.svm import SVC

        self.fit_vectorizers(texts)
        embeddings = self._embed(texts, cached=True)
        plain = self._stack(embeddings, texts, 1.0)
        features = self._stack(embeddings, texts, self.embedding_weight)
        self.svm = SVC(
            C=c,
            kernel="rbf",
            gamma=gamma * default_gamma(plain),
            class_weight="balanced",
            cache_size=1000,
        )
        self.svm.fit(features, labels)
        self._kernel = None
        self.known = known_labels(texts, labels)
        return self

    def fit_vectorizers(self, texts: list[str]) -> None:
        """Fit the character and word n-gram TF-IDF on the training texts."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.chars = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True
        ).fit(texts)
        self.words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True).fit(
            texts
        )

    def _features(self, texts: list[str]) -> Any:
        return self._stack(self._embed(texts), texts, self.embedding_weight)

    def _encode(self, texts: list[str], cached: bool = False) -> list[np.ndarray]:
        """Each encoder's embeddings; `cached` for training texts only
        (bot/rasa/nlu/embedding_cache.py), never for a user's message."""
        if cached:
            return [cached_encode(e, texts) for e in self.encoders]
        return [load_encoder(e).encode(texts) for e in self.encoders]

    def _embed(self, texts: list[str], cached: bool = False) -> np.ndarray:
        """The encoders' embeddings side by side."""
        return np.hstack(self._encode(texts, cached))

    def _stack(self, embeddings: np.ndarray, texts: list[str], weight: float) -> Any:
        """CSR features: the embeddings times sqrt(weight) (so that squared distances between
        them count `weight` times), then the character and word n-gram TF-IDF."""
        from scipy import sparse

        dense = sparse.csr_matrix(embeddings * np.sqrt(weight) if weight != 1.0 else embeddings)
        return sparse.hstack(
            [dense, self.chars.transform(texts), self.words.transform(texts)]
        ).tocsr()

    def score(self, texts: list[str]) -> np.ndarray:
        """Each text's crisis score (0.5 on the SVM's boundary): the highest over the whole
        text and its clauses, or the label of a training text it repeats word for word."""
        return self.score_and_embed(texts)[0]

    def score_and_embed(self, texts: list[str]) -> tuple[np.ndarray, dict[int, dict[str, Any]]]:
        """`score`, and each scored text's whole-text embedding per encoder ({index: {name:
        vector}}; none for a text that repeats a training text), for the components after this
        one (the out-of-scope gate) to reuse instead of running the encoder again."""
        scores = np.zeros(len(texts))
        pieces, owner, whole = [], [], {}
        for index, text in enumerate(texts):
            label = self.known.get(normalise(text))
            if label is not None:
                scores[index] = float(label)
                continue
            whole[index] = len(pieces)
            for piece in clauses(text):
                pieces.append(piece)
                owner.append(index)
        embedded: dict[int, dict[str, Any]] = {}
        if pieces:
            parts = self._encode(pieces)
            embeddings = np.hstack(parts)
            probabilities = expit(
                self.decision(self._stack(embeddings, pieces, self.embedding_weight))
            )
            np.maximum.at(scores, np.array(owner), probabilities)
            for index, row in whole.items():
                embedded[index] = {
                    name: part[row] for name, part in zip(self.encoders, parts, strict=True)
                }
        return scores, embedded

    def decision(self, features: Any) -> np.ndarray:
        """The SVM's signed margin for CSR `features` (`_features`), as `decision_function`
        computes it, but fast.

        libsvm evaluates the RBF kernel one sparse support vector at a time: about 9 ms a clause
        against 3,600 support vectors, which every message paid. Here the embedding block is
        one dense matrix product and the n-gram block one sparse product (about 2 ms).
        """
        from scipy import sparse

        if self._kernel is None:
            vectors = sparse.csr_matrix(self.svm.support_vectors_)
            width = vectors.shape[1] - len(self.chars.vocabulary_) - len(self.words.vocabulary_)
            self._kernel = (
                width,
                vectors[:, :width].toarray(),
                vectors[:, width:].T.tocsr(),
                np.asarray(vectors.multiply(vectors).sum(axis=1)).ravel(),
                sparse.csr_matrix(self.svm.dual_coef_).toarray().ravel(),
            )
        width, dense, grams, norms, weights = self._kernel
        dots = features[:, :width].toarray() @ dense.T + (features[:, width:] @ grams).toarray()
        own = np.asarray(features.multiply(features).sum(axis=1))
        distances = np.maximum(own + norms[None, :] - 2 * dots, 0.0)
        kernel = np.exp(-self.svm._gamma * distances)
        return kernel @ weights + self.svm.intercept_[0]

    def save(self, path: Path) -> None:
        """Write with skops (no pickle: loading cannot run arbitrary code)."""
        import skops.io as sio

        parts = {
            "svm": self.svm,
            "chars": self.chars,
            "words": self.words,
            "known": self.known,
            "encoders": list(self.encoders),
            "embedding_weight": self.embedding_weight,
        }
        sio.dump(parts, path)

    @classmethod
    def load(cls, path: Path) -> CrisisModel:
        """Read a saved model; refuses any type beyond TRUSTED_TYPES."""
        import skops.io as sio

        untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in TRUSTED_TYPES]
        if untrusted:
            raise ValueError(f"crisis model holds unexpected types: {untrusted}")
        parts = sio.load(path, trusted=TRUSTED_TYPES)
        return cls(
            parts["svm"],
            parts["chars"],
            parts["words"],
            parts["known"],
            parts["encoders"],
            parts.get("embedding_weight", 1.0),
        )


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class CrisisClassifier(GraphComponent, IntentClassifier):
    """Decides `crisis` for messages the rules do not match; place it before CrisisMatcher."""

    @classmethod
    def required_components(cls) -> list[type]:
        """None: it must come after DIET in config.yml (it overrides DIET's intent), but Rasa
        checks requirements against the training graph too, where DIET is no ancestor of it."""
        return []

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """`corpora`: labelled files trained on besides the NLU data; `real_data`: the directory
        of real people's words (bot/rasa/nlu/real_data.py); `threshold`: the score that escalates
        (`long_threshold` for a message over `long_chars` characters); `C`: the SVM's inverse
        regularisation strength; `encoders`: the sentence encoders whose embeddings are features
        (bot/rasa/nlu/encoders.py); `embedding_weight` and `gamma`: the RBF kernel's weight of the
        embedding distance against the n-gram distances, and its width (CrisisModel.fit)."""
        return {
            "corpora": [CORPUS_FILE],
            "threshold": 0.5,
            "long_threshold": None,
            "long_chars": 200,
            "C": 1.0,
            "encoders": ["mpnet"],
            "embedding_weight": 1.0,
            "gamma": 1.0,
            "real_data": None,
        }

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Retrain when a corpus changes (Rasa fingerprints only config and NLU data)."""
        digest = hashlib.sha256()
        for path in corpus_paths(config):
            digest.update(path.read_bytes() if path.exists() else b"missing")
        real = real_data_dir(config)
        for path in sorted(real.glob("*.csv")) if real else []:
            digest.update(path.name.encode() + path.read_bytes())
        for name in config.get("encoders") or []:
            digest.update(name.encode() + (model_dir(name) / "config.json").read_bytes())
        return digest.hexdigest()

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: CrisisModel | None = None,
    ) -> None:
        self._config = config
        self._storage = model_storage
        self._resource = resource
        self._model = model
        self._threshold = float(config.get("threshold", 0.5))
        long_threshold = config.get("long_threshold")
        self._long_threshold = self._threshold if long_threshold is None else float(long_threshold)
        self._long_chars = int(config.get("long_chars", 200))

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CrisisClassifier:
        """An untrained classifier."""
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Fit on the NLU data and the corpora; persist with skops."""
        texts, labels = training_texts(
            training_data, corpus_paths(self._config), real_data_dir(self._config)
        )
        if labels.min(initial=0) == labels.max(initial=0):
            logger.warning("crisis classifier: training data needs crisis and other examples")
            return self._resource
        self._model = model_for(self._config).fit(texts, labels, **fit_options(self._config))
        with self._storage.write_to(self._resource) as directory:
            self._model.save(directory / MODEL_FILE)
        logger.info(
            "crisis classifier trained on %d texts (%d crisis)", len(texts), int(labels.sum())
        )
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> CrisisClassifier:
        """The trained model, with its encoders loaded now rather than on the first message."""
        try:
            with model_storage.read_from(resource) as directory:
                model = CrisisModel.load(directory / MODEL_FILE)
        except (ValueError, FileNotFoundError):
            logger.warning("crisis classifier: no trained model in the model archive")
            return cls(config, model_storage, resource)
        for name in model.encoders:
            load_encoder(name)
        return cls(config, model_storage, resource, model)

    def threshold_for(self, text: str) -> float:
        """`threshold`, or `long_threshold` for a message over `long_chars` characters: a long
        message has many clauses, and the highest-scoring one of a long sad but ordinary post
        crosses 0.5 far more often than a short message does (bench/safety.py --real
        calibration); below it, the safety question still asks."""
        return self._long_threshold if len(text) > self._long_chars else self._threshold

    def process(self, messages: list[Message]) -> list[Message]:
        """Score every message; at or above its threshold its intent becomes `crisis`."""
        texts = [(m.get(TEXT) or "").strip() for m in messages]
        scored = [i for i, text in enumerate(texts) if text]
        if not scored or self._model is None:
            return messages
        scores, embedded = self._model.score_and_embed([texts[i] for i in scored])
        for position, (index, score) in enumerate(zip(scored, scores, strict=True)):
            message = messages[index]
            for name, vector in embedded.get(position, {}).items():
                message.set(embedding_key(name), vector)  # not in the parse result
            score = round(float(score), 4)
            message.set(SCORE_KEY, score, add_to_output=True)
            if score >= self.threshold_for(texts[index]):
                set_crisis(message, score)
            else:
                _withdraw_crisis(message)
        return messages


def embedding_key(encoder: str) -> str:
    """The message attribute holding the whole text's embedding by `encoder`."""
    return f"sentence_embedding_{encoder}"


def default_gamma(features: Any) -> float:
    """scikit-learn's gamma="scale" for sparse features: 1 / (features x their variance)."""
    variance = features.multiply(features).mean() - features.mean() ** 2
    return float(1.0 / (features.shape[1] * variance))


def model_for(config: dict[str, Any]) -> CrisisModel:
    """An untrained CrisisModel with the component config's encoders and kernel weight."""
    return CrisisModel(
        encoders=tuple(config.get("encoders") or ("mpnet",)),
        embedding_weight=float(config.get("embedding_weight", 1.0)),
    )


def fit_options(config: dict[str, Any]) -> dict[str, float]:
    """CrisisModel.fit's keyword arguments from the component config."""
    return {"c": float(config.get("C", 1.0)), "gamma": float(config.get("gamma", 1.0))}


def real_data_dir(config: dict[str, Any]) -> Path | None:
    """The component's `real_data` directory (data/real/), or None when it trains without."""
    value = config.get("real_data")
    if not value:
        return None
    path = Path(value)
    return path if path.is_absolute() else REPO_ROOT / path


def corpus_paths(config: dict[str, Any]) -> list[Path]:
    """The component's `corpora`, relative paths taken from the repository root."""
    paths = [Path(p) for p in config.get("corpora") or []]
    return [p if p.is_absolute() else REPO_ROOT / p for p in paths]


def _withdraw_crisis(message: Message) -> None:
    """DIET's `crisis` on a message this classifier scores below the threshold: take DIET's
    next guess if it is confident enough, else the fallback. (DIET's crisis fires on harmless
    look-alikes such as "my husband beat me at cards"; the rules still catch what they know.)"""
    intent = (message.get(INTENT) or {}).get("name")
    ranking = message.get(INTENT_RANKING_KEY) or []
    top = next((r for r in ranking if r.get("name") != FALLBACK_INTENT), None)
    if intent != CRISIS_INTENT and not (
        intent == FALLBACK_INTENT and top and top["name"] == CRISIS_INTENT
    ):
        return
    rest = [r for r in ranking if r.get("name") not in (CRISIS_INTENT, FALLBACK_INTENT)]
    if rest and rest[0].get("confidence", 0.0) >= FALLBACK_CONFIDENCE:
        message.set(INTENT, dict(rest[0]), add_to_output=True)
    else:
        message.set(INTENT, {"name": FALLBACK_INTENT, "confidence": 1.0}, add_to_output=True)
    message.set(
        INTENT_RANKING_KEY,
        [r for r in ranking if r.get("name") != CRISIS_INTENT],
        add_to_output=True,
    )
