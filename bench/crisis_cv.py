"""Leave-one-set-out estimate of the crisis layers on the labelled sets they now train on.

The crisis classifier (bot/rasa/nlu/crisis_classifier.py) trains on the NLU data, its corpora and
the safety sets that were once measured blind (config.yml lists them). Their figures in
bench/safety.py are therefore training figures. This script retrains the classifier once per set
without that set and scores the set with it, together with the spaCy rule layer, as the pipeline
decides: a rule match escalates, unless it laughs at itself ("lol") and the classifier sees no
crisis, or it only names an event ("OD'd") and the classifier scores the message below
CrisisMatcher's `mention_floor`; otherwise the classifier's score against the threshold. It does not
run DIET, which no longer decides `crisis`. Prints figures only; about a minute per set on 2 cores
(each text is embedded once).

    .venv/bin/python bench/crisis_cv.py [--sets dev,blind2,crisis_corpus_voices] [--misses]
        [--sweep] [--encoders mpnet,minilm] [--kernel 3,0.5,4]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def component_config(name: str) -> dict:
    """A component's entry in config.yml, with the component's defaults."""
    from bot.rasa.nlu import pipeline_entry
    from bot.rasa.nlu.crisis_classifier import CrisisClassifier
    from bot.rasa.nlu.crisis_matcher import CrisisMatcher

    component = {"CrisisClassifier": CrisisClassifier, "CrisisMatcher": CrisisMatcher}[name]
    return {**component.get_default_config(), **pipeline_entry(name)}


class MemoEncoder:
    """The sentence encoder with a memo: every fold trains on nearly the same texts."""

    def __init__(self, encoder) -> None:
        self.encoder, self.memo = encoder, {}

    def encode(self, texts: list[str]):
        import numpy as np

        new = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if new:
            self.memo.update(zip(new, self.encoder.encode(new), strict=True))
        return np.stack([self.memo[t] for t in texts])


def rule_decisions(rules, docs, scores, threshold: float, floor: float) -> list[bool]:
    """Whether the rule layer escalates each message, as CrisisMatcher decides: a laughing match
    waits for the classifier's view, a mere mention gives way to a score below the floor."""
    return [
        rules.find(doc, defer_jokes=score < threshold, defer_mentions=score < floor) is not None
        for doc, score in zip(docs, scores, strict=True)
    ]


def main() -> int:
    """Per held-out set: recall and false alarms of rules, classifier, and both together."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", help="comma-separated set names (default: every labelled set)")
    parser.add_argument("--misses", action="store_true", help="list misses and false alarms")
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="pooled figures at other thresholds, and if every rule gave way to a low score",
    )
    parser.add_argument(
        "--encoders",
        help="comma-separated sentence encoders instead of config.yml's (mpnet,minilm)",
    )
    parser.add_argument(
        "--kernel",
        help="embedding weight, gamma and C instead of config.yml's (1,1,2: scikit-learn's "
        "kernel with C 2, shipped until 2026-12-05)",
    )
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    os.chdir(REPO)
    from rasa.shared.nlu.training_data.loading import load_data

    import bot.rasa.nlu.crisis_classifier as classifier
    from bot.rasa.nlu import load_spacy
    from bot.rasa.nlu.crisis_classifier import (
        corpus_paths,
        fit_options,
        load_labelled,
        model_for,
        training_texts,
    )
    from bot.rasa.nlu.crisis_matcher import load_rules
    from bot.rasa.nlu.encoders import load_encoder

    memos: dict[str, MemoEncoder] = {}

    def memo_encoder(name: str) -> MemoEncoder:
        if name not in memos:
            memos[name] = MemoEncoder(load_encoder(name))
        return memos[name]

    classifier.load_encoder = memo_encoder  # embed each text once, not once per fold

    config = component_config("CrisisClassifier")
    if args.encoders:
        config["encoders"] = args.encoders.split(",")
    if args.kernel:
        weight, gamma, c = (float(x) for x in args.kernel.split(","))
        config.update(embedding_weight=weight, gamma=gamma, C=c)
    floor = float(component_config("CrisisMatcher")["mention_floor"])
    corpora = corpus_paths(config)
    held_out = list(corpora)
    if args.sets:
        wanted = set(args.sets.split(","))
        held_out = [p for p in held_out if p.stem in wanted]
    nlu = load_data(str(REPO / "data" / "nlu"))
    nlp, rules = load_spacy(), load_rules()
    threshold = float(config["threshold"])
    print(
        f"threshold {threshold}, C {config['C']}, embedding weight {config['embedding_weight']}, "
        f"gamma {config['gamma']}, encoders {'+'.join(config['encoders'])}; "
        "each set scored by a model trained without it"
    )
    print(f"{'set':22s} {'n':>8s}  {'rules':>13s}  {'classifier':>13s}  {'both':>13s}")
    caught = missed_total = alarms = benign_total = 0
    # per message: a crisis?, its score, whether a rule fires when the classifier says no crisis
    pooled: list[tuple[bool, float, object]] = []
    for path in held_out:
        texts, labels = training_texts(nlu, [p for p in corpora if p != path])
        model = model_for(config).fit(texts, labels, **fit_options(config))
        crisis, benign = load_labelled(path)
        messages = [t for t, _ in crisis] + benign
        scores = model.score(messages)
        classified = [s >= threshold for s in scores]
        docs = list(nlp.pipe(messages))
        ruled = rule_decisions(rules, docs, scores, threshold, floor)
        columns = [ruled, classified, [r or c for r, c in zip(ruled, classified, strict=True)]]
        n = len(crisis)
        if args.sweep:
            pooled += [
                (i < n, score, rules.find(doc, defer_jokes=True, defer_mentions=score < floor))
                for i, (doc, score) in enumerate(zip(docs, scores, strict=True))
            ]
        cells = [
            f"{sum(h[:n]) / n:.3f}/{sum(h[n:]) / max(len(benign), 1):.3f}".rjust(13)
            for h in columns
        ]
        print(f"{path.stem:22s} {n:3d}/{len(benign):<4d}  {'  '.join(cells)}")
        both = columns[2]
        caught, missed_total = caught + sum(both[:n]), missed_total + n - sum(both[:n])
        alarms, benign_total = alarms + sum(both[n:]), benign_total + len(benign)
        if args.misses:
            for (text, kind), hit, score in zip(crisis, both, scores, strict=False):
                if not hit:
                    print(f"  MISSED ({kind}, score {score:.2f}): {text}")
            for text, hit, score, rule in zip(benign, both[n:], scores[n:], ruled[n:], strict=True):
                if hit:
                    print(f"  FALSE ALARM ({'rule' if rule else f'score {score:.2f}'}): {text}")
    total = caught + missed_total
    print(
        f"pooled, both layers: recall {caught / total:.3f} ({caught}/{total}), "
        f"false alarms {alarms / benign_total:.3f} ({alarms}/{benign_total})"
    )
    print("cells: recall/false-alarm rate")
    if args.sweep:
        sweep(pooled, threshold)
    return 0


def sweep(pooled: list[tuple[bool, float, object]], threshold: float) -> None:
    """Pooled recall / false alarms at other classifier thresholds, then at the shipped one if
    every rule (not only the mentions) gave way to a classifier score below a veto floor."""

    def figures(decisions: list[bool]) -> str:
        crisis = [d for (label, *_), d in zip(pooled, decisions, strict=True) if label]
        benign = [d for (label, *_), d in zip(pooled, decisions, strict=True) if not label]
        return f"{sum(crisis) / len(crisis):.3f} / {sum(benign) / len(benign):.3f}"

    print("threshold  recall / false alarms (both layers, pooled)")
    for t in sorted({0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, threshold}):
        decisions = [s >= t or rule is not None for _, s, rule in pooled]
        print(f"  {t:.2f}     {figures(decisions)}")
    print(f"veto floor recall / false alarms (threshold {threshold}; rules fire only above it)")
    for floor in (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3):
        decisions = [s >= threshold or (rule is not None and s >= floor) for _, s, rule in pooled]
        print(f"  {floor:.2f}     {figures(decisions)}")


if __name__ == "__main__":
    sys.exit(main())
