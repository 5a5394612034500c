"""bot/rasa/patches/parse_queue.py: one parse at a time off the event loop, cheapest first."""

from __future__ import annotations

import asyncio
import threading

import pytest
from rasa.core.processor import MessageProcessor

import bot.rasa.channels  # noqa: F401  (the Rasa server imports it; it installs the patches)
from bot.rasa.patches.parse_queue import RASA_PARSE_MESSAGE, ParseQueue
from tests.conftest import run_async as run

LONG = "I went out today. " * 110  # about 2,000 characters


async def blocked_then(queue: ParseQueue, texts: list[str]) -> tuple[list[str], list[str]]:
    """Occupy the worker, queue one job per text, release it: (finishing order, thread names)."""
    release = threading.Event()
    finished: list[str] = []
    threads: list[str] = []

    def job(name: str):
        def work() -> str:
            threads.append(threading.current_thread().name)
            finished.append(name)
            return name

        return work

    first = asyncio.ensure_future(queue.run("x", lambda: release.wait(10) and "first"))
    await asyncio.sleep(0.05)  # the blocking job has started
    waiting = [asyncio.ensure_future(queue.run(text, job(text[:12]))) for text in texts]
    await asyncio.sleep(0.05)
    assert queue.waiting == len(texts)
    release.set()
    results = await asyncio.gather(first, *waiting)
    assert results[0] == "first"
    assert results[1:] == [text[:12] for text in texts]
    return finished, threads


def test_a_short_message_overtakes_long_ones_queued_before_it():
    texts = ["long one " + LONG, "long two " + LONG, "I want to die"]
    finished, _ = run(blocked_then(ParseQueue(), texts))
    assert finished == ["I want to di", "long one I w", "long two I w"]


def test_messages_of_equal_length_keep_their_arrival_order():
    texts = [f"message {n:02d}" for n in range(8)]
    finished, _ = run(blocked_then(ParseQueue(), texts))
    assert finished == [text[:12] for text in texts]


def test_jobs_run_on_one_worker_thread_not_the_event_loop():
    _, threads = run(blocked_then(ParseQueue(), ["a", "b", "c"]))
    assert len(set(threads)) == 1
    assert threads[0].startswith("parse")
    assert threads[0] != threading.current_thread().name


def test_a_long_message_is_overtaken_only_by_messages_due_before_it():
    queue = ParseQueue()
    # arrived at 0 with 2,000 characters: due at 20 s; a short message arriving at 25 s is not
    assert queue.deadline(LONG, now=0.0) < queue.deadline("hi", now=25.0)
    # four long messages queued for seconds still let a new short one go first
    assert queue.deadline("hi", now=6.0) < queue.deadline(LONG, now=0.0)


def test_an_error_reaches_its_caller_and_the_queue_goes_on():
    queue = ParseQueue()

    def fail() -> None:
        raise RuntimeError("broken component")

    async def scenario() -> str:
        with pytest.raises(RuntimeError, match="broken component"):
            await queue.run("a", fail)
        return await queue.run("b", lambda: "next")

    assert run(scenario()) == "next"


def test_a_cancelled_callers_job_is_skipped():
    queue = ParseQueue()
    ran: list[str] = []

    async def scenario() -> None:
        release = threading.Event()
        first = asyncio.ensure_future(queue.run("x", lambda: release.wait(10)))
        await asyncio.sleep(0.05)
        gone = asyncio.ensure_future(queue.run("gone", lambda: ran.append("gone")))
        kept = asyncio.ensure_future(queue.run("kept", lambda: ran.append("kept")))
        await asyncio.sleep(0.05)
        gone.cancel()
        release.set()
        await asyncio.gather(first, kept)

    run(scenario())
    assert ran == ["kept"]


def test_installed_in_the_rasa_server_process():
    assert MessageProcessor.parse_message is not RASA_PARSE_MESSAGE
    assert MessageProcessor._iop_parse_queue is True


def test_callers_on_different_event_loops_each_get_their_own_results():
    """Tests and tools parse on loops of their own (asyncio.run), the server on one."""
    queue = ParseQueue()

    async def caller(name: str) -> list[str]:
        jobs = [queue.run(name, lambda n=n: f"{name}-{n}") for n in range(20)]
        return await asyncio.gather(*jobs)

    results: dict[str, list[str]] = {}
    threads = [
        threading.Thread(target=lambda n=name: results.update({n: run(caller(n))}))
        for name in ("one", "two", "three")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == {name: [f"{name}-{n}" for n in range(20)] for name in ("one", "two", "three")}


def test_a_long_job_steps_aside_for_a_short_one_between_its_steps():
    """A short message waits for one step of a long parse, not the whole of it."""
    queue = ParseQueue()
    events: list[str] = []
    short_queued = threading.Event()
    preempted: list[int] = []

    def long_job() -> str:
        events.append("long step 1")
        short_queued.wait(10)
        preempted.append(queue.preempt())  # between two steps
        events.append("long step 2")
        return "long"

    async def scenario() -> list[str]:
        long = asyncio.ensure_future(queue.run(LONG, long_job))
        await asyncio.sleep(0.05)
        short = asyncio.ensure_future(queue.run("I want to die", lambda: events.append("short")))
        await asyncio.sleep(0.05)
        short_queued.set()
        return await asyncio.gather(long, short)

    results = run(scenario())
    assert results[0] == "long"
    assert events == ["long step 1", "short", "long step 2"]
    assert preempted == [1]


def test_only_jobs_due_earlier_step_in_and_none_outside_the_worker():
    queue = ParseQueue()
    events: list[str] = []
    queued = threading.Event()

    def short_job() -> str:
        queued.wait(10)
        events.append(f"preempted {queue.preempt()}")  # the long one is due later: not run
        return "short"

    async def scenario() -> list[str]:
        first = asyncio.ensure_future(queue.run("hi", short_job))
        await asyncio.sleep(0.05)
        later = asyncio.ensure_future(queue.run(LONG, lambda: events.append("long")))
        await asyncio.sleep(0.05)
        queued.set()
        return await asyncio.gather(first, later)

    run(scenario())
    assert events == ["preempted 0", "long"]
    assert queue.preempt() == 0  # on the test's thread: nothing to step aside for


def test_an_error_in_a_job_that_stepped_in_goes_to_its_caller_only():
    queue = ParseQueue()
    queued = threading.Event()

    def long_job() -> str:
        queued.wait(10)
        queue.preempt()
        return "long done"

    def broken() -> None:
        raise RuntimeError("broken component")

    async def scenario() -> tuple[str, BaseException]:
        long = asyncio.ensure_future(queue.run(LONG, long_job))
        await asyncio.sleep(0.05)
        short = asyncio.ensure_future(queue.run("x", broken))
        await asyncio.sleep(0.05)
        queued.set()
        done = await asyncio.gather(long, short, return_exceptions=True)
        return done[0], done[1]

    long_result, short_error = run(scenario())
    assert long_result == "long done"
    assert isinstance(short_error, RuntimeError)


def test_graph_steps_and_encoder_batches_step_aside():
    from rasa.engine.graph import GraphNode

    from bot.rasa.nlu.encoders import TransformerEncoder

    assert GraphNode.__call__.__name__ == "call_node"
    assert TransformerEncoder._forward.__name__ == "forward_batch"
