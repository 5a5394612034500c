"""Print our source files (under bot/) that the model's trained components and policies import.

scripts/train.sh names Rasa's training cache by their hash: Rasa's own fingerprints cover the
configuration and the data but not our code, so a change to these files must start an empty
cache, while a change anywhere else (channels, actions, the staff app) keeps it.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
logging.disable(logging.WARNING)

import yaml  # noqa: E402


def trained_modules(config: Path) -> list[str]:
    """The modules of config.yml's components and policies that are ours."""
    loaded = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    steps = (loaded.get("pipeline") or []) + (loaded.get("policies") or [])
    names = [str(step.get("name", "")) for step in steps if isinstance(step, dict)]
    return sorted({name.rsplit(".", 1)[0] for name in names if name.startswith("bot.")})


def main() -> int:
    for module in trained_modules(REPO / "config.yml"):
        importlib.import_module(module)
    package = REPO / "bot"
    ours = set()
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path and Path(path).resolve().is_relative_to(package):
            ours.add(str(Path(path).resolve().relative_to(REPO)))
    print("\n".join(sorted(ours)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
