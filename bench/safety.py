"""Crisis detection figures: recall on crisis messages, false alarms on look-alike benign ones.

Parses every message of tests/safety/messages.yml as a conversation's first turn with the trained
model (NLU pipeline including the spaCy crisis rule layer); a message escalates when its intent is
`crisis`, which the rules answer with the crisis lines and an urgent flag. Prints figures only.

    .venv/bin/python bench/safety.py [--model models/iop.tar.gz] [--misses]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections import Counter
from pathlib import Path

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # config.yml names our own NLU components by module path
MESSAGES = REPO / "tests" / "safety" / "messages.yml"


def load_messages(path: Path = MESSAGES) -> tuple[list[tuple[str, str]], list[str]]:
    """(text, kind) crisis messages and benign texts."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [(m["text"], m["kind"]) for m in data["crisis"]], [m["text"] for m in data["benign"]]


async def classify(model: Path, texts: list[str]) -> list[tuple[bool, str]]:
    """(escalates, which layer) for every text."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    results = []
    for text in texts:
        parse = await agent.parse_message(text)
        escalates = parse["intent"]["name"] == "crisis"
        layer = "rule" if parse.get("crisis_match") else "classifier"
        results.append((escalates, layer if escalates else "-"))
    return results


def main() -> int:
    """Print recall per kind, the false-alarm rate and, with --misses, every error."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO / "models" / "iop.tar.gz")
    parser.add_argument("--misses", action="store_true", help="list every miss and false alarm")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # Rasa's debug log would print every parsed text
    os.chdir(REPO)

    crisis, benign = load_messages()
    results = asyncio.run(classify(args.model, [t for t, _ in crisis] + benign))
    crisis_results, benign_results = results[: len(crisis)], results[len(crisis) :]

    caught = [r[0] for r in crisis_results]
    by_kind: dict[str, list[bool]] = {}
    for (_, kind), hit in zip(crisis, caught, strict=True):
        by_kind.setdefault(kind, []).append(hit)
    layers = Counter(layer for hit, layer in crisis_results if hit)
    false_alarms = sum(r[0] for r in benign_results)

    print(f"crisis messages {len(crisis)}, benign look-alikes {len(benign)}")
    print(f"recall              {sum(caught) / len(caught):.3f} ({sum(caught)}/{len(caught)})")
    print(f"false-alarm rate    {false_alarms / len(benign):.3f} ({false_alarms}/{len(benign)})")
    print(
        f"caught by           rule layer {layers['rule']}, classifier only {layers['classifier']}"
    )
    for kind, hits in sorted(by_kind.items()):
        print(f"  {kind:18s} {sum(hits)}/{len(hits)}")
    if args.misses:
        for (text, kind), hit in zip(crisis, caught, strict=True):
            if not hit:
                print(f"MISSED ({kind}): {text}")
        for text, (hit, layer) in zip(benign, benign_results, strict=True):
            if hit:
                print(f"FALSE ALARM ({layer}): {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
