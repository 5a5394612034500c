"""End-to-end latency and throughput through the REST channel with the real action server.

Starts the stack on free ports with throwaway SQLite databases, then runs conversations from
several simulated visitors at once: an FAQ question, a full pre-assessment by buttons, and a
participant's check-in. Prints latency percentiles per kind of turn and overall throughput.

    .venv/bin/python bench/latency.py [--users 4] [--rounds 3] [--model models/iop.tar.gz]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import requests  # noqa: E402

from bot.db import get_sessionmaker  # noqa: E402
from bot.db.migrate import upgrade  # noqa: E402
from bot.db.participants import enroll  # noqa: E402
from bot.db.staff_accounts import create_api_token  # noqa: E402
from bot.ops.stack import Stack  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.conversations.test_assessment import BUTTON_PATHS  # noqa: E402

FAQ = ["what is an intensive outpatient program?", "how much does it cost?", "is it private?"]
CHECKIN = ["/start_checkin", "4", "2", "Nothing", "No", "Nothing to add"]
# The REST channel's bearer token (a channel API token minted in main()).
HEADERS: dict[str, str] = {}


def timed(url: str, sender: str, text: str, metadata: dict | None = None) -> float:
    """Seconds for one message's round trip."""
    body = {"sender": sender, "message": text, "metadata": metadata or {}}
    start = time.perf_counter()
    response = requests.post(url, json=body, headers=HEADERS, timeout=60)
    response.raise_for_status()
    return time.perf_counter() - start


def visitor(url: str, token: str, rounds: int) -> dict[str, list[float]]:
    """One simulated user: FAQ questions, a pre-assessment, a check-in, `rounds` times."""
    times: dict[str, list[float]] = {"faq": [], "assessment": [], "checkin": []}
    for _ in range(rounds):
        sender = uuid.uuid4().hex
        times["faq"] += [timed(url, sender, text) for text in FAQ]
        times["assessment"] += [timed(url, sender, t) for t in BUTTON_PATHS["iop"]]
        checkin_sender = uuid.uuid4().hex
        meta = {"participant_token": token}
        times["checkin"] += [timed(url, checkin_sender, t, meta) for t in CHECKIN]
    return times


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) in milliseconds."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))
    return ordered[index] * 1000


def start_stack(model: Path, participants: int = 0) -> tuple[Stack, list[str]]:
    """The stack on free ports with throwaway SQLite databases, started, and the tokens of
    `participants` enrolled participants; sets the channel token in HEADERS."""
    work = Path(tempfile.mkdtemp(prefix="iop-bench-"))
    db = f"sqlite:///{work / 'iop.db'}"
    upgrade(db)
    with get_sessionmaker(db)() as session, session.begin():
        tokens = [enroll(session, f"bench {i}").token for i in range(participants)]
        HEADERS["Authorization"] = f"Bearer {create_api_token(session, 'bench', 'channel')[1]}"
    stack = Stack(
        model=model,
        rasa_port=free_port(),
        action_port=free_port(),
        log_dir=work / "logs",
        extra_env={"DATABASE_URL": db, "TRACKER_DATABASE_URL": f"sqlite:///{work / 't.db'}"},
    )
    stack.start()
    return stack, tokens


def main() -> int:
    """Run the load and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", type=Path, default=REPO / "models" / "iop.tar.gz")
    args = parser.parse_args()
    stack, tokens = start_stack(args.model, args.users)
    try:
        url = f"{stack.rasa_url}/webhooks/rest/webhook"
        timed(url, "warm-up", "hello")
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.users) as pool:
            results = list(pool.map(lambda t: visitor(url, t, args.rounds), tokens))
        elapsed = time.perf_counter() - start
    finally:
        stack.stop()
    print(f"{args.users} concurrent users x {args.rounds} rounds, one Rasa process, 2 cores")
    total = 0
    for kind in ("faq", "assessment", "checkin"):
        values = [v for r in results for v in r[kind]]
        total += len(values)
        print(
            f"{kind:<11} n={len(values):<5} p50 {percentile(values, 50):6.0f} ms  "
            f"p95 {percentile(values, 95):6.0f} ms  p99 {percentile(values, 99):6.0f} ms  "
            f"mean {statistics.mean(values) * 1000:6.0f} ms"
        )
    print(f"throughput  {total / elapsed:.1f} messages/s over {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
