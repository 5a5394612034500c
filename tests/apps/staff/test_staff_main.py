"""`python -m bot.apps.staff`: the address it listens on (127.0.0.1 unless --host says otherwise).

Nothing here listens beyond loopback: the wider address is only handed to a stand-in for
waitress.serve."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.apps.staff import __main__ as staff_main
from bot.ops.stack import Service
from bot.settings import get_settings
from tests.conftest import free_port, listening_sockets


def test_the_host_is_loopback_unless_given() -> None:
    default = staff_main.parse_args([])
    assert (default.host, default.port) == ("127.0.0.1", 8000)
    given = staff_main.parse_args(["--host", "0.0.0.0", "--port", "8001"])  # noqa: S104
    assert (given.host, given.port) == ("0.0.0.0", 8001)  # noqa: S104
    assert staff_main.parse_args(["--host=::"]).host == "::"


@pytest.mark.parametrize(
    ("argv", "host", "shown"),
    [
        ([], "127.0.0.1", "http://127.0.0.1:8123"),
        (["--host", "0.0.0.0"], "0.0.0.0", "http://0.0.0.0:8123"),  # noqa: S104
        (["--host", "::"], "::", "http://[::]:8123"),
    ],
)
def test_main_serves_on_the_host_given(
    argv: list[str],
    host: str,
    shown: str,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import waitress

    served: dict[str, Any] = {}
    monkeypatch.setattr(waitress, "serve", lambda app, **options: served.update(options))
    monkeypatch.setenv("DATABASE_URL", db_url)
    get_settings.cache_clear()
    assert staff_main.main([*argv, "--port", "8123"]) == 0
    assert served["host"] == host and served["port"] == 8123
    assert f"staff app on {shown}" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [[], ["--host", "127.0.0.1"]], ids=["default", "explicit"])
def test_python_m_bot_apps_staff_listens_on_loopback_only(
    argv: list[str], db_url: str, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "staff.log"
    service = Service(
        name="staff app",
        command=[sys.executable, "-m", "bot.apps.staff", *argv, "--port", str(port)],
        ready_url=f"http://127.0.0.1:{port}/healthz",
        log_path=log,
    )
    service.start(env={**os.environ, "DATABASE_URL": db_url})
    try:
        service.wait_ready(time.monotonic() + 60)
        assert requests.get(f"http://localhost:{port}/healthz", timeout=10).status_code == 200
        assert service.process is not None
        sockets = listening_sockets(service.process.pid)
        if sockets is not None:  # /proc (Linux): every socket it listens on
            assert sockets == {("127.0.0.1", port)}
    finally:
        service.stop()
    assert f"staff app on http://127.0.0.1:{port}" in log.read_text(errors="replace")
