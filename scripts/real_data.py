"""Copy the parts of the real-people text pack (../shared/data/real) that the bot uses into the
repository, split once and for good into train / calibration / held-out.

The pack is public research text written by real people (sources, licences and caveats in its
README). A fresh clone must train without it, so what the shipped model trains on is copied to
`data/real/` (train and calibration parts) and what only measures it to `heldout/real/`
(held-out parts, never trained or tuned on). The split is by the unit that could leak between
parts: the author (Reddit C-SSRS), the post (SenticNet's title and title+body rows of one post),
the dataset's official test split where there is one (GoEmotions, HWU64, Banking77, SNIPS,
NQ-open, Braun), the question's focus (MedQuAD). A row's part is a hash of that unit, so the
split does not change when rows are added or the pack is rebuilt.

Human labels (`data/real/labels/*.csv`, `heldout/real/labels/*.csv`: read post by post into
crisis / distress / ordinary, with the reason) are kept apart from the pack's own labels, which
are a user's C-SSRS class, a stress score given by a model, or an emotion: never a crisis label.

    python3 scripts/real_data.py split   [--pack ../shared/data/real]   # write the CSV files
    python3 scripts/real_data.py batches [--pack ...] OUT_DIR            # rows to read and label
    python3 scripts/real_data.py labels LABEL_DIR                        # add the readers' labels
    python3 scripts/real_data.py nlu                     # write data/nlu/distress_real.yml

Standard library only: it runs before the venv exists.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACK = REPO.parent / "shared" / "data" / "real"
TRAIN_DIR = REPO / "data" / "real"
HELDOUT_DIR = REPO / "heldout" / "real"

# Share of each group-hashed source per part (the rest is held out).
TRAIN_SHARE, CALIBRATION_SHARE = 0.60, 0.15
# Rows kept per source and part (a sample: the training time of the crisis classifier and of the
# out-of-scope gate grows with every row, and a few hundred per source cover each style).
OOS_TRAIN_ROWS, OOS_CALIBRATION_ROWS, OOS_HELDOUT_ROWS = 400, 150, 400
# Out-of-scope sources' labels that overlap the assistant's own intents (greet, affirm, deny,
# stop, bot_challenge, thank), removed before their rows are used as off-topic questions.
OWN_INTENTS = {
    "hwu64": {
        "general_affirm",
        "general_negate",
        "general_commandstop",
        "general_praise",
        "general_quirky",
        "general_explain",
        "general_repeat",
        "general_confirm",
        "general_dontcare",
    },
}
# GoEmotions comments about death, drugs or harm: read before use (a few are real disclosures).
MINED = re.compile(
    r"\b(kill|killing|killed|die|dying|dead|death|suicid\w*|overdos\w*|relaps\w*|sober|"
    r"clean|cut|cutting|hurt|hang|jump|pills?|drunk|drinking|alcohol\w*|heroin|meth|cocaine|"
    r"opioids?|addict\w*|self[- ]?harm|end it|live anymore|want to go)\b",
    re.I,
)
GOEMOTIONS_LOOKALIKES = {
    "sadness",
    "grief",
    "fear",
    "remorse",
    "nervousness",
    "disappointment",
    "embarrassment",
    "anger",
    "annoyance",
    "caring",
    "confusion",
}
SUBSTANCE_FOCUS = re.compile(
    r"alcohol|opiat|opioid|cocaine|methadone|buprenorph|naltrex|naloxone|disulfiram|acamprosate|"
    r"nicotine|substance|drug abuse|withdrawal|heroin|marijuana|cannabis|amphetamine|tobacco",
    re.I,
)


def part(key: str) -> str:
    """`train`, `calibration` or `heldout` for a grouping key (author, post, focus ...)."""
    value = int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    if value < TRAIN_SHARE:
        return "train"
    return "calibration" if value < TRAIN_SHARE + CALIBRATION_SHARE else "heldout"


def rank(row_id: str) -> str:
    """A fixed pseudo-random order for sampling rows (the same rows each run)."""
    return hashlib.sha256(("sample:" + row_id).encode("utf-8")).hexdigest()


def read(pack: Path, name: str) -> list[dict[str, str]]:
    with (pack / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def official(split: str, heldout: set[str], calibration: set[str] = frozenset()) -> str:
    if split in heldout:
        return "heldout"
    return "calibration" if split in calibration else "train"


def sample(rows: list[dict[str, str]], limit: int) -> list[dict[str, str]]:
    return sorted(rows, key=lambda r: rank(r["source_id"]))[:limit]


def out_of_scope_rows(pack: Path) -> list[dict[str, str]]:
    """Off-topic questions per source and part: source, source_id, part, text, label."""
    sources = {  # name: (file, the dataset's own test splits)
        "hwu64": ("hwu64.csv", {"test"}),
        "banking77": ("banking77.csv", {"test"}),
        "snips": ("snips.csv", {"validate"}),
        "braun": ("braun_nlu_corpora.csv", {"test"}),
        "nq_open": ("nq_open_questions.csv", {"efficientqa_test"}),
    }

    def part_of(row: dict[str, str], tests: set[str]) -> str:
        """The official test split is held out; the rest is train or calibration."""
        if row["split"] in tests:
            return "heldout"
        return "calibration" if part(row["source_id"]) == "calibration" else "train"

    limits = {
        "train": OOS_TRAIN_ROWS,
        "calibration": OOS_CALIBRATION_ROWS,
        "heldout": OOS_HELDOUT_ROWS,
    }
    out = []
    for source, (name, tests) in sources.items():
        excluded = OWN_INTENTS.get(source, set())
        rows = [r for r in read(pack, name) if r["label"] not in excluded]
        for which, limit in limits.items():
            chosen = [r for r in rows if part_of(r, tests) == which]
            if source == "braun":  # 446 rows in all: keep every one
                limit = len(chosen)
            for r in sample(chosen, limit):
                out.append(
                    {
                        "source": source,
                        "source_id": r["source_id"],
                        "part": which,
                        "text": r["text"],
                        "label": r["label"],
                    }
                )
    return out


def medquad_rows(pack: Path) -> list[dict[str, str]]:
    """MedQuAD questions (templated, not real phrasing): substance-related ones apart, and the
    'emergency or overdose' questions as crisis look-alikes. Split by focus."""
    out = []
    rows = read(pack, "medquad_questions.csv")
    groups = {
        "medquad_substance": [r for r in rows if SUBSTANCE_FOCUS.search(r["focus"])],
        "medquad_overdose": [
            r
            for r in rows
            if r["label"] == "emergency or overdose" and not SUBSTANCE_FOCUS.search(r["focus"])
        ],
        "medquad_other": [
            r
            for r in rows
            if r["label"] != "emergency or overdose" and not SUBSTANCE_FOCUS.search(r["focus"])
        ],
    }
    limits = {"train": 200, "calibration": 75, "heldout": 200}
    for source, chosen in groups.items():
        for which, limit in limits.items():
            mine = [r for r in chosen if part("medquad:" + r["focus"].lower()) == which]
            for r in sample(mine, limit):
                out.append(
                    {
                        "source": source,
                        "source_id": r["source_id"],
                        "part": which,
                        "text": r["text"],
                        "label": r["label"] + " | " + r["focus"],
                    }
                )
    return out


def goemotions_rows(pack: Path) -> list[dict[str, str]]:
    """GoEmotions comments with an emotion close to distress (hard negatives), official split;
    the mined ones (death, drugs, harm words) are marked for reading."""
    out = []
    limits = {"train": 1200, "calibration": 300, "heldout": 800}
    rows = [
        r
        for r in read(pack, "goemotions.csv")
        if GOEMOTIONS_LOOKALIKES & set(r["label"].split(","))
    ]
    for which, limit in limits.items():
        chosen = [r for r in rows if official(r["split"], {"test"}, {"dev"}) == which]
        mined = [r for r in chosen if MINED.search(r["text"])]
        plain = [r for r in chosen if not MINED.search(r["text"])]
        for r in mined + sample(plain, max(limit - len(mined), 0)):
            out.append(
                {
                    "source": "goemotions",
                    "source_id": r["source_id"],
                    "part": which,
                    "text": r["text"],
                    "label": r["label"],
                    "mined": "yes" if MINED.search(r["text"]) else "",
                }
            )
    return out


def senticnet_rows(pack: Path) -> list[dict[str, str]]:
    """SenticNet Reddit posts, split by post; every stress-labelled post of the sample is read."""
    out = []
    limits = {"train": 900, "calibration": 250, "heldout": 450}
    rows = read(pack, "senticnet_stress_reddit.csv")
    for which, limit in limits.items():
        chosen = [r for r in rows if part("senticnet:" + r["post_group"]) == which]
        stress = sample([r for r in chosen if r["label"] == "1"], limit * 3 // 4)
        calm = sample([r for r in chosen if r["label"] == "0"], limit // 4)
        for r in stress + calm:
            out.append(
                {
                    "source": "senticnet",
                    "source_id": r["source_id"],
                    "part": which,
                    "text": r["text"],
                    "label": r["label"],
                    "unit": r["unit"],
                    "post_group": r["post_group"],
                }
            )
    return out


def cssrs_rows(pack: Path) -> list[dict[str, str]]:
    """Every Reddit C-SSRS post of the developers' part, split by author."""
    return [
        {
            "source": "cssrs",
            "source_id": r["source_id"],
            "part": part("cssrs:" + r["author"]),
            "text": r["text"],
            "label": r["label"],
            "author": r["author"],
        }
        for r in read(pack, "cssrs_dev.csv")
    ]


def write(path: Path, rows: list[dict[str, str]], columns: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=columns, extrasaction="ignore", lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(rows)


HUMAN = ["human_label", "human_sure", "human_reason"]


def existing_labels() -> dict[str, dict[str, str]]:
    """Human labels already in the repository's files, by source_id (kept across a re-split)."""
    found = {}
    for directory in (TRAIN_DIR, HELDOUT_DIR):
        for path in directory.glob("*.csv"):
            with path.open(encoding="utf-8", newline="") as handle:
                for row in csv.DictReader(handle):
                    if row.get("human_label"):
                        found[row["source_id"]] = {k: row[k] for k in HUMAN}
    return found


def split(pack: Path) -> None:
    """Write data/real/*.csv (train, calibration) and heldout/real/*.csv (held out)."""
    known = existing_labels()
    tables = {
        "out_of_scope.csv": (
            out_of_scope_rows(pack) + medquad_rows(pack),
            ["source", "source_id", "part", "label", "text"],
        ),
        "goemotions.csv": (
            goemotions_rows(pack),
            ["source", "source_id", "part", "label", "mined", "text"],
        ),
        "senticnet.csv": (
            senticnet_rows(pack),
            ["source", "source_id", "part", "post_group", "label", "unit", "text"],
        ),
        "cssrs.csv": (cssrs_rows(pack), ["source", "source_id", "part", "author", "label", "text"]),
    }
    for name, (rows, columns) in tables.items():
        if name != "out_of_scope.csv":
            columns = [*columns[:-1], *HUMAN, columns[-1]]  # the text last: easier to read
            for row in rows:
                row.update(known.get(row["source_id"], dict.fromkeys(HUMAN, "")))
        kept = [r for r in rows if r["part"] != "heldout"]
        held = [r for r in rows if r["part"] == "heldout"]
        write(TRAIN_DIR / name, kept, columns)
        write(HELDOUT_DIR / name, held, columns)
        counts = Counter((r["source"], r["part"]) for r in rows)
        print(name, ", ".join(f"{s}/{p} {n}" for (s, p), n in sorted(counts.items())))


def batches(out_dir: Path, size: int) -> None:
    """The rows to read and label (C-SSRS, SenticNet, mined GoEmotions), in batches of `size`,
    each row named `<file>:<source_id>`."""
    rows = []
    for directory in (TRAIN_DIR, HELDOUT_DIR):
        for name in ("cssrs.csv", "senticnet.csv", "goemotions.csv"):
            with (directory / name).open(encoding="utf-8", newline="") as handle:
                for r in csv.DictReader(handle):
                    if name != "goemotions.csv" or r["mined"]:
                        rows.append({"id": r["source_id"], "text": r["text"]})
    rows.sort(key=lambda r: rank(r["id"]))  # mixed, so no batch is one source or one part
    out_dir.mkdir(parents=True, exist_ok=True)
    for start in range(0, len(rows), size):
        write(
            out_dir / f"batch{start // size + 1:02d}.csv",
            rows[start : start + size],
            ["id", "text"],
        )
    print(f"{len(rows)} rows in {(len(rows) + size - 1) // size} batches under {out_dir}")


def merge_labels(label_dir: Path) -> None:
    """Add the readers' labels (label_dir/*.csv: id,label,sure,reason) to the labelled files."""
    labels = {}
    for path in sorted(label_dir.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if row["label"] not in ("crisis", "distress", "ordinary"):
                    raise SystemExit(f"{path}: bad label {row['label']!r} for {row['id']}")
                labels[row["id"]] = {
                    "human_label": row["label"],
                    "human_sure": row["sure"],
                    "human_reason": " ".join(row["reason"].split()),
                }
    merged = Counter()
    for directory in (TRAIN_DIR, HELDOUT_DIR):
        for name in ("cssrs.csv", "senticnet.csv", "goemotions.csv"):
            path = directory / name
            with path.open(encoding="utf-8", newline="") as handle:
                reader = csv.DictReader(handle)
                columns, rows = list(reader.fieldnames or []), list(reader)
            for row in rows:
                if row["source_id"] in labels:
                    row.update(labels[row["source_id"]])
                    merged[(name, row["part"], row["human_label"])] += 1
            write(path, rows, columns)
    for key, n in sorted(merged.items()):
        print(*key, n)


# Distress examples for DIET's `distress` intent: read rows of the training part, short enough to
# read as a chat message.
DISTRESS_MAX_CHARS = 280
DISTRESS_EXAMPLES = 160


def distress_nlu() -> None:
    """Write data/nlu/distress_real.yml: training rows a reader labelled distress."""
    rows = []
    for name in ("senticnet.csv", "cssrs.csv", "goemotions.csv"):
        with (TRAIN_DIR / name).open(encoding="utf-8", newline="") as handle:
            rows += [
                r
                for r in csv.DictReader(handle)
                if r["part"] == "train"
                and r["human_label"] == "distress"
                and r["human_sure"] == "yes"
                and 15 <= len(r["text"]) <= DISTRESS_MAX_CHARS
            ]
    chosen = sorted(rows, key=lambda r: rank(r["source_id"]))[:DISTRESS_EXAMPLES]
    chosen.sort(key=lambda r: (r["source"], r["source_id"]))
    lines = [
        'version: "3.1"',
        "# Real people's words read as distress without risk language (data/real/, training part",
        "# only; a reader's label, not the source's). Written by scripts/real_data.py nlu: do not",
        "# edit by hand. Sources and licences: data/real/README.md (SenticNet stress detection and",
        "# GoEmotions, Apache-2.0; Reddit C-SSRS, Gaur et al. 2019, CC BY 4.0).",
        "nlu:",
        "- intent: distress",
        "  examples: |",
    ]
    for row in chosen:
        text = " ".join(row["text"].replace("[", "(").replace("]", ")").split())
        lines.append(f"    - {text}")
    out = REPO / "data" / "nlu" / "distress_real.yml"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(chosen)} examples of {len(rows)} in {out}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["split", "batches", "labels", "nlu"])
    parser.add_argument("out", nargs="?", type=Path)
    parser.add_argument("--pack", type=Path, default=PACK)
    parser.add_argument("--size", type=int, default=800)
    args = parser.parse_args(argv)
    if args.command in ("batches", "labels") and args.out is None:
        parser.error(f"{args.command} needs a directory")
    if args.command == "split":
        if not args.pack.is_dir():
            print(f"no pack at {args.pack}", file=sys.stderr)
            return 2
        split(args.pack)
    elif args.command == "labels":
        merge_labels(args.out)
    elif args.command == "nlu":
        distress_nlu()
    else:
        batches(args.out, args.size)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
