"""Server-rendered SVG charts of a participant's check-ins (matplotlib, no pyplot state)."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence
from datetime import tzinfo

import matplotlib

matplotlib.use("Agg")  # before anything else can pick an interactive backend

from matplotlib import dates as mdates  # noqa: E402
from matplotlib.backends.backend_svg import FigureCanvasSVG  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from bot.db.models import CheckIn  # noqa: E402

# Text as <text> elements (smaller, searchable) and stable ids, so the same data gives the same SVG.
_SVG_RC = {"svg.fonttype": "none", "svg.hashsalt": "iop-staff"}


def _svg(figure: Figure) -> str:
    # A figure of our own with its own canvas: nothing global to leak between requests.
    FigureCanvasSVG(figure)
    buffer = io.StringIO()
    with matplotlib.rc_context(_SVG_RC):
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buffer.getvalue()


def craving_mood_chart(checkins: Sequence[CheckIn], zone: tzinfo) -> str:
    """Craving (0-10) and mood (1-5) over time, one point per check-in, as SVG text."""
    figure = Figure(figsize=(8, 3.2))
    craving_axis = figure.add_subplot()
    times = [c.created_at.astimezone(zone) for c in checkins]
    craving_axis.plot(
        times, [c.craving for c in checkins], marker="o", color="#b03a2e", label="craving (0-10)"
    )
    craving_axis.set_ylim(-0.5, 10.5)
    craving_axis.set_ylabel("craving")
    craving_axis.axhline(8, color="#b03a2e", linestyle=":", linewidth=1)
    mood_axis = craving_axis.twinx()
    mood_axis.plot(
        times, [c.mood for c in checkins], marker="s", color="#1f618d", label="mood (1-5)"
    )
    mood_axis.set_ylim(0.75, 5.25)
    mood_axis.set_ylabel("mood")
    locator = mdates.AutoDateLocator(tz=zone)
    craving_axis.xaxis.set_major_locator(locator)
    craving_axis.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=zone))
    handles = craving_axis.get_legend_handles_labels()[0] + mood_axis.get_legend_handles_labels()[0]
    # Above the plot, so the lines never hide it.
    craving_axis.legend(
        handles=handles,
        loc="lower left",
        bbox_to_anchor=(0, 1.0),
        ncol=2,
        frameon=False,
        fontsize="small",
    )
    craving_axis.set_title("Craving and mood", loc="right")
    return _svg(figure)


def trigger_chart(checkins: Sequence[CheckIn]) -> str:
    """How often each trigger was named across the check-ins, as a horizontal bar chart SVG."""
    counts = Counter(t for c in checkins for t in (c.triggers or []))
    ranked = counts.most_common()
    figure = Figure(figsize=(8, max(1.6, 0.35 * len(ranked) + 0.9)))
    axis = figure.add_subplot()
    names = [name for name, _ in reversed(ranked)]
    axis.barh(names, [count for _, count in reversed(ranked)], color="#7d6608")
    axis.set_xlabel("check-ins naming the trigger")
    axis.set_title("Triggers")
    axis.xaxis.get_major_locator().set_params(integer=True)
    return _svg(figure)
