"""Start, watch and stop the assistant's processes (used by `python -m bot serve` and tests)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.ops.balancer import nginx_binary, nginx_command, write_nginx_config
from bot.settings import ACTION_TOKEN_ENV, ACTION_TOKEN_HEADER, REPO_ROOT

# Every Rasa process runs with these: no telemetry (SPEC §6), loopback only, quiet TensorFlow.
SERVICE_ENV = {
    "RASA_TELEMETRY_ENABLED": "false",
    "SANIC_HOST": "127.0.0.1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONUNBUFFERED": "1",
    # Sanic refuses bodies over 1 MB before reading them (chat messages are tiny).
    "SANIC_REQUEST_MAX_SIZE": str(1024 * 1024),
}
LOOPBACK = "127.0.0.1"
# The website's front server (bot/apps/web/proxy.py) forwards the chat socket to Rasa and appends
# the browser's address to X-Forwarded-For: one proxy the socket.io channel trusts
# (bot/rasa/channels.py).
CHAT_PROXIES_ENV = "IOP_CHAT_TRUSTED_PROXIES"


# A service that dies is restarted after 1 s, then 2, 4 ... at most 60 s while it keeps dying;
# once it has stayed up for STABLE_AFTER seconds the next failure starts again at 1 s.
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 60.0
STABLE_AFTER = 60.0


class StackError(RuntimeError):
    """A service did not start or stopped unexpectedly."""


@dataclass
class Service:
    """One child process with the URL that answers once it is ready."""

    name: str
    command: list[str]
    # None: ready once the process has stayed up for a moment (the worker serves no HTTP).
    ready_url: str | None
    log_path: Path
    process: subprocess.Popen | None = field(default=None, repr=False)
    # Supervision (Stack.supervise): when it last started, failures in a row, pending restart.
    started_at: float = 0.0
    failures: int = 0
    restarts: int = 0
    restart_at: float | None = None
    terminating: bool = False

    def running(self) -> bool:
        """Whether the process was started and has not exited."""
        return self.process is not None and self.process.poll() is None

    def start(self, env: dict[str, str]) -> None:
        """Launch the process in its own process group, output to its log file."""
        self.started_at = time.monotonic()
        self.terminating = False
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait_ready(self, deadline: float) -> None:
        """Poll the ready URL until it answers 200, the process dies or the deadline passes."""
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise StackError(f"{self.name} exited during start-up; see {self.log_path}")
            if self.ready_url is None:
                time.sleep(1)
                if self.process.poll() is None:
                    return
                continue
            try:
                with urllib.request.urlopen(self.ready_url, timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.5)
        raise StackError(f"{self.name} not ready after start-up timeout; see {self.log_path}")

    def terminate(self) -> None:
        """Ask the process group to stop (SIGTERM) once, without waiting."""
        if self.process is None or self.process.poll() is not None or self.terminating:
            return
        self.terminating = True
        # The process leads its own group (start_new_session): this reaches its children too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)

    def stop(self, timeout: float = 15) -> None:
        """Terminate the process group; kill it if it does not exit in time."""
        if self.process is None:
            return
        self.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=timeout)


def _bin(name: str) -> str:
    """A console script from the interpreter's own environment (the project's venv)."""
    return str(Path(sys.executable).parent / name)


def endpoints_for(action_port: int, directory: Path, action_token: str) -> Path:
    """endpoints.yml with the action server URL pointed at `action_port` and the shared secret
    the action server asks for (bot/apps/action_server.py), in a file only this user can read."""
    endpoints = yaml.safe_load((REPO_ROOT / "endpoints.yml").read_text(encoding="utf-8")) or {}
    action = endpoints.setdefault("action_endpoint", {})
    action["url"] = f"http://{LOOPBACK}:{action_port}/webhook"
    action.setdefault("headers", {})[ACTION_TOKEN_HEADER] = action_token
    path = directory / "endpoints.yml"
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(endpoints, sort_keys=False), encoding="utf-8")
    return path


@dataclass
class Stack:
    """The Rasa server and the action server (and, when given ports, the staff app and the
    website), started and stopped together. With `replicas` above 1 (the production profile),
    that many Rasa servers and action servers run behind nginx (bot/ops/balancer.py), which takes
    `rasa_port` and `action_port`; the servers behind it listen on the ports just above those."""

    model: Path
    rasa_port: int = 5005
    action_port: int = 5055
    replicas: int = 1
    # The staff app (`python -m bot.apps.staff`) and the website (`python -m bot.apps.web`) start
    # only when they have a port; each answers GET /healthz with 200 once it is ready.
    staff_port: int | None = None
    web_port: int | None = None
    # The alert and reminder worker (`python -m bot worker`).
    worker: bool = False
    log_dir: Path = REPO_ROOT / "var" / "log"
    # e.g. DATABASE_URL for the action server; overrides the inherited environment
    extra_env: dict[str, str] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)
    _config_dir: Path | None = field(default=None, repr=False)
    _action_token: str | None = field(default=None, repr=False)

    @property
    def rasa_url(self) -> str:
        """Base URL of the Rasa server."""
        return f"http://{LOOPBACK}:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        """Base URL of the action server."""
        return f"http://{LOOPBACK}:{self.action_port}"

    def _backends(self, port: int) -> list[int]:
        """The servers' own ports behind the balancer on `port` (or `port` itself, alone)."""
        if self.replicas == 1:
            return [port]
        return [port + 1 + i for i in range(self.replicas)]

    @property
    def rasa_backend_ports(self) -> list[int]:
        """The Rasa servers' own ports (the balancer's is `rasa_port`)."""
        return self._backends(self.rasa_port)

    @property
    def action_backend_ports(self) -> list[int]:
        """The action servers' own ports (the balancer's is `action_port`)."""
        return self._backends(self.action_port)

    @property
    def rasa_backend_urls(self) -> list[str]:
        """Base URLs of each Rasa server, bypassing the balancer."""
        return [f"http://{LOOPBACK}:{port}" for port in self.rasa_backend_ports]

    def service(self, name: str) -> Service:
        """The running service called `name` (e.g. "rasa server 2")."""
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)

    @property
    def staff_url(self) -> str:
        """Base URL of the staff app."""
        return f"http://{LOOPBACK}:{self.staff_port}"

    @property
    def web_url(self) -> str:
        """Base URL of the public website."""
        return f"http://{LOOPBACK}:{self.web_port}"

    @property
    def action_token(self) -> str:
        """The secret Rasa shows the action server: IOP_ACTION_TOKEN, else one per stack."""
        if self._action_token is None:
            self._action_token = (
                self.extra_env.get(ACTION_TOKEN_ENV)
                or os.environ.get(ACTION_TOKEN_ENV)
                or secrets.token_urlsafe(32)
            )
        return self._action_token

    def _env(self) -> dict[str, str]:
        env = {**os.environ, **SERVICE_ENV, **self.extra_env, ACTION_TOKEN_ENV: self.action_token}
        if self.web_port:
            # an explicit value wins: e.g. 2 with a reverse proxy (nginx) in front of the website
            env.setdefault(CHAT_PROXIES_ENV, "1")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        return env

    def start(self, timeout: float = 180) -> None:
        """Start both servers and wait until each answers; stop everything on failure."""
        if not self.model.is_file():
            raise StackError(f"no trained model at {self.model}; run `make train`")
        if self.replicas < 1:
            raise StackError("replicas must be at least 1")
        env = self._env()
        if self.replicas > 1:
            # several Rasa servers must share their conversation locks (SPEC §6)
            if not env.get("LOCK_STORE_URL"):
                raise StackError("several Rasa servers need LOCK_STORE_URL (a Redis lock store)")
            if nginx_binary() is None:
                raise StackError("several servers run behind nginx: run scripts/ensure-nginx.sh")
        self._config_dir = config_dir = Path(tempfile.mkdtemp(prefix="iop-stack-"))
        endpoints = endpoints_for(self.action_port, config_dir, self.action_token)
        numbered = self.replicas > 1
        self.services = [
            Service(
                name=f"action server {i + 1}" if numbered else "action server",
                command=[sys.executable, "-m", "bot.apps.action_server", "--port", str(port)],
                ready_url=f"http://{LOOPBACK}:{port}/health",
                log_path=self.log_dir / (f"actions-{i + 1}.log" if numbered else "actions.log"),
            )
            for i, port in enumerate(self.action_backend_ports)
        ] + [
            Service(
                name=f"rasa server {i + 1}" if numbered else "rasa server",
                command=[
                    _bin("rasa"),
                    "run",
                    "--model",
                    str(self.model),
                    "--interface",
                    LOOPBACK,
                    "--port",
                    str(port),
                    "--endpoints",
                    str(endpoints),
                    "--credentials",
                    str(REPO_ROOT / "credentials.yml"),
                ],
                ready_url=f"http://{LOOPBACK}:{port}/",
                log_path=self.log_dir / (f"rasa-{i + 1}.log" if numbered else "rasa.log"),
            )
            for i, port in enumerate(self.rasa_backend_ports)
        ]
        if numbered:
            balancer = config_dir / "nginx"
            conf = write_nginx_config(
                balancer,
                host=LOOPBACK,
                rasa_port=self.rasa_port,
                rasa_backends=self.rasa_backend_ports,
                action_port=self.action_port,
                action_backends=self.action_backend_ports,
            )
            self.services.append(
                Service(
                    name="balancer",
                    command=nginx_command(conf),
                    # ready once it passes a request to a Rasa server that answers
                    ready_url=f"{self.rasa_url}/",
                    log_path=self.log_dir / "nginx.log",
                )
            )
        if self.worker:
            self.services.append(
                Service(
                    name="worker",
                    command=[sys.executable, "-m", "bot", "worker"],
                    ready_url=None,
                    log_path=self.log_dir / "worker.log",
                )
            )
        if self.staff_port:
            self.services.append(
                Service(
                    name="staff app",
                    command=[
                        sys.executable,
                        "-m",
                        "bot.apps.staff",
                        "--port",
                        str(self.staff_port),
                    ],
                    ready_url=f"{self.staff_url}/healthz",
                    log_path=self.log_dir / "staff.log",
                )
            )
        if self.web_port:
            self.services.append(
                Service(
                    name="website",
                    command=[
                        sys.executable,
                        "-m",
                        "bot.apps.web",
                        "--port",
                        str(self.web_port),
                        "--rasa-url",
                        self.rasa_url,
                    ],
                    ready_url=f"{self.web_url}/healthz",
                    log_path=self.log_dir / "web.log",
                )
            )
        deadline = time.monotonic() + timeout
        try:
            for service in self.services:
                service.start(env)
            for service in self.services:
                service.wait_ready(deadline)
        except BaseException:
            self.stop()
            raise

    def supervise(self, now: float | None = None) -> list[str]:
        """Restart the services that died, each after its own backoff, leaving the others
        serving; returns one line per thing done, for the operator's log (no message text)."""
        now = time.monotonic() if now is None else now
        done: list[str] = []
        for service in self.services:
            if service.running():
                if service.failures and now - service.started_at >= STABLE_AFTER:
                    service.failures = 0
                continue
            if service.restart_at is None:
                delay = min(MAX_BACKOFF, FIRST_BACKOFF * 2**service.failures)
                service.failures += 1
                service.restart_at = now + delay
                code = service.process.returncode if service.process is not None else None
                done.append(
                    f"{service.name} stopped (exit code {code}); restarting in {delay:.0f} s, "
                    f"see {service.log_path}"
                )
            elif now >= service.restart_at:
                service.restart_at = None
                service.start(self._env())
                service.restarts += 1
                done.append(f"{service.name} restarted ({service.restarts} so far)")
        return done

    def stop(self, timeout: float = 15) -> None:
        """Stop every service: all asked to stop at once (each Rasa server takes seconds to
        shut down), then each waited for and killed if it does not exit in time."""
        for service in reversed(self.services):
            service.terminate()
        for service in reversed(self.services):
            service.stop(timeout)
        if self._config_dir is not None:
            shutil.rmtree(self._config_dir, ignore_errors=True)
