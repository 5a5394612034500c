"""Changes to Rasa 3.6.21 itself, installed in the Rasa server process only.

`install()` is called once, by bot/rasa/channels.py, which the Rasa server imports for its
channels (credentials.yml); training never imports it, so a trained model does not depend on
these. Each change keeps every result as it was:

- `speedups`: spaCy without its unused entity recogniser, a cheaper check of the action server's
  answers, and DIET/ResponseSelector/TED loaded without tracing a training step;
- `parse_queue`: messages understood off the event loop, one at a time, the cheapest first.
"""

from __future__ import annotations

from bot.rasa.patches import parse_queue, speedups


def install() -> None:
    """Install every change (idempotent)."""
    speedups.install()
    parse_queue.install()
