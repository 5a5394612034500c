"""Leave-one-set-out grid over the crisis classifier's kernel: embedding weight, gamma and C.

The classifier's RBF kernel is exp(-g * (w * |embedding distance|^2 + |n-gram distances|^2))
(bot/rasa/nlu/crisis_classifier.py, CrisisModel.fit). This script scores every combination of
`--weights` (w), `--gammas` (g, times scikit-learn's "scale") and `--cs` (C) as
bench/crisis_cv.py scores one: each labelled set by a model trained without it, with the rules,
as the pipeline decides. Each fold's squared distances are computed once and every combination
is an SVM on a precomputed kernel (about 4 s), so a grid of 18 costs about 30 minutes on 2 cores
instead of hours. w = 1, g = 1 is scikit-learn's own kernel; the figures for it match
bench/crisis_cv.py's.

Per combination: recall / false alarms at the threshold in config.yml, the lowest false-alarm
rate at any threshold that keeps recall at least `--recall`, and the highest recall at any
threshold that keeps false alarms at most `--false-alarms` (pooled over the sets).

    .venv/bin/python bench/crisis_grid.py [--weights 1,3] [--gammas 0.5,1] [--cs 2,4]
        [--sets blind4,dev] [--recall 0.984] [--false-alarms 0.047]
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import numpy as np  # noqa: E402
from crisis_cv import MemoEncoder, component_config, rule_decisions  # noqa: E402


def squared_distances(a, b):
    """Pairwise squared Euclidean distances between the rows of a and b (dense or sparse)."""
    from scipy import sparse

    if sparse.issparse(a):
        own = np.asarray(a.multiply(a).sum(axis=1)).ravel()
        other = np.asarray(b.multiply(b).sum(axis=1)).ravel()
        dots = (a @ b.T).toarray()
    else:
        own, other, dots = (a * a).sum(axis=1), (b * b).sum(axis=1), a @ b.T
    return np.maximum(own[:, None] + other[None, :] - 2 * dots, 0.0)


def rates(crisis: np.ndarray, scores: np.ndarray, ruled: np.ndarray, t: float):
    """(recall, false-alarm rate) when a score of t or more, or a rule, escalates."""
    escalated = (scores >= t) | ruled
    return escalated[crisis].mean(), escalated[~crisis].mean()


def floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=floats, default=[1.0, 3.0], help="embedding weights")
    parser.add_argument("--gammas", type=floats, default=[0.5, 1.0], help="gamma multipliers")
    parser.add_argument("--cs", type=floats, default=[2.0, 4.0], help="SVM C values")
    parser.add_argument("--sets", help="comma-separated set names (default: every labelled set)")
    parser.add_argument("--recall", type=float, default=0.984, help="recall to match")
    parser.add_argument("--false-alarms", type=float, default=0.047, help="false alarms to match")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    os.chdir(REPO)
    from rasa.shared.nlu.training_data.loading import load_data
    from scipy import sparse
    from scipy.special import expit
    from sklearn.svm import SVC

    from bot.rasa.nlu import load_spacy
    from bot.rasa.nlu.crisis_classifier import (
        CrisisModel,
        clauses,
        corpus_paths,
        default_gamma,
        known_labels,
        load_labelled,
        normalise,
        training_texts,
    )
    from bot.rasa.nlu.crisis_matcher import load_rules
    from bot.rasa.nlu.encoders import load_encoder

    config = component_config("CrisisClassifier")
    encoders = [MemoEncoder(load_encoder(name)) for name in config["encoders"]]
    threshold = float(config["threshold"])
    floor = float(component_config("CrisisMatcher")["mention_floor"])
    corpora = corpus_paths(config)
    held_out = [p for p in corpora if not args.sets or p.stem in args.sets.split(",")]
    nlu = load_data(str(REPO / "data" / "nlu"))
    nlp, rules = load_spacy(), load_rules()
    combinations = list(itertools.product(args.weights, args.gammas, args.cs))

    def embed(texts: list[str]) -> np.ndarray:
        return np.hstack([e.encode(texts) for e in encoders])

    # per combination: (is a crisis, score, a rule escalates) for every held-out message
    pooled: dict[tuple[float, float, float], list[tuple[bool, float, bool]]] = {
        c: [] for c in combinations
    }
    for path in held_out:
        started = time.monotonic()
        texts, labels = training_texts(nlu, [p for p in corpora if p != path])
        model = CrisisModel()
        model.fit_vectorizers(texts)
        embedded = embed(texts)
        chars, words = model.chars.transform(texts), model.words.transform(texts)
        scale = default_gamma(sparse.hstack([sparse.csr_matrix(embedded), chars, words]).tocsr())
        train_e = squared_distances(embedded, embedded)
        train_n = squared_distances(chars, chars) + squared_distances(words, words)
        crisis, benign = load_labelled(path)
        messages = [t for t, _ in crisis] + benign
        known = known_labels(texts, labels)
        pieces, owner = [], []
        for index, message in enumerate(messages):
            if normalise(message) not in known:
                split = clauses(message)
                pieces += split
                owner += [index] * len(split)
        test_e = squared_distances(embed(pieces), embedded)
        test_n = squared_distances(model.chars.transform(pieces), chars) + squared_distances(
            model.words.transform(pieces), words
        )
        docs = list(nlp.pipe(messages))
        repeated = np.array([float(known.get(normalise(m), 0)) for m in messages])
        for weight, gamma, c in combinations:
            width = gamma * scale
            svm = SVC(C=c, kernel="precomputed", class_weight="balanced")
            svm.fit(np.exp(-width * (weight * train_e + train_n)), labels)
            margins = svm.decision_function(np.exp(-width * (weight * test_e + test_n)))
            scores = repeated.copy()
            np.maximum.at(scores, np.array(owner, dtype=int), expit(margins))
            ruled = rule_decisions(rules, docs, scores, threshold, floor)
            pooled[(weight, gamma, c)] += [
                (i < len(crisis), float(s), r)
                for i, (s, r) in enumerate(zip(scores, ruled, strict=True))
            ]
        print(f"{path.stem}: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)

    print(
        f"{len(held_out)} sets left out in turn; threshold {threshold}; "
        f"'@ recall' is the lowest false-alarm rate keeping recall >= {args.recall}, "
        f"'@ false alarms' the highest recall keeping false alarms <= {args.false_alarms}"
    )
    header = f"{'weight':>6s} {'gamma':>6s} {'C':>5s}  {'at threshold':>24s}"
    print(f"{header}  @ recall  @ false alarms")
    for (weight, gamma, c), rows in pooled.items():
        crisis = np.array([r[0] for r in rows])
        scores = np.array([r[1] for r in rows])
        ruled = np.array([r[2] for r in rows])
        recall, alarms = rates(crisis, scores, ruled, threshold)
        curve = [rates(crisis, scores, ruled, t) for t in np.arange(0.2, 0.9, 0.01)]
        at_recall = min((f for r, f in curve if r >= args.recall), default=float("nan"))
        at_alarms = max((r for r, f in curve if f <= args.false_alarms), default=float("nan"))
        escalated = (scores >= threshold) | ruled
        counts = f"({escalated[crisis].sum()}/{crisis.sum()}, {escalated[~crisis].sum()})"
        print(
            f"{weight:6g} {gamma:6g} {c:5g}  {f'{recall:.3f} / {alarms:.3f} {counts}':>24s}"
            f"  {at_recall:8.3f}  {at_alarms:14.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
