"""Real people's words (data/real/, heldout/real/): what each component trains on and what
the benches measure.

The files are parts of public research sets copied into the repository by scripts/real_data.py
(sources, licences and the split in data/real/README.md). A row's `part` is `train`,
`calibration` (thresholds are chosen on it, it is never trained on) or `heldout` (only in
heldout/real/: measured, never trained or tuned on). Rows read by a person carry
`human_label` (crisis, distress or ordinary): the sources' own labels are a user's C-SSRS class,
a stress score given by a model or an emotion, never a crisis label, so only the human label
decides what a row teaches the crisis classifier.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path

from bot.settings import REPO_ROOT

TRAIN_DIR = REPO_ROOT / "data" / "real"
HELDOUT_DIR = REPO_ROOT / "heldout" / "real"
# Files whose rows were read one by one (human_label); GoEmotions' unmined rows need no reading:
# ordinary emotional comments without words of death, drugs or harm.
LABELLED = ("cssrs.csv", "senticnet.csv", "goemotions.csv")
OFF_TOPIC = "out_of_scope.csv"
# Off-topic sources whose rows are all off topic for the clinic (MedQuAD's substance questions
# are partly in the FAQ's domain: measured apart, never trained on as off-topic).
OFF_TOPIC_SOURCES = (
    "hwu64",
    "banking77",
    "snips",
    "braun",
    "nq_open",
    "medquad_other",
    "medquad_overdose",
)
LABELS = ("crisis", "distress", "ordinary")


def rows(path: Path, parts: Iterable[str] = ("train",)) -> Iterator[dict[str, str]]:
    """The rows of a real-data CSV file in the given parts."""
    wanted = set(parts)
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["part"] in wanted:
                yield row


def human_label(row: dict[str, str]) -> str | None:
    """crisis / distress / ordinary as read by a person; GoEmotions' unmined comments are
    ordinary by construction; None for a row nobody read."""
    label = (row.get("human_label") or "").strip()
    if label in LABELS:
        return label
    if row.get("source") == "goemotions" and not row.get("mined"):
        return "ordinary"
    return None


def labelled(directory: Path = TRAIN_DIR, parts: Iterable[str] = ("train",)) -> list[dict]:
    """Every read row (and GoEmotions' unmined ones) of the labelled files, with `human_label`
    filled in."""
    out = []
    for name in LABELLED:
        path = directory / name
        if not path.is_file():
            continue
        for row in rows(path, parts):
            label = human_label(row)
            if label:
                out.append({**row, "human_label": label})
    return out


# The gate's bank leaves out MedQuAD's "what to do in case of emergency or overdose of X"
# templates: an overdose question must never be near "I can't help with that". They stay hard
# negatives of the crisis classifier (informational, nobody in danger).
GATE_SOURCES = tuple(s for s in OFF_TOPIC_SOURCES if s != "medquad_overdose")


def off_topic(
    directory: Path = TRAIN_DIR, parts: Iterable[str] = ("train",), sources=OFF_TOPIC_SOURCES
) -> list[dict[str, str]]:
    """Off-topic questions of the given sources."""
    path = directory / OFF_TOPIC
    if not path.is_file():
        return []
    return [row for row in rows(path, parts) if row["source"] in sources]


def crisis_training(directory: Path = TRAIN_DIR) -> tuple[list[str], list[str]]:
    """(crisis texts, other texts) of the training part for the crisis classifier: read rows by
    their human label (distress is not a crisis), and every off-topic question as ordinary."""
    crisis, other = [], []
    for row in labelled(directory):
        (crisis if row["human_label"] == "crisis" else other).append(row["text"])
    other += [row["text"] for row in off_topic(directory)]
    return crisis, other
