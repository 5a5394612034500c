"""Our Rasa NLU graph components (config.yml names them), their sentence encoders, and how to read
their pipeline. Their corpora and patterns live in data/crisis/."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


def pipeline_entry(name: str, section: str = "pipeline") -> dict[str, Any]:
    """The first component of config.yml's pipeline (or `section`: "policies") named `name` (or
    ending in `.name`)."""
    import yaml

    from bot.settings import REPO_ROOT

    entries = yaml.safe_load((REPO_ROOT / "config.yml").read_text(encoding="utf-8"))[section]
    return next(c for c in entries if c["name"] == name or c["name"].endswith(f".{name}"))


@lru_cache(maxsize=1)
def load_spacy() -> Any:
    """The spaCy model as Rasa's SpacyNLP loads it: path from config.yml, parser disabled."""
    import spacy

    from bot.settings import REPO_ROOT

    return spacy.load(REPO_ROOT / pipeline_entry("SpacyNLP")["model"], disable=["parser"])
