"""Rasa's own dialogue test: every test story in tests/stories must be predicted exactly.

Rasa compares the top-level intent and every action; it does not compare the FAQ topic the
ResponseSelector picks (`faq/<topic>`), so tests/conversations/test_faq.py checks each topic's
answer through the REST channel.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.settings import REPO_ROOT


def test_rasa_test_stories_pass(model_path: Path, tmp_path: Path) -> None:
    """`rasa test core --fail-on-prediction-errors` on tests/stories: NLU and dialogue."""
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "rasa"),
            "test",
            "core",
            "--model",
            str(model_path),
            "--stories",
            str(REPO_ROOT / "tests" / "stories"),
            "--out",
            str(tmp_path / "results"),
            "--fail-on-prediction-errors",
            "--no-plot",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    failed = tmp_path / "results" / "failed_test_stories.yml"
    detail = (
        failed.read_text() if failed.exists() else result.stdout[-3000:] + result.stderr[-3000:]
    )
    assert result.returncode == 0, detail
