"""Rasa's own dialogue test: every test story in tests/stories must be predicted exactly.

Rasa compares the top-level intent and every action; it does not compare the FAQ topic the
ResponseSelector picks (`faq/<topic>`), so tests/conversations/test_faq.py checks each topic's
answer through the REST channel. Run in this process on the session's loaded model (what `rasa
test core --fail-on-prediction-errors` does, without loading the model a second time).
"""

from __future__ import annotations

import json
from pathlib import Path

from rasa.core.test import test as rasa_test_stories

from bot.settings import REPO_ROOT
from tests.conftest import run_async


def test_rasa_test_stories_pass(agent, tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    run_async(
        rasa_test_stories(
            str(REPO_ROOT / "tests" / "stories"),
            agent,
            out_directory=str(results),
            disable_plotting=True,
        )
    )
    failed = (results / "failed_test_stories.yml").read_text(encoding="utf-8")
    assert "None of the test stories failed" in failed, failed
    conversations = json.loads((results / "story_report.json").read_text())["conversation_accuracy"]
    assert conversations["correct"] == conversations["total"] > 20, conversations
