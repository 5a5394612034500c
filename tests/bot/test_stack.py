"""bot/stack.py pieces that need no running server."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import yaml

from bot.stack import Service, Stack, StackError, endpoints_for


def test_endpoints_point_at_the_chosen_action_port(tmp_path: Path) -> None:
    path = endpoints_for(6123, tmp_path)
    endpoints = yaml.safe_load(path.read_text())
    assert endpoints["action_endpoint"]["url"] == "http://127.0.0.1:6123/webhook"


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="make train"):
        Stack(model=tmp_path / "none.tar.gz", log_dir=tmp_path).start()


def test_a_service_that_dies_at_start_up_is_reported(tmp_path: Path) -> None:
    service = Service(
        name="broken",
        command=[sys.executable, "-c", "import sys; sys.exit(3)"],
        ready_url="http://127.0.0.1:9/",
        log_path=tmp_path / "broken.log",
    )
    service.start(env={})
    with pytest.raises(StackError, match="exited during start-up"):
        service.wait_ready(time.monotonic() + 10)


def test_stop_ends_the_process_group(tmp_path: Path) -> None:
    service = Service(
        name="sleeper",
        command=[sys.executable, "-c", "import time; time.sleep(60)"],
        ready_url="http://127.0.0.1:9/",
        log_path=tmp_path / "sleeper.log",
    )
    service.start(env={})
    service.stop(timeout=5)
    assert service.process is not None and service.process.poll() is not None
    service.stop()  # stopping twice is harmless
