"""Understanding messages off the Rasa server's event loop, the cheapest waiting message first.

Rasa 3.6 runs the NLU pipeline inside its event loop: while one message is parsed nothing else
moves, and parses are served in arrival order. A 2,000-character message costs about 2 s here
(its whole text and every clause go through the sentence encoder, so a worried sentence inside
a long message still counts), so four of them in flight kept a short "I want to die" waiting
8 s, and the event loop could not even read it.

`install()` makes `MessageProcessor.parse_message` hand the pipeline to one worker thread
through `ParseQueue`: the event loop stays free, and of the messages waiting the one with the
earliest deadline goes next, its deadline the arrival time plus 10 ms per character (20 s for
2,000 characters, 10 times what it costs). A short message waits for at most the one parse under
way; a long message is overtaken only by messages that arrived less than its grace after it, so
none waits forever. (With a grace equal to its cost, long messages queued behind each other aged
past a newly arrived short one: 3 s for a short message with four long ones in flight.) One
worker thread, as before one event loop: the pipeline's components never run concurrently with
themselves. A conversation's messages keep their order (Rasa's lock store holds the
conversation while its message is handled).

A long parse also steps aside: between two steps of the pipeline (Rasa's graph nodes) and between
two batches of the sentence encoder, `preempt()` runs, on the worker thread, every waiting job
due before the one under way, then the long parse carries on where it was. A short message then
waits for one step of a long parse (a few hundred milliseconds at most), not for all of it. The
jobs still never run at the same time: the worker runs one, then resumes the other, so nothing
in the pipeline needs to be thread-safe, only re-entrant between steps (our components keep no
per-message state on themselves; Rasa builds a fresh graph run per message).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from rasa.core.processor import MessageProcessor
from rasa.shared.core.trackers import DialogueStateTracker

# Rasa's own method, used when an HTTP interpreter parses instead of the model
RASA_PARSE_MESSAGE = MessageProcessor.parse_message
T = TypeVar("T")

# A message's grace per character: ten times its parse cost (2 s for 2,000 characters here).
SECONDS_PER_CHAR = 0.01


class ParseQueue:
    """Runs jobs one at a time on a worker thread, earliest deadline first. Callers may be on
    any event loop (each result is handed back on its caller's loop)."""

    def __init__(self, seconds_per_char: float = SECONDS_PER_CHAR) -> None:
        self._seconds_per_char = seconds_per_char
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parse")
        self._waiting: list[tuple[float, int, Waiting]] = []
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._busy = False
        # on the worker thread: the deadlines of the jobs under way, innermost last
        self._running = threading.local()

    def deadline(self, text: str, now: float | None = None) -> float:
        """When a message of `text` arriving `now` should be done."""
        arrival = time.monotonic() if now is None else now
        return arrival + len(text) * self._seconds_per_char

    async def run(self, text: str, job: Callable[[], T]) -> T:
        """`job()`'s result, run on the worker thread in its turn (`text`: what it parses)."""
        loop = asyncio.get_running_loop()
        waiting = Waiting(loop, loop.create_future(), job)
        with self._lock:
            heapq.heappush(self._waiting, (self.deadline(text), next(self._order), waiting))
        self._start_next()
        return await waiting.future

    @property
    def waiting(self) -> int:
        """Jobs queued and not yet started."""
        return len(self._waiting)

    def _start_next(self) -> None:
        with self._lock:
            waiting = None
            while not self._busy and self._waiting:
                deadline, _, candidate = heapq.heappop(self._waiting)
                if not candidate.future.done():  # done: its caller gave up (a cancelled request)
                    waiting, self._busy = (deadline, candidate), True
        if waiting is not None:
            self._executor.submit(self._work, *waiting)

    def _work(self, deadline: float, waiting: Waiting) -> None:
        """On the worker thread: run one job, then start the next."""
        try:
            self._run(deadline, waiting)
        finally:
            with self._lock:
                self._busy = False
            self._start_next()

    def _run(self, deadline: float, waiting: Waiting) -> None:
        """Run `waiting`'s job here and hand its outcome to its caller's loop."""
        stack = self._deadlines()
        stack.append(deadline)
        done: Future = Future()
        try:
            done.set_result(waiting.job())
        except BaseException as error:  # noqa: BLE001 (delivered to the caller)
            done.set_exception(error)
        finally:
            stack.pop()
        # a closed loop (RuntimeError): nobody waits for this result
        with contextlib.suppress(RuntimeError):
            waiting.loop.call_soon_threadsafe(waiting.deliver, done)

    def _deadlines(self) -> list[float]:
        stack = getattr(self._running, "deadlines", None)
        if stack is None:
            stack = self._running.deadlines = []
        return stack

    def preempt(self) -> int:
        """Between two steps of a job: run the waiting jobs due before it, here and now, and
        return how many ran. A no-op outside this queue's worker thread."""
        stack = getattr(self._running, "deadlines", None)
        if not stack:
            return 0
        ran = 0
        while True:
            with self._lock:
                if not self._waiting or self._waiting[0][0] >= stack[-1]:
                    return ran
                deadline, _, waiting = heapq.heappop(self._waiting)
            if not waiting.future.done():
                self._run(deadline, waiting)
                ran += 1


class Waiting:
    """A queued job and the future its caller awaits on its own loop."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, future: asyncio.Future, job: Callable[[], Any]
    ) -> None:
        self.loop, self.future, self.job = loop, future, job

    def deliver(self, done: Future) -> None:
        if self.future.done():
            return
        error = done.exception()
        if error is not None:
            self.future.set_exception(error)
        else:
            self.future.set_result(done.result())


_queue: ParseQueue | None = None


def queue() -> ParseQueue:
    """This process's parse queue."""
    global _queue
    if _queue is None:
        _queue = ParseQueue()
    return _queue


def install() -> None:
    """Parse every message through `queue()` in this process (the Rasa server)."""
    if getattr(MessageProcessor, "_iop_parse_queue", False):
        return
    graph_parse = MessageProcessor._parse_message_with_graph

    async def parse_message(
        self: MessageProcessor,
        message: Any,
        tracker: Any = None,
        only_output_properties: bool = True,
    ) -> dict[str, Any]:
        if self.http_interpreter:
            return await RASA_PARSE_MESSAGE(self, message, tracker, only_output_properties)
        if tracker is None:
            tracker = DialogueStateTracker.from_events(message.sender_id, [])
        parse_data = await queue().run(
            message.text or "",
            lambda: graph_parse(self, message, tracker, only_output_properties),
        )
        # what Rasa's parse_message does after the graph (its debug log of the text left out)
        self._update_full_retrieval_intent(parse_data)
        self._check_for_unseen_features(parse_data)
        return parse_data

    MessageProcessor.parse_message = parse_message  # type: ignore[method-assign]
    MessageProcessor._iop_parse_queue = True  # type: ignore[attr-defined]
    _install_preemption()


def _install_preemption() -> None:
    """`preempt()` before each step of Rasa's graph and each batch of the sentence encoder."""
    from rasa.engine.graph import GraphNode

    from bot.rasa.nlu.encoders import TransformerEncoder

    node_call = GraphNode.__call__
    forward = TransformerEncoder._forward

    def call_node(self: GraphNode, *inputs: Any) -> Any:
        queue().preempt()
        return node_call(self, *inputs)

    def forward_batch(self: TransformerEncoder, batch: list[list[int]]) -> Any:
        queue().preempt()
        return forward(self, batch)

    GraphNode.__call__ = call_node  # type: ignore[method-assign]
    TransformerEncoder._forward = forward_batch  # type: ignore[method-assign]
