"""Short messages' latency while other visitors' maximum-length messages are in flight.

Starts the stack on free ports with throwaway SQLite databases. Sends a round of short
messages (FAQ questions and a crisis) and a few long ones one at a time on a quiet server, then
the short round again while `--long` other visitors each keep a 2,000-character message in
flight (a new one as soon as the last is answered). Prints the short messages' latency in both
phases, the crisis messages' own, and the long messages' latency.

    .venv/bin/python bench/long_messages.py [--long 4] [--rounds 3] [--model models/iop.tar.gz]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.latency import percentile, start_stack, timed  # noqa: E402
from bot.settings import MAX_MESSAGE_CHARS  # noqa: E402

SHORT = [
    "what is an intensive outpatient program?",
    "how much does it cost?",
    "I want to die",
    "is it private?",
    "I have the pills lined up tonight",
    "how long does the program last?",
]
CRISIS = {"I want to die", "I have the pills lined up tonight"}
# An ordinary long post: sentences of everyday length, as many as the channel takes.
SENTENCES = [
    "I went to the store today and bought some bread.",
    "My sister called me about the weekend plans.",
    "Work has been really busy lately with the deadlines.",
    "I am not sure whether the program fits my schedule.",
    "Fine.",
    "We talked for a while.",
]


def long_message() -> str:
    text, n = "", 0
    while len(text) < MAX_MESSAGE_CHARS:
        text += SENTENCES[n % len(SENTENCES)] + " "
        n += 1
    return text[:MAX_MESSAGE_CHARS].strip()


def short_round(url: str, rounds: int) -> dict[str, list[float]]:
    """Each short message `rounds` times, one at a time, each from a new visitor."""
    times: dict[str, list[float]] = {"short": [], "crisis": []}
    for _ in range(rounds):
        for text in SHORT:
            took = timed(url, uuid.uuid4().hex, text)
            times["crisis" if text in CRISIS else "short"].append(took)
    return times


def keep_long_in_flight(url: str, stop: threading.Event, took: list[float]) -> None:
    text = long_message()
    while not stop.is_set():
        took.append(timed(url, uuid.uuid4().hex, text))


def line(label: str, values: list[float]) -> str:
    if not values:
        return f"{label:<34} n=0"
    return (
        f"{label:<34} n={len(values):<4} p50 {percentile(values, 50):6.0f} ms  "
        f"p95 {percentile(values, 95):6.0f} ms  max {max(values) * 1000:6.0f} ms  "
        f"mean {statistics.mean(values) * 1000:6.0f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", type=int, default=4, help="long messages kept in flight")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", type=Path, default=REPO / "models" / "iop.tar.gz")
    args = parser.parse_args()
    stack, _ = start_stack(args.model)
    long_times: list[float] = []
    try:
        url = f"{stack.rasa_url}/webhooks/rest/webhook"
        timed(url, "warm-up", "hello")
        timed(url, "warm-up", long_message())
        quiet = short_round(url, args.rounds)
        alone = [timed(url, uuid.uuid4().hex, long_message()) for _ in range(args.rounds)]
        stop = threading.Event()
        senders = [
            threading.Thread(target=keep_long_in_flight, args=(url, stop, long_times))
            for _ in range(args.long)
        ]
        for sender in senders:
            sender.start()
        time.sleep(1.0)  # every long sender has a message in flight
        busy = short_round(url, args.rounds)
        stop.set()
        for sender in senders:
            sender.join()
    finally:
        stack.stop()
    print(f"one Rasa process, 2 cores; long messages: {MAX_MESSAGE_CHARS} characters")
    print(line("short, quiet server", quiet["short"]))
    print(line("crisis, quiet server", quiet["crisis"]))
    print(line("a long message, quiet server", alone))
    print(line(f"short, {args.long} long in flight", busy["short"]))
    print(line(f"crisis, {args.long} long in flight", busy["crisis"]))
    print(line("the long messages", long_times))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
