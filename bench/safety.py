"""Crisis detection figures: recall on crisis messages, false alarms on look-alike benign ones.

Parses every message of a safety set as a conversation's first turn with the trained model (NLU
pipeline including the spaCy crisis rule layer); a message escalates when its intent is `crisis`,
which the rules answer with the crisis lines and an urgent flag. It also counts the messages
that do not escalate but score at the safety question's floor (config.yml's
`safety_check_floor`; bot/rasa/policies.py): those get the normal reply and then a direct question
about safety, a second chance for a missed crisis and a question, not an alarm, for a
look-alike. Prints figures only.

Sets (trained on: data/crisis/written/; held out: heldout/safety/): `messages`, `dev`, `heldout` and
`blind` to `blind4` were each written blind, measured, then tuned on; they are now training data of
the crisis classifier, so their figures here are training figures (bench/crisis_cv.py gives
leave-one-set-out estimates). `blind5` and `blind8` to `blind13` are never trained or tuned on: they
are the honest figures.

`--calibration` prints, per band of the classifier's score, how many crisis messages and
look-alikes fall in it and the likelihood ratio (the band's share of the crises over its share
of the look-alikes: free of the sets' crisis rate, which is far above a clinic's traffic). Pool
the never-trained sets for it: `--set blind5,blind8,blind9,blind10,blind11,blind12,blind13`.
`--mid-form` reads every message as the answer to each question of the three forms, as the
forms do (actions/forms.py: a crisis interrupts a form unless it is a word or three that only
the classifier called a crisis and that answers the question), and prints recall at the worst
question and the crises a form would take as its answer.

`--real heldout|calibration|train` measures on real people's words instead
(bot/rasa/nlu/real_data.py: posts read one by one as crisis, distress or ordinary, and off-topic
questions), per source, per label and per length: escalated (the full crisis reply), asked (the
safety question), either. Thresholds are chosen on `calibration` (with `--calibration` for the score
bands); `heldout` (heldout/real/) is never trained or tuned on.

    .venv/bin/python bench/safety.py [--model models/iop.tar.gz]
        [--set messages|dev|heldout|blind|blind2|...|blind13[,another,...]]
        [--file other.yml] [--misses] [--all] [--calibration] [--mid-form]
        [--real heldout|calibration|train]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import logging
import os
import sys
from collections import Counter
from pathlib import Path

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # config.yml names our own NLU components by module path
SETS = {
    "messages": REPO / "data" / "crisis" / "written" / "messages.yml",
    "dev": REPO / "data" / "crisis" / "written" / "dev.yml",
    "heldout": REPO / "data" / "crisis" / "written" / "heldout.yml",
    # written blind to the data, the rules and the other sets; measured, never tuned on
    "blind": REPO / "data" / "crisis" / "written" / "blind.yml",
    "blind2": REPO / "data" / "crisis" / "written" / "blind2.yml",
    # written blind after the crisis classifier's design; measured once (0.992 / 5.3%), then
    # trained on
    "blind3": REPO / "data" / "crisis" / "written" / "blind3.yml",
    # written blind after blind3 was measured; measured once (0.932 / 7.6%), then trained on
    "blind4": REPO / "data" / "crisis" / "written" / "blind4.yml",
    # written blind after blind4 was measured; never trained or tuned on
    "blind5": REPO / "heldout" / "safety" / "blind5.yml",
    # written blind after blind5 was measured (blind7 by a writer told to draw on crisis-line
    # practice); measured once (0.992 / 7.6% and 1.000 / 11.8%), then trained on
    "blind6": REPO / "data" / "crisis" / "written" / "blind6.yml",
    "blind7": REPO / "data" / "crisis" / "written" / "blind7.yml",
    # written blind after blind6 and blind7 were measured (blind9 in a peer recovery coach's
    # voice); never trained or tuned on
    "blind8": REPO / "heldout" / "safety" / "blind8.yml",
    "blind9": REPO / "heldout" / "safety" / "blind9.yml",
    # written blind after blind8 and blind9 were measured (blind11 in many late-night voices);
    # never trained or tuned on
    "blind10": REPO / "heldout" / "safety" / "blind10.yml",
    "blind11": REPO / "heldout" / "safety" / "blind11.yml",
    # written blind as training corpora (everyday words; plans and endings); leave-one-set-out
    # showed training on them cost recall, so they measure instead; never trained or tuned on
    "blind12": REPO / "heldout" / "safety" / "blind12.yml",
    "blind13": REPO / "heldout" / "safety" / "blind13.yml",
}
MESSAGES = SETS["messages"]
# The calibration's bands of the classifier's score; the safety question's floor and the
# threshold (0.4, 0.5) are edges.
BANDS = (0.0, 0.1, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.8, 1.0)


def load_messages(path: Path = MESSAGES) -> tuple[list[tuple[str, str]], list[str]]:
    """(text, kind) crisis messages and benign texts."""
    from bot.rasa.nlu.crisis_classifier import load_labelled

    return load_labelled(path)


async def classify(model: Path, texts: list[str]) -> list[tuple[bool, str, float, dict]]:
    """(escalates, which layer: `rule`, `classifier` or `-`, the classifier's score, the parse
    result) per text.

    `rule` when a crisis rule matched (it escalates whatever the classifier says); `classifier`
    for the rest."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    results = []
    for text in texts:
        parse = await agent.parse_message(text)
        escalates = parse["intent"]["name"] == "crisis"
        layer = "rule" if parse.get("crisis_match") else "classifier"
        score = parse.get("crisis_classifier", 0)
        results.append((escalates, layer if escalates else "-", score, parse))
    return results


def form_questions() -> list[tuple[str, str, object, frozenset[str], frozenset[str]]]:
    """(form, slot, question, interruptions, restart intents) for every question our forms ask,
    as the forms' own validation actions read answers (actions/forms.py)."""
    from actions.assessment_form import ValidatePreassessmentForm
    from actions.checkin_form import ValidateCheckinForm
    from actions.forms import INTERRUPTIONS
    from actions.reminder_actions import ValidateReminderForm
    from actions.safety_actions import ValidateCallbackForm

    found = []
    forms = (
        ValidatePreassessmentForm(),
        ValidateCheckinForm(),
        ValidateCallbackForm(),
        ValidateReminderForm(),
    )
    for form in forms:
        interruptions = INTERRUPTIONS | form.restart_intents | form.extra_interruptions
        for slot, question in form.questions().items():
            found.append((form.name(), slot, question, interruptions, form.restart_intents))
    return found


def escalates_mid_form(parse: dict, question: object, interruptions, restarts) -> bool:
    """A crisis message is an interruption mid-form unless the form reads it as a plain answer
    ("Cannabis", "10": a word or three that only the classifier called a crisis)."""
    from actions.forms import read_message

    if parse["intent"]["name"] != "crisis":
        return False
    return read_message(question, parse, interruptions, restarts).kind == "interruption"


def mid_form(crisis: list[dict], benign: list[dict]) -> None:
    """Recall and false alarms as if each message came in answer to each question of each form."""
    questions = form_questions()
    first_caught = sum(parse["intent"]["name"] == "crisis" for parse in crisis)
    first_alarms = sum(parse["intent"]["name"] == "crisis" for parse in benign)
    recalls, alarm_counts = [], []
    swallowed: Counter[str] = Counter()
    for _, _, question, interruptions, restarts in questions:
        caught = [escalates_mid_form(p, question, interruptions, restarts) for p in crisis]
        recalls.append(sum(caught))
        alarm_counts.append(
            sum(escalates_mid_form(p, question, interruptions, restarts) for p in benign)
        )
        for parse, hit in zip(crisis, caught, strict=True):
            if parse["intent"]["name"] == "crisis" and not hit:
                swallowed[parse["text"]] += 1
    lowest = questions[recalls.index(min(recalls))]
    print(
        f"mid-form            {len(questions)} questions of 3 forms; first turn {first_caught}/"
        f"{len(crisis)} crises, {first_alarms} false alarms; mid-form {min(recalls)} to"
        f" {max(recalls)} crises (lowest at {lowest[0]} / {lowest[1]}), {min(alarm_counts)} to"
        f" {max(alarm_counts)} false alarms"
    )
    for text, count in swallowed.most_common():
        print(f"  read as an answer to {count} question(s) instead of escalating: {text}")


def training_set() -> set[str]:
    """Every text the crisis classifier trains on (NLU examples and corpora), normalised."""
    from rasa.shared.nlu.training_data.loading import load_data

    from bot.rasa.nlu import pipeline_entry
    from bot.rasa.nlu.crisis_classifier import (
        corpus_paths,
        normalise,
        real_data_dir,
        training_texts,
    )

    entry = pipeline_entry("CrisisClassifier")
    texts, _ = training_texts(
        load_data(str(REPO / "data" / "nlu")), corpus_paths(entry), real_data_dir(entry)
    )
    return {normalise(text) for text in texts}


LENGTHS = ((0, 140, "short"), (141, 400, "medium"), (401, 10**6, "long"))


def real_report(model: Path, part: str, misses: bool, bands: bool = False) -> int:
    """Per source of real people's words (bot/rasa/nlu/real_data.py; `heldout` is never trained or
    tuned on): recall on the posts read as a crisis (escalated, or asked the direct safety
    question), and on the rest the share that gets the full crisis reply or the question; by
    label and by length."""
    from bot.rasa.nlu import real_data
    from bot.rasa.policies import configured_floor, worrying

    directory = real_data.HELDOUT_DIR if part == "heldout" else real_data.TRAIN_DIR
    rows = real_data.labelled(directory, [part])
    rows += [
        {**r, "human_label": "off-topic"}
        for r in real_data.off_topic(
            directory, [part], sources=(*real_data.OFF_TOPIC_SOURCES, "medquad_substance")
        )
    ]
    scored = asyncio.run(classify(model, [r["text"] for r in rows]))
    floor = configured_floor()
    print(
        f"real people's words, {part} part; escalated = the full crisis reply and an urgent"
        f" flag; asked = the safety question (score >= {floor} or a deferred rule match, not"
        " escalated)"
    )
    print(
        f"  {'source':18s} {'label':10s} {'n':>5s} {'escalated':>10s} {'asked':>7s} {'either':>7s}"
    )
    groups: dict[tuple[str, str], list[tuple[bool, bool]]] = {}
    lengths: dict[tuple[str, str], list[tuple[bool, bool]]] = {}
    for row, (hit, layer, score, parse) in zip(rows, scored, strict=True):
        result = (hit, worrying(parse, floor))
        groups.setdefault((row["source"], row["human_label"]), []).append(result)
        size = next(name for low, high, name in LENGTHS if low <= len(row["text"]) <= high)
        lengths.setdefault((row["human_label"], size), []).append(result)
        if misses and (
            (row["human_label"] == "crisis" and not any(result))
            or (row["human_label"] != "crisis" and hit)
        ):
            kind = "MISSED" if row["human_label"] == "crisis" else "FULL REPLY"
            where = f"{row['source']} {row['human_label']} {score:.2f} {layer}"
            print(f"{kind} ({where}): {row['text']}")

    def line(name: str, label: str, results: list[tuple[bool, bool]]) -> None:
        n = len(results)
        hit, asked = sum(h for h, _ in results), sum(a for _, a in results)
        print(
            f"  {name:18s} {label:10s} {n:5d} {hit / n:10.3f} {asked / n:7.3f}"
            f" {(hit + asked) / n:7.3f}"
        )

    for (source, label), results in sorted(groups.items()):
        line(source, label, results)
    print("  by length (characters: short <= 140 < medium <= 400 < long), every source:")
    for (label, size), results in sorted(lengths.items()):
        line(size, label, results)
    if bands:
        pairs = {
            label: [
                (hit, float(score))
                for row, (hit, _, score, _) in zip(rows, scored, strict=True)
                if row["human_label"] == label
            ]
            for label in ("crisis", "distress", "ordinary")
        }
        for label in ("distress", "ordinary"):
            print(f"score bands, crises against {label} (look-alikes = {label}):")
            calibration(pairs["crisis"], pairs[label])
    return 0


def main() -> int:
    """Print recall overall and per kind, the false-alarm rate, which layer caught what."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO / "models" / "iop.tar.gz")
    parser.add_argument(
        "--set", default="messages", help=f"safety set, or several pooled: {','.join(SETS)}"
    )
    parser.add_argument("--file", type=Path, help="another set in the same format (not --set)")
    parser.add_argument("--misses", action="store_true", help="list every miss and false alarm")
    parser.add_argument("--all", action="store_true", help="list every message with its layer")
    parser.add_argument(
        "--calibration", action="store_true", help="crises and look-alikes per band of the score"
    )
    parser.add_argument(
        "--mid-form", action="store_true", help="recall as an answer to every question of a form"
    )
    parser.add_argument(
        "--real",
        choices=["heldout", "calibration", "train"],
        help="per-source figures on real people's words (heldout/real/, data/real/)",
    )
    args = parser.parse_args()
    if args.real:
        logging.disable(logging.WARNING)
        from rasa.utils.log_utils import configure_structlog

        configure_structlog(logging.WARNING)
        os.chdir(REPO)
        return real_report(args.model, args.real, args.misses, args.calibration)
    unknown = [name for name in args.set.split(",") if name not in SETS]
    if unknown and not args.file:
        parser.error(f"unknown set {', '.join(unknown)} (known: {', '.join(SETS)})")
    logging.disable(logging.WARNING)
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # Rasa's debug log would print every parsed text
    if args.file:
        args.file = args.file.resolve()
        args.set = args.file.name
    os.chdir(REPO)

    crisis, benign = [], []
    for path in [args.file] if args.file else [SETS[name] for name in args.set.split(",")]:
        set_crisis, set_benign = load_messages(path)
        crisis += set_crisis
        benign += set_benign
    scored = asyncio.run(classify(args.model, [t for t, _ in crisis] + benign))
    from bot.rasa.policies import configured_floor, worrying

    floor = configured_floor()
    asked = [worrying(parse, floor) for _, _, _, parse in scored]
    results = [(hit, layer) for hit, layer, _, _ in scored]
    crisis_results, benign_results = results[: len(crisis)], results[len(crisis) :]

    by_kind: dict[str, list[tuple[bool, str]]] = {}
    for (_, kind), result in zip(crisis, crisis_results, strict=True):
        by_kind.setdefault(kind, []).append(result)
    caught = sum(hit for hit, _ in crisis_results)
    layers = Counter(layer for hit, layer in crisis_results if hit)
    alarms = Counter(layer for hit, layer in benign_results if hit)
    false_alarms = sum(alarms.values())

    print(f"set {args.set}: crisis messages {len(crisis)}, benign look-alikes {len(benign)}")
    print(f"recall              {caught / len(crisis):.3f} ({caught}/{len(crisis)})")
    print(f"false-alarm rate    {false_alarms / len(benign):.3f} ({false_alarms}/{len(benign)})")
    # Below the threshold but at the policy's floor, the reply ends with the direct safety
    # question (bot/rasa/policies.py): not an escalation, but a second chance for a missed crisis.
    crisis_asked, benign_asked = sum(asked[: len(crisis)]), sum(asked[len(crisis) :])
    print(
        f"safety question     (score >= {floor} or a deferred rule, not escalated) asked of"
        f" {crisis_asked} missed"
        f" crises and {benign_asked / len(benign):.3f} ({benign_asked}) of the look-alikes;"
        f" escalated or asked {(caught + crisis_asked) / len(crisis):.3f}"
    )
    # A set written blind can still hold a message that some training corpus also has word for
    # word (short ones: "kms"); the figures without them are the stricter ones.
    from bot.rasa.nlu.crisis_classifier import normalise

    seen = training_set()
    fresh = [normalise(t) not in seen for t, _ in crisis]
    fresh_crisis = [hit for (hit, _), new in zip(crisis_results, fresh, strict=True) if new]
    fresh = [normalise(t) not in seen for t in benign]
    fresh_benign = [hit for (hit, _), new in zip(benign_results, fresh, strict=True) if new]
    repeated = len(crisis) + len(benign) - len(fresh_crisis) - len(fresh_benign)
    if repeated and fresh_crisis and fresh_benign:
        recall, alarm = sum(fresh_crisis), sum(fresh_benign)
        print(
            f"{repeated} messages are in the training data word for word; without them: recall"
            f" {recall / len(fresh_crisis):.3f} ({recall}/{len(fresh_crisis)}), false alarms"
            f" {alarm / len(fresh_benign):.3f} ({alarm}/{len(fresh_benign)})"
        )
    for label, counts in (("caught by", layers), ("false alarms by", alarms)):
        print(f"{label:20s}rule layer {counts['rule']}, classifier only {counts['classifier']}")
    print(f"  {'kind':18s} recall   rule classifier")
    for kind, kind_results in sorted(by_kind.items()):
        hits = sum(hit for hit, _ in kind_results)
        kind_layers = Counter(layer for hit, layer in kind_results if hit)
        print(
            f"  {kind:18s} {hits:2d}/{len(kind_results):<2d}   {kind_layers['rule']:4d}"
            f" {kind_layers['classifier']:10d}"
        )
    if args.calibration:
        pairs = [(hit, float(score)) for hit, _, score, _ in scored]
        calibration(pairs[: len(crisis)], pairs[len(crisis) :])
    if args.mid_form:
        parses = [parse for _, _, _, parse in scored]
        mid_form(parses[: len(crisis)], parses[len(crisis) :])
    if args.misses or args.all:
        crisis_asked_each = asked[: len(crisis)]
        for (text, kind), (hit, layer), ask in zip(
            crisis, crisis_results, crisis_asked_each, strict=True
        ):
            if not hit:
                print(f"MISSED ({kind}{', asked' if ask else ''}): {text}")
            elif args.all:
                print(f"caught ({kind}, {layer}): {text}")
        for text, (hit, layer) in zip(benign, benign_results, strict=True):
            if hit:
                print(f"FALSE ALARM ({layer}): {text}")
            elif args.all:
                print(f"benign ok: {text}")
    return 0


def calibration(crisis: list[tuple[bool, float]], benign: list[tuple[bool, float]]) -> None:
    """Per band of the classifier's score: crises (of them missed) and look-alikes (of them
    escalated, by the classifier or a rule), and the likelihood ratio of the band."""
    print(
        f"  {'score band':12s} {'crises':>7s} {'missed':>7s} {'look-alikes':>12s}"
        f" {'escalated':>10s} {'likelihood ratio':>17s}"
    )

    def band(score: float) -> int:
        return min(bisect.bisect_right(BANDS, score), len(BANDS) - 1) - 1

    def counts(results: list[tuple[bool, float]]) -> tuple[Counter, Counter]:
        return (
            Counter(band(score) for _, score in results),
            Counter(band(score) for hit, score in results if hit),
        )

    (crises, caught), (benign_counts, alarms) = counts(crisis), counts(benign)
    for index, (low, high) in enumerate(zip(BANDS, BANDS[1:], strict=False)):
        share_crisis = crises[index] / len(crisis) if crisis else 0.0
        share_benign = benign_counts[index] / len(benign) if benign else 0.0
        ratio = f"{share_crisis / share_benign:.2f}" if share_benign else "-"
        print(
            f"  {low:.2f}-{high:.2f}    {crises[index]:7d} {crises[index] - caught[index]:7d}"
            f" {benign_counts[index]:12d} {alarms[index]:10d} {ratio:>17s}"
        )


if __name__ == "__main__":
    sys.exit(main())
