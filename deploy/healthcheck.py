"""Health check for every role of the IOP Assistant image (deploy/Dockerfile).

Used as the image's Docker HEALTHCHECK (one image, several roles: the role is read from the
container's main command, /proc/1/cmdline) and as the worker's liveness probe in Kubernetes
(deploy/k8s/worker.yaml), where the servers have HTTP probes of their own.

    rasa run ... --port P                         GET http://127.0.0.1:P/         200
    python -m bot.apps.action_server              GET http://127.0.0.1:P/health   200
    python -m bot.apps.staff / bot.apps.web       GET http://127.0.0.1:P/healthz  200
    python -m bot worker                          its database heartbeat is at most --max-age old
    anything else (a job)                         healthy: nothing to check

The paths and default ports are bot/ops/stack.py's ready URLs and the servers' own defaults
(tests/deploy/test_manifests.py keeps them equal). Exit status 0: healthy, 1: not.

    python deploy/healthcheck.py [--max-age SECONDS] [-- COMMAND ...]
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

# role -> (default port, path of the URL that answers 200 once the server is ready)
HTTP_ROLES = {
    "rasa": (5005, "/"),
    "bot.apps.action_server": (5055, "/health"),
    "bot.apps.staff": (8000, "/healthz"),
    "bot.apps.web": (8080, "/healthz"),
}
WORKER = "bot worker"
# The worker beats every 15 s; the staff app calls it stopped after 2 minutes of silence.
DEFAULT_MAX_AGE_S = 300


def role_of(command: list[str]) -> str | None:
    """The role a container's main command runs: a key of HTTP_ROLES, WORKER, or None."""
    names = [Path(part).name for part in command]
    if "rasa" in names:
        index = names.index("rasa")
        return "rasa" if names[index + 1 : index + 2] == ["run"] else None
    if "-m" in command:
        index = command.index("-m")
        module = command[index + 1] if index + 1 < len(command) else ""
        if module in HTTP_ROLES:
            return module
        if module == "bot" and command[index + 2 : index + 3] == ["worker"]:
            return WORKER
    return None


def port_of(command: list[str], default: int) -> int:
    """The value of --port (or -p) in `command`, else `default`."""
    for index, part in enumerate(command):
        if part in ("--port", "-p") and index + 1 < len(command):
            return int(command[index + 1])
        if part.startswith("--port="):
            return int(part.split("=", 1)[1])
    return default


def url_for(command: list[str]) -> str | None:
    """The URL a server started by `command` answers once ready; None if it serves no HTTP."""
    role = role_of(command)
    if role not in HTTP_ROLES:
        return None
    default_port, path = HTTP_ROLES[role]
    return f"http://127.0.0.1:{port_of(command, default_port)}{path}"


def http_ok(url: str, timeout: float = 5) -> bool:
    """Whether GET `url` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
        return False


def worker_alive(max_age_s: float, database_url: str | None = None) -> bool:
    """Whether the worker's heartbeat (bot/db/alert_outbox.py) is at most `max_age_s` old."""
    from bot.db.alert_outbox import WORKER_NAME, last_beat
    from bot.db.engine import get_sessionmaker
    from bot.db.models import utcnow

    try:
        with get_sessionmaker(database_url)() as session:
            beat = last_beat(session, WORKER_NAME)
    except Exception as error:  # noqa: BLE001 - the database is away: report, never crash
        print(f"worker heartbeat unreadable ({type(error).__name__})", file=sys.stderr)
        return False
    return beat is not None and utcnow() - beat <= timedelta(seconds=max_age_s)


def main_command() -> list[str]:
    """The container's main command (PID 1's arguments)."""
    raw = Path("/proc/1/cmdline").read_bytes()
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def main(argv: list[str] | None = None) -> int:
    """Check the role's health; 0 when healthy."""
    parser = argparse.ArgumentParser(prog="healthcheck.py", description=__doc__.split("\n")[0])
    parser.add_argument("--max-age", type=float, default=DEFAULT_MAX_AGE_S)
    parser.add_argument("command", nargs="*", help="the main command (default: PID 1's)")
    args = parser.parse_args(argv)
    command = args.command or main_command()
    role = role_of(command)
    if role == WORKER:
        # the application's modules live in the repository root, one level above this file
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        return 0 if worker_alive(args.max_age) else 1
    url = url_for(command)
    if url is None:
        return 0
    return 0 if http_ok(url) else 1


if __name__ == "__main__":
    sys.exit(main())
