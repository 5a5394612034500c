"""Real people's words in the repository: split without leaks, read labels, attribution."""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from bot.rasa.nlu import real_data
from bot.settings import REPO_ROOT

FILES = ("cssrs.csv", "senticnet.csv", "goemotions.csv", "out_of_scope.csv")


def read(directory, name) -> list[dict[str, str]]:
    with (directory / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("name", FILES)
def test_held_out_rows_live_apart_and_nothing_else_does(name: str) -> None:
    kept, held = read(real_data.TRAIN_DIR, name), read(real_data.HELDOUT_DIR, name)
    assert {r["part"] for r in kept} <= {"train", "calibration"}
    assert {r["part"] for r in held} == {"heldout"}
    assert not {r["source_id"] for r in kept} & {r["source_id"] for r in held}
    assert not {r["text"].lower() for r in kept} & {r["text"].lower() for r in held} or (
        name == "out_of_scope.csv"  # MedQuAD repeats template questions across foci
    )


def test_an_author_or_a_post_is_never_on_both_sides() -> None:
    """C-SSRS is split by author; SenticNet by post (a title row and its title+body row)."""
    for name, unit in (("cssrs.csv", "author"), ("senticnet.csv", "post_group")):
        kept, held = read(real_data.TRAIN_DIR, name), read(real_data.HELDOUT_DIR, name)
        assert kept and held
        assert not {r[unit] for r in kept} & {r[unit] for r in held}


def test_every_read_row_has_one_of_three_labels_and_a_reason() -> None:
    for directory in (real_data.TRAIN_DIR, real_data.HELDOUT_DIR):
        for name in ("cssrs.csv", "senticnet.csv"):
            rows = read(directory, name)
            labels = Counter(r["human_label"] for r in rows)
            assert set(labels) <= {"crisis", "distress", "ordinary"}, labels
            assert all(r["human_reason"] for r in rows)
        mined = [r for r in read(directory, "goemotions.csv") if r["mined"]]
        assert mined and all(r["human_label"] in real_data.LABELS for r in mined)


def test_the_crisis_classifier_trains_on_the_training_part_only() -> None:
    crisis, other = real_data.crisis_training()
    train_texts = {
        r["text"] for name in FILES for r in read(real_data.TRAIN_DIR, name) if r["part"] == "train"
    }
    assert set(crisis) | set(other) <= train_texts
    assert len(crisis) >= 100 and len(other) >= 2000


def test_distress_is_not_a_crisis_in_training() -> None:
    crisis, _ = real_data.crisis_training()
    distress = {r["text"] for r in real_data.labelled() if r["human_label"] == "distress"}
    assert distress and not distress & set(crisis)


def test_the_licences_and_sources_are_written_down() -> None:
    readme = (real_data.TRAIN_DIR / "README.md").read_text(encoding="utf-8")
    for needed in (
        "Apache-2.0",
        "CC BY 4.0",
        "CC BY-SA 3.0",
        "CC0",
        "Gaur",
        "Demszky",
        "Rastogi",
        "Casanueva",
        "Liu",
        "Coucke",
        "Braun",
        "Kwiatkowski",
        "Ben Abacha",
    ):
        assert needed in readme, needed
    assert (REPO_ROOT / "heldout" / "real" / "README.md").is_file()
