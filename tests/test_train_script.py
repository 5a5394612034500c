"""scripts/train.sh retrains exactly when the training inputs' content changes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from bot.settings import REPO_ROOT

ignore_caches = shutil.ignore_patterns("__pycache__")


def copy_project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(REPO_ROOT / "data", root / "data")
    shutil.copytree(REPO_ROOT / "scripts", root / "scripts")
    shutil.copytree(REPO_ROOT / "heldout", root / "heldout")
    shutil.copytree(
        REPO_ROOT / "bot" / "rasa" / "nlu", root / "bot" / "rasa" / "nlu", ignore=ignore_caches
    )
    for name in ("rasa/policies.py", "domain/safety_check.py"):
        (root / "bot" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / "bot" / name, root / "bot" / name)
    for name in ("config.yml", "domain.yml", "requirements.txt", "requirements-models.txt"):
        shutil.copy(REPO_ROOT / name, root / name)
    return root


def run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(root / "scripts" / "train.sh"), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def fingerprint(root: Path) -> str:
    return run(root, "--fingerprint").stdout.strip()


def test_fingerprint_follows_content_not_file_times(tmp_path: Path) -> None:
    root = copy_project(tmp_path)
    first = fingerprint(root)
    assert len(first) == 64
    (root / "data" / "nlu" / "faq.yml").touch()
    assert fingerprint(root) == first
    with (root / "data" / "nlu" / "faq.yml").open("a") as f:
        f.write("    - one more example\n")
    assert fingerprint(root) != first
    (root / "data" / "nlu" / "new.yml").write_text("version: '3.1'\n")
    assert fingerprint(root) != first


def test_crisis_classifier_inputs_are_training_inputs(tmp_path: Path) -> None:
    """The crisis classifier trains on the corpora config.yml names and the NLU code; a safety
    set it does not train on is no training input."""
    root = copy_project(tmp_path)
    first = fingerprint(root)
    (root / "heldout" / "safety" / "blind9.yml").write_text("crisis: {}\nbenign: []\n")
    (root / "heldout" / "real" / "cssrs.csv").write_text("held out, never trained\n")
    assert fingerprint(root) == first
    for path in (
        root / "data" / "real" / "cssrs.csv",
        root / "data" / "crisis" / "crisis_corpus.yml",
        root / "data" / "crisis" / "written" / "dev.yml",
        root / "bot" / "rasa" / "nlu" / "crisis_classifier.py",
        root / "bot" / "rasa" / "policies.py",
        root / "requirements-models.txt",
    ):
        original = path.read_bytes()
        path.write_bytes(original + b"\n# changed\n")
        assert fingerprint(root) != first, path
        path.write_bytes(original)
        assert fingerprint(root) == first, path


def test_up_to_date_model_is_not_retrained(tmp_path: Path) -> None:
    root = copy_project(tmp_path)
    (root / "models").mkdir()
    (root / "models" / "iop.tar.gz").write_bytes(b"model")
    (root / "models" / "iop.fingerprint").write_text(fingerprint(root) + "\n")
    result = run(root)
    # there is no .venv in the copy: reaching `rasa train` would fail
    assert result.returncode == 0, result.stderr
    assert "model up to date" in result.stdout


def test_changed_config_triggers_training(tmp_path: Path) -> None:
    root = copy_project(tmp_path)
    (root / "models").mkdir()
    (root / "models" / "iop.tar.gz").write_bytes(b"model")
    (root / "models" / "iop.fingerprint").write_text(fingerprint(root) + "\n")
    with (root / "config.yml").open("a") as f:
        f.write("# changed\n")
    result = run(root)
    assert "training models/iop.tar.gz" in result.stdout
    assert result.returncode != 0  # it tried to run .venv/bin/rasa, which the copy lacks
    assert not (root / "models" / "iop.fingerprint").exists()


def test_rasas_cache_is_keyed_by_the_code_the_model_trains_with() -> None:
    """scripts/trained_code.py: the trained components' and policies' own modules and what they
    import from bot/, and not the channels, servers or apps (a change there keeps the cache)."""
    listed = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "scripts" / "trained_code.py"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert listed.returncode == 0, listed.stderr[-500:]
    files = set(listed.stdout.split())
    assert {
        "bot/rasa/nlu/crisis_classifier.py",
        "bot/rasa/nlu/out_of_scope_gate.py",
        "bot/rasa/nlu/crisis_matcher.py",
        "bot/rasa/nlu/encoders.py",
        "bot/rasa/policies.py",
        "bot/domain/safety_check.py",
    } <= files
    assert not files & {
        "bot/rasa/channels.py",
        "bot/ops/stack.py",
        "bot/ops/cli.py",
        "bot/db/staff_accounts.py",
    }
    assert all(name.startswith("bot/") and name.endswith(".py") for name in files)


def test_no_held_out_set_is_named_by_the_training_config() -> None:
    """heldout/README.md: config.yml trains on no file in heldout/, and every file it names
    exists (a corpus moved without its config entry would silently train on less)."""
    import re

    named = re.findall(r"[A-Za-z0-9_./-]+\.(?:yml|csv)", (REPO_ROOT / "config.yml").read_text())
    corpora = [name for name in named if "/" in name]
    assert corpora, "config.yml names the crisis classifier's corpora"
    assert not [name for name in corpora if name.startswith("heldout/")]
    assert all((REPO_ROOT / name).is_file() for name in corpora), corpora
