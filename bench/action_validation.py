"""Time of the Rasa server's check of one action server answer: Rasa's own method against
bot/rasa/patches/speedups.py's (the figure docs/evaluation.md and speedups.py quote). Prints
figures only.

    .venv/bin/python bench/action_validation.py [--calls 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# a check-in form's answer: slots, the next requested slot, the loop, a reply with buttons
ANSWER = {
    "events": [
        {"event": "slot", "timestamp": None, "name": "mood", "value": 4},
        {"event": "slot", "timestamp": None, "name": "requested_slot", "value": "craving"},
        {"event": "active_loop", "timestamp": None, "name": "checkin_form"},
    ],
    "responses": [{"text": "How strong?", "buttons": [{"title": "2", "payload": "2"}]}],
}


def main() -> int:
    """Median and p95 per call of each check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    from rasa.core.actions.action import RemoteAction

    from bot.rasa.patches.speedups import RASA_VALIDATE_ACTION_RESULT, validate_action_result

    action = RemoteAction("validate_checkin_form", None)
    for name, check in (("rasa", RASA_VALIDATE_ACTION_RESULT), ("ours", validate_action_result)):
        check(action, ANSWER)  # warm up (ours builds its validator here)
        times = []
        for _ in range(args.calls):
            start = time.perf_counter()
            check(action, ANSWER)
            times.append((time.perf_counter() - start) * 1000)
        p95 = sorted(times)[int(0.95 * (len(times) - 1))]
        print(f"{name:5s} p50 {statistics.median(times):6.2f} ms  p95 {p95:6.2f} ms per call")
    return 0


if __name__ == "__main__":
    sys.exit(main())
