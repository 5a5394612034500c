"""bot/ops/stack.py pieces that need no running server."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import yaml

from bot.ops.stack import Service, Stack, StackError, endpoints_for


def test_endpoints_point_at_the_chosen_action_port(tmp_path: Path) -> None:
    path = endpoints_for(6123, tmp_path, "s3cret-token")
    endpoints = yaml.safe_load(path.read_text())
    assert endpoints["action_endpoint"]["url"] == "http://127.0.0.1:6123/webhook"
    assert endpoints["action_endpoint"]["headers"] == {"X-Action-Token": "s3cret-token"}
    assert path.stat().st_mode & 0o077 == 0  # the secret: readable by this user only


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


def _service(tmp_path: Path, name: str, code: str) -> Service:
    return Service(
        name=name,
        command=[sys.executable, "-c", code],
        ready_url=None,
        log_path=tmp_path / f"{name}.log",
    )


def test_a_dead_service_is_restarted_with_growing_backoff_and_the_others_keep_serving(
    tmp_path: Path,
) -> None:
    steady = _service(tmp_path, "steady", "import time; time.sleep(120)")
    crashing = _service(tmp_path, "crashing", "import sys; sys.exit(3)")
    stack = Stack(model=tmp_path / "model.tar.gz", log_dir=tmp_path, services=[steady, crashing])
    for service in stack.services:
        service.start(env={})
    steady_pid = steady.process.pid
    try:
        delays = []
        now = time.monotonic()
        for _ in range(4):
            crashing.process.wait(timeout=10)
            (stopped,) = stack.supervise(now)
            assert stopped.startswith("crashing stopped (exit code 3); restarting in")
            delays.append(crashing.restart_at - now)
            assert stack.supervise(now + delays[-1] - 0.1) == []  # not before its time
            now += delays[-1]
            (restarted,) = stack.supervise(now)
            assert restarted == f"crashing restarted ({len(delays)} so far)"
        assert delays == [1, 2, 4, 8]
        assert steady.running() and steady.process.pid == steady_pid
    finally:
        stack.stop()


def test_backoff_starts_again_once_a_service_stayed_up(tmp_path: Path) -> None:
    service = _service(tmp_path, "flaky", "import time; time.sleep(120)")
    stack = Stack(model=tmp_path / "model.tar.gz", log_dir=tmp_path, services=[service])
    service.start(env={})
    try:
        service.failures = 5  # it had been dying before this start
        assert stack.supervise(service.started_at + 59) == []
        assert service.failures == 5
        # 60 s and a little: (t + 60) - t can come out a hair under 60 in floating point
        assert stack.supervise(service.started_at + 60.01) == []
        assert service.failures == 0
        service.stop()
        (stopped,) = stack.supervise()
        assert "restarting in 1 s" in stopped
    finally:
        stack.stop()


def test_rasa_trusts_the_websites_proxy_only_when_the_website_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IOP_CHAT_TRUSTED_PROXIES", raising=False)
    model = tmp_path / "model.tar.gz"
    # the website's front server appends the browser's address to X-Forwarded-For
    assert Stack(model=model, web_port=8080)._env()["IOP_CHAT_TRUSTED_PROXIES"] == "1"
    assert "IOP_CHAT_TRUSTED_PROXIES" not in Stack(model=model)._env()
    # a deployment with a reverse proxy in front says how many hops it has
    behind_nginx = Stack(model=model, web_port=8080, extra_env={"IOP_CHAT_TRUSTED_PROXIES": "2"})
    assert behind_nginx._env()["IOP_CHAT_TRUSTED_PROXIES"] == "2"


def test_several_servers_need_a_shared_lock_store(tmp_path: Path) -> None:
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"")
    stack = Stack(model=model, replicas=2, log_dir=tmp_path, extra_env={"LOCK_STORE_URL": ""})
    with pytest.raises(StackError, match="LOCK_STORE_URL"):
        stack.start()
    assert stack.services == []


def test_replicas_listen_above_the_balancers_ports(tmp_path: Path) -> None:
    stack = Stack(model=tmp_path / "m.tar.gz", rasa_port=6000, action_port=6100, replicas=2)
    assert stack.rasa_backend_ports == [6001, 6002]
    assert stack.action_backend_ports == [6101, 6102]
    assert stack.rasa_url == "http://127.0.0.1:6000"
    single = Stack(model=tmp_path / "m.tar.gz", rasa_port=6000, action_port=6100)
    assert (single.rasa_backend_ports, single.action_backend_ports) == ([6000], [6100])
