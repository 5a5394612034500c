"""NLU figures on the held-out sets: accuracy, macro-F1, out-of-scope rejection, latency, size.

Trains an NLU-only model from data/ with config.yml (or --config), times it, then parses every
utterance of a held-out set the model never trains on (set a: heldout/nlu_a/, set b:
heldout/nlu_b/, set c: heldout/nlu_c/, set d: heldout/nlu_d/, off-topic messages only).
FAQ answers count as right only when the ResponseSelector picks the right topic (`faq/<topic>`).
Prints figures; asserts nothing.

`--set real --model m.tar.gz` parses real people's off-topic questions instead
(heldout/real/out_of_scope.csv; `--part calibration` for data/real/'s calibration part) and
prints per source the share rejected and the share given an FAQ answer.

    .venv/bin/python bench/nlu.py [--set a|b|c|d|real] [--config config.yml] [--model m.tar.gz]
        [--json] [--part heldout|calibration]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # config.yml names our own NLU components by module path
# Held-out sets (docs/evaluation.md): a's misses guided which kinds of training examples were
# added; b was written later and is partly tuned on; c was written blind and evaluated once;
# d (off-topic messages only, no in-scope part) was written blind on 2026-12-05.
HELDOUT_SETS: dict[str, tuple[Path | None, Path]] = {
    "a": (REPO / "heldout/nlu_a/nlu.yml", REPO / "heldout/nlu_a/out_of_scope.yml"),
    "b": (REPO / "heldout/nlu_b/nlu.yml", REPO / "heldout/nlu_b/out_of_scope.yml"),
    "c": (REPO / "heldout/nlu_c/nlu.yml", REPO / "heldout/nlu_c/out_of_scope.yml"),
    "d": (None, REPO / "heldout/nlu_d/out_of_scope.yml"),
}
REJECTED = {"out_of_scope", "nlu_fallback"}
SWEEP = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def load_examples(path: Path) -> list[tuple[str, str]]:
    """(text, label) pairs from a Rasa NLU YAML file."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [
        (m.get("text"), m.get("intent_response_key") or m.get("intent"))
        for m in data.intent_examples
    ]


def train(config: Path, out_dir: Path) -> tuple[Path, float]:
    """Train an NLU-only model; returns its path and the wall time in seconds."""
    from rasa.model_training import train_nlu

    start = time.perf_counter()
    model = train_nlu(
        config=str(config),
        nlu_data=str(REPO / "data"),
        output=str(out_dir),
        domain=str(REPO / "domain.yml"),
        fixed_model_name="bench-nlu",
    )
    return Path(model), time.perf_counter() - start


def predicted(parse: dict) -> tuple[str, str, float]:
    """(label after fallback, label before fallback, confidence before fallback)."""
    ranking = [r for r in parse.get("intent_ranking", []) if r["name"] != "nlu_fallback"]
    raw = ranking[0] if ranking else parse["intent"]
    raw_label = raw["name"]
    if raw_label == "faq":
        selector = parse.get("response_selector", {}).get("faq", {})
        raw_label = selector.get("response", {}).get("intent_response_key") or "faq"
    final = "nlu_fallback" if parse["intent"]["name"] == "nlu_fallback" else raw_label
    return final, raw_label, raw["confidence"]


def per_intent_f1(pairs: list[tuple[str, str]]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support for every gold label."""
    labels = sorted({gold for gold, _ in pairs})
    table = {}
    for label in labels:
        tp = sum(1 for g, p in pairs if g == label and p == label)
        fp = sum(1 for g, p in pairs if g != label and p == label)
        fn = sum(1 for g, p in pairs if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        table[label] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    return table


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


async def parse_all(model: Path, texts: list[str]) -> tuple[list[dict], list[float]]:
    """Parse every text with the model in-process; returns parses and per-message seconds."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    await agent.parse_message("warm up")
    parses, times = [], []
    for text in texts:
        start = time.perf_counter()
        parses.append(await agent.parse_message(text))
        times.append(time.perf_counter() - start)
    return parses, times


def main() -> int:
    """Train (unless --model), evaluate, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=REPO / "config.yml")
    parser.add_argument("--model", type=Path, help="evaluate this model instead of training")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--errors", action="store_true", help="also list every miss")
    parser.add_argument(
        "--set", choices=[*sorted(HELDOUT_SETS), "real"], default="a", help="held-out set"
    )
    parser.add_argument(
        "--part",
        choices=["heldout", "calibration"],
        default="heldout",
        help="with --set real: the real people's words' part (calibration chooses thresholds)",
    )
    parser.add_argument("--save-model", type=Path, help="keep the trained model at this path")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # Rasa's debug log would print every parsed text
    os.chdir(REPO)  # the spaCy model path in config.yml is relative to the repository

    if args.set == "real":
        if args.model is None:
            parser.error("--set real needs --model")
        return real_off_topic(args.model, args.part, args.errors)
    train_seconds = None
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model is None:
            model, train_seconds = train(args.config, Path(tmp))
        if args.save_model and args.model is None:
            args.save_model.write_bytes(model.read_bytes())
        size_mb = model.stat().st_size / 1e6
        heldout, heldout_oos = HELDOUT_SETS[args.set]
        in_scope = load_examples(heldout) if heldout else []
        oos = load_examples(heldout_oos)
        texts = [t for t, _ in in_scope] + [t for t, _ in oos]
        parses, times = asyncio.run(parse_all(model, texts))

    results = [predicted(p) for p in parses]
    gold = [label for _, label in in_scope] + ["out_of_scope"] * len(oos)
    n_in = len(in_scope)

    def norm(label: str) -> str:
        return "out_of_scope" if label in REJECTED else label

    pairs = [(g, norm(r[0])) for g, r in zip(gold, results, strict=True)]
    in_pairs = pairs[:n_in]
    oos_results = results[n_in:]
    table = per_intent_f1(pairs)
    accuracy_in = sum(g == p for g, p in in_pairs) / n_in if n_in else None
    accuracy_all = sum(g == p for g, p in pairs) / len(pairs)
    rejection = sum(norm(r[0]) == "out_of_scope" for r in oos_results) / len(oos_results)
    macro_f1 = statistics.mean(row["f1"] for row in table.values())
    confusions = Counter((g, p) for g, p in pairs if g != p).most_common(15)

    def at_threshold(t: float) -> tuple[float | None, float]:
        def label(r: tuple[str, str, float]) -> str:
            return "out_of_scope" if r[2] < t or r[1] in REJECTED else r[1]

        hits = sum(g == label(r) for g, r in zip(gold[:n_in], results[:n_in], strict=True))
        acc = hits / n_in if n_in else None
        rej = sum(label(r) == "out_of_scope" for r in oos_results) / len(oos_results)
        return acc, rej

    # On ordinary messages: how many escalate as a crisis, and how many get the direct safety
    # question (bot/rasa/policies.py: a crisis classifier score at the policy's floor, or a rule
    # match a long message's score deferred; no escalation).
    from bot.rasa.policies import configured_floor, worrying

    floor = configured_floor()
    escalated = sum(p["intent"]["name"] == "crisis" for p in parses)
    asked = sum(worrying(p, floor) for p in parses)
    figures = {
        "heldout_in_scope": n_in,
        "heldout_out_of_scope": len(oos),
        "intents": len(table),
        "in_scope_accuracy": round(accuracy_in, 4) if n_in else None,
        "overall_accuracy": round(accuracy_all, 4),
        "macro_f1": round(macro_f1, 4),
        "out_of_scope_rejection": round(rejection, 4),
        "train_seconds": round(train_seconds, 1) if train_seconds else None,
        "model_mb": round(size_mb, 1),
        "crisis_escalations": escalated,
        "safety_questions": asked,
        "parse_ms_p50": round(percentile(times, 50) * 1000, 1),
        "parse_ms_p95": round(percentile(times, 95) * 1000, 1),
        "threshold_sweep": {
            str(t): [None if x is None else round(x, 4) for x in at_threshold(t)] for t in SWEEP
        },
        "per_intent": {k: {m: round(v, 3) for m, v in row.items()} for k, row in table.items()},
        "confusions": [{"gold": g, "predicted": p, "count": c} for (g, p), c in confusions],
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(
        f"held-out set {args.set}: {n_in} in-scope utterances, {len(oos)} out-of-scope,"
        f" {len(table)} intents"
    )
    if n_in:
        print(f"in-scope accuracy        {accuracy_in:.3f}")
    print(f"overall accuracy         {accuracy_all:.3f}   macro-F1 {macro_f1:.3f}")
    print(f"out-of-scope rejection   {rejection:.3f}")
    print(
        f"crisis escalations       {escalated} of {len(parses)}; safety question (score >="
        f" {floor}) {asked} ({asked / len(parses):.3f})"
    )
    if train_seconds:
        print(f"training time            {train_seconds:.0f} s (NLU only)")
    print(f"model size               {size_mb:.1f} MB")
    print(
        f"parse latency            p50 {figures['parse_ms_p50']} ms,"
        f" p95 {figures['parse_ms_p95']} ms"
    )
    print("fallback threshold sweep (in-scope accuracy, out-of-scope rejection):")
    for t, (acc, rej) in figures["threshold_sweep"].items():
        print(f"  {t}: {'-' if acc is None else f'{acc:.3f}'} {rej:.3f}")
    print("per intent (precision recall F1 support):")
    for label, row in table.items():
        print(
            f"  {label:34s} {row['precision']:.2f} {row['recall']:.2f} {row['f1']:.2f}"
            f" {row['support']:.0f}"
        )
    print("most frequent confusions (gold -> predicted: count):")
    for (g, p), c in confusions:
        print(f"  {g} -> {p}: {c}")
    if args.errors:
        print("misses (gold -> predicted, confidence: text):")
        for text, g, r in zip(texts, gold, results, strict=True):
            if norm(r[0]) != g:
                print(f"  {g} -> {r[0]} {r[2]:.2f}: {text}")
    return 0


def real_off_topic(model: Path, part: str, errors: bool) -> int:
    """Per source of real people's off-topic questions (heldout/real/out_of_scope.csv;
    the calibration part is data/real/'s): the share rejected (out_of_scope or the fallback), the
    share given an FAQ answer, the topics most often wrongly answered. MedQuAD's questions about
    substances are partly in the FAQ's domain: their line shows how they are answered."""
    from bot.rasa.nlu import real_data

    directory = real_data.HELDOUT_DIR if part == "heldout" else real_data.TRAIN_DIR
    sources = (*real_data.OFF_TOPIC_SOURCES, "medquad_substance")
    rows = real_data.off_topic(directory, [part], sources=sources)
    parses, times = asyncio.run(parse_all(model, [r["text"] for r in rows]))
    print(f"real off-topic questions, {part} part (rejected = out_of_scope or nlu_fallback)")
    print(f"  {'source':18s} {'n':>5s} {'rejected':>9s} {'faq':>6s} {'other':>6s}  top answers")
    by_source: dict[str, list[str]] = {}
    for row, parse in zip(rows, parses, strict=True):
        final = predicted(parse)[0]
        label = "rejected" if final in REJECTED else final
        by_source.setdefault(row["source"], []).append(label)
        if errors and label != "rejected":
            print(f"  ANSWERED ({row['source']} -> {label}): {row['text']}")
    pooled = [
        label
        for source, labels in by_source.items()
        if source in real_data.OFF_TOPIC_SOURCES and not source.startswith("medquad")
        for label in labels
    ]
    for source, labels in [*sorted(by_source.items()), ("pooled (real phrasing)", pooled)]:
        n = len(labels)
        rejected = labels.count("rejected")
        faq = sum(label.startswith("faq/") for label in labels)
        top = Counter(label for label in labels if label != "rejected").most_common(3)
        print(
            f"  {source:18s} {n:5d} {rejected / n:9.3f} {faq / n:6.3f}"
            f" {(n - rejected - faq) / n:6.3f}  {', '.join(f'{k} {v}' for k, v in top)}"
        )
    print(
        f"parse latency p50 {percentile(times, 50) * 1000:.1f} ms,"
        f" p95 {percentile(times, 95) * 1000:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
