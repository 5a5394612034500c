"""Load: many conversations at once through the REST channel, ours against a bare Rasa bot.

Starts the stack (Rasa and the action server) on free ports with throwaway SQLite databases, as
bench/latency.py does, mints a channel token and enrols participants, then runs conversations:
60% FAQ (two to four questions drawn from the held-out sets' phrasings), 20% pre-assessments by
buttons (tests/conversations/test_assessment.py's BUTTON_PATHS) and 20% participants' check-ins
with a real participant token in `metadata.participant_token`.

- Closed loop (`--concurrency N`): N conversations at once; each sends its next message as soon
  as the reply arrives, and a new conversation starts when one ends.
- Open loop (`--rate R`): a new conversation every 1/R s at fixed arrival times, however slow
  the server is, with `--think S` seconds between a reply and the conversation's next message;
  a message's latency is counted from when it was due, so a late client does not hide a queue.

`--duration S` is the measurement window: conversations start only inside it, and the figures
count the messages sent inside it (throughput: the replies received inside it). Conversations
still going at its end are then finished (`--abandon`: left where they are, as a visitor who
walks away), so that every started pre-assessment and check-in can be checked in the database.
`--conversations N` bounds the number of conversations instead (or as well).

Prints per-message latency percentiles (messages answered with HTTP 200 and a real reply),
overall and per kind, messages/s and the errors: non-200 answers, timeouts, failed connections,
empty replies and the channel's "something went wrong" reply (what it sends when Rasa gave none).
A conversation stops at its first error. Then the database: each finished pre-assessment and
check-in (its completion reply seen) must be stored exactly once, keyed by its conversation (the
REST sender): lost and duplicated counts, after the action server's durable queue has drained.
Memory: the resident set (VmRSS, the process and its children) of the Rasa server at the end of
the load, its peak, and the time from starting the stack until Rasa's health check answers.

Then the same client, mode and bounds against a bare `rasa init --no-prompt` bot (built and
trained once into ~/.cache/iop-assistant/bare-rasa-<rasa version>/, `IOP_CACHE_DIR` moves it)
served by `rasa run` with only the REST channel, and the ratios ours/bare for throughput and p95.

The machine's cores are shared by the client, Rasa and the action server: a figure says what
this machine did with everything on it, including anything else running at the time. Nothing
is asserted; the exit code is non-zero only when the benchmark could not run. No message text
or token is printed or logged.

    .venv/bin/python bench/load.py [--concurrency 20 | --rate 2 --think 3]
        [--duration 60 | --conversations N] [--abandon] [--timeout 60] [--seed 1]
        [--model models/iop.tar.gz] [--no-bare] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from pathlib import Path

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
import yaml  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from actions.durable import SAVED_LATER  # noqa: E402
from bench.latency import percentile  # noqa: E402
from bot.db import get_sessionmaker  # noqa: E402
from bot.db.migrate import upgrade  # noqa: E402
from bot.db.models import Assessment, CheckIn, Flag  # noqa: E402
from bot.db.participants import enroll  # noqa: E402
from bot.db.spool import Spool  # noqa: E402
from bot.db.staff_accounts import create_api_token  # noqa: E402
from bot.domain.calm_replies import something_went_wrong  # noqa: E402
from bot.ops.stack import LOOPBACK, SERVICE_ENV, Service, Stack, StackError  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.conversations.test_assessment import BUTTON_PATHS, REFERENCE  # noqa: E402
from tests.conversations.test_checkin import FREE_TEXT_CHECKIN  # noqa: E402

KINDS = ("faq", "assessment", "checkin")
MIX = (0.6, 0.2, 0.2)
# Held-out phrasings of the FAQ topics (sets a, b and c: never trained on).
FAQ_SETS = (
    REPO / "heldout" / "nlu_a" / "nlu.yml",
    REPO / "heldout" / "nlu_b" / "nlu.yml",
    REPO / "heldout" / "nlu_c" / "nlu.yml",
)
GREETINGS = ("hi", "hello", "hey there", "good evening")
# Pre-assessment paths that end in a stored assessment, weighted towards the common results.
ASSESSMENT_LEVELS = {"iop": 4, "outpatient": 3, "higher_level_of_care": 2, "adolescent_services": 1}
CHECKIN_TRIGGERS = ("Nothing", "Nothing", "stress", "anxiety", "fought with my sister at the bar")
CHECKIN_DONE = "Thanks for checking in"  # actions/checkin_form.py checkin_reply
# The bare `rasa init` bot's conversations (its moodbot stories and rules).
BARE_SCRIPTS = (
    ["hello", "I am sad", "yes", "bye"],
    ["hi", "I am great", "bye"],
    ["hey", "very sad", "no", "goodbye"],
    ["good morning", "I am happy", "see you later"],
)
DEFAULT_DURATION = 60.0
DRAIN_SECONDS = 60.0  # how long to wait for the action server's durable queue to empty


# --- What the simulated people say ------------------------------------------------------------


def faq_phrasings() -> list[str]:
    """Every held-out FAQ question (sets a, b and c)."""
    found: list[str] = []
    for path in FAQ_SETS:
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            if str(item.get("intent", "")).startswith("faq/"):
                for line in item["examples"].splitlines():
                    if line.strip().startswith("- "):
                        found.append(line.strip()[2:].strip())
    return found


@dataclass(frozen=True)
class Script:
    """One conversation to run: its kind and its messages, in order."""

    kind: str
    messages: list[str]


def checkin_messages(rng: random.Random) -> list[str]:
    """A check-in by buttons with varied answers, sometimes by free text or with use reported."""
    roll = rng.random()
    if roll < 0.15:
        return list(FREE_TEXT_CHECKIN)
    mood, craving = str(rng.randint(1, 5)), str(rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 8]))
    start = ["/start_checkin", mood, craving, rng.choice(CHECKIN_TRIGGERS)]
    if roll < 0.25:
        return [*start, "Yes", "I'd rather not say", "Nothing to add"]
    return [*start, "No", "Nothing to add"]


def script_for(kind: str, rng: random.Random, faq: list[str]) -> Script:
    """A conversation of `kind` with answers drawn from `rng`."""
    if kind == "faq":
        greeting = [rng.choice(GREETINGS)] if rng.random() < 0.4 else []
        return Script(kind, greeting + rng.sample(faq, rng.randint(2, 4)))
    if kind == "assessment":
        levels = list(ASSESSMENT_LEVELS)
        level = rng.choices(levels, weights=[ASSESSMENT_LEVELS[x] for x in levels])[0]
        return Script(kind, list(BUTTON_PATHS[level]))
    if kind == "checkin":
        return Script(kind, checkin_messages(rng))
    return Script(kind, list(rng.choice(BARE_SCRIPTS)))


def completion_seen(kind: str, text: str) -> bool:
    """Whether the last reply says the form was finished (and so must be stored)."""
    if kind == "assessment":
        return REFERENCE.search(text) is not None
    if kind == "checkin":
        return CHECKIN_DONE in text
    return True


# --- The client -------------------------------------------------------------------------------


@dataclass
class Message:
    """One message's round trip, from when it was due (open loop) or sent (closed loop)."""

    kind: str
    due: float
    replied: float
    ok: bool


@dataclass
class Conversation:
    """How one simulated conversation went (its sender keys its rows in the database)."""

    kind: str
    sender: str
    participant_id: int | None = None
    failed: bool = False
    cut: bool = False  # stopped at the window's end (--abandon)
    completed: bool = False  # every message answered, and the completion reply seen
    queued: bool = False  # the reply said the answers wait in the durable queue


@dataclass
class Tally:
    """Everything one load run recorded."""

    messages: list[Message] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    conversations: list[Conversation] = field(default_factory=list)


class Participants:
    """Enrolled participants handed to check-ins one at a time; more are enrolled if all are
    busy (one participant does not check in twice at once)."""

    def __init__(self, database_url: str, count: int) -> None:
        self.database_url = database_url
        self.free: list[tuple[int, str]] = self._enroll(count)

    def _enroll(self, count: int) -> list[tuple[int, str]]:
        with get_sessionmaker(self.database_url)() as session, session.begin():
            made = [enroll(session, f"load bench {uuid.uuid4().hex[:8]}") for _ in range(count)]
            return [(e.participant_id, e.token) for e in made]

    async def take(self) -> tuple[int, str]:
        """A participant no running check-in uses."""
        if not self.free:
            self.free.extend(await asyncio.to_thread(self._enroll, 10))
        return self.free.pop()

    def give_back(self, participant: tuple[int, str]) -> None:
        """The check-in is over."""
        self.free.append(participant)


class Client:
    """Posts messages to one REST webhook and records each round trip."""

    def __init__(
        self, session: aiohttp.ClientSession, url: str, token: str | None, tally: Tally
    ) -> None:
        self.session = session
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.tally = tally
        self.fallback = something_went_wrong()

    async def send(
        self, kind: str, sender: str, text: str, metadata: dict | None, due: float
    ) -> str | None:
        """The replies' text, or None after an error (counted by kind, never with the text)."""
        body: dict = {"sender": sender, "message": text}
        if metadata:
            body["metadata"] = metadata
        error: str | None = None
        replies: object = None
        try:
            async with self.session.post(self.url, json=body, headers=self.headers) as response:
                if response.status != 200:
                    error = f"http {response.status}"
                else:
                    replies = await response.json(content_type=None)
        except asyncio.TimeoutError:
            error = "timeout"
        except aiohttp.ClientError:
            error = "connection"
        except ValueError:
            error = "bad body"
        replied = time.perf_counter()
        texts: list[str] = []
        if error is None:
            if not isinstance(replies, list) or not replies:
                error = "empty"
            else:
                texts = [str(r.get("text", "")) for r in replies if isinstance(r, dict)]
                if self.fallback in texts:
                    error = "fallback"
        self.tally.messages.append(Message(kind, due, replied, ok=error is None))
        if error is not None:
            self.tally.errors[error] += 1
            return None
        return " ".join(texts)


@dataclass
class Load:
    """How to drive one server: the mode, the bounds, and what the conversations are."""

    concurrency: int | None
    rate: float | None
    think: float
    duration: float | None
    conversations: int | None
    abandon: bool
    kinds: tuple[str, ...]
    weights: tuple[float, ...]
    seed: int
    faq: list[str]
    timeout: float


async def converse(
    client: Client,
    script: Script,
    participants: Participants | None,
    window_end: float | None,
    abandon: bool,
    arrival: float | None,
    think: float,
) -> Conversation:
    """Run one conversation; closed loop when `arrival` is None, else open loop from `arrival`."""
    conversation = Conversation(script.kind, sender=f"load-{uuid.uuid4().hex}")
    participant = await participants.take() if script.kind == "checkin" and participants else None
    metadata = None
    if participant is not None:
        conversation.participant_id = participant[0]
        metadata = {"participant_token": participant[1]}
    due = arrival
    text = ""
    try:
        for message in script.messages:
            if due is None:
                due = time.perf_counter()
            elif due > time.perf_counter():
                await asyncio.sleep(due - time.perf_counter())
            if abandon and window_end is not None and due >= window_end:
                conversation.cut = True
                return conversation
            reply = await client.send(script.kind, conversation.sender, message, metadata, due)
            if reply is None:
                conversation.failed = True
                return conversation
            text = reply
            due = None if arrival is None else time.perf_counter() + think
        conversation.completed = completion_seen(script.kind, text)
        conversation.queued = SAVED_LATER in text
        return conversation
    finally:
        client.tally.conversations.append(conversation)
        if participant is not None and participants is not None:
            participants.give_back(participant)


async def drive(
    url: str, token: str | None, load: Load, participants: Participants | None
) -> tuple[Tally, float, float]:
    """Run the load against `url`: (what happened, when it started, when the window ended)."""
    tally = Tally()
    timeout = aiohttp.ClientTimeout(total=load.timeout)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        client = Client(session, url, token, tally)
        await client.send("warm-up", f"warm-up-{uuid.uuid4().hex}", "hello", None, 0.0)
        tally.messages.clear()
        tally.errors.clear()
        start = time.perf_counter()
        window_end = start + load.duration if load.duration else None
        numbers = itertools.count()

        def next_script() -> Script | None:
            number = next(numbers)
            if load.conversations is not None and number >= load.conversations:
                return None
            rng = random.Random(f"{load.seed}-{number}")
            kind = rng.choices(load.kinds, weights=load.weights)[0]
            return script_for(kind, rng, load.faq)

        def run(script: Script, arrival: float | None) -> Awaitable[Conversation]:
            return converse(
                client, script, participants, window_end, load.abandon, arrival, load.think
            )

        if load.rate is None:

            async def worker() -> None:
                while window_end is None or time.perf_counter() < window_end:
                    script = next_script()
                    if script is None:
                        return
                    await run(script, None)

            await asyncio.gather(*(worker() for _ in range(load.concurrency or 1)))
        else:
            tasks = []
            for number in itertools.count():
                arrival = start + number / load.rate
                if window_end is not None and arrival >= window_end:
                    break
                script = next_script()
                if script is None:
                    break
                await asyncio.sleep(max(0.0, arrival - time.perf_counter()))
                tasks.append(asyncio.create_task(run(script, arrival)))
            await asyncio.gather(*tasks)
        end = time.perf_counter()
    return tally, start, window_end or end


# --- Figures ----------------------------------------------------------------------------------


def latency_figures(values: list[float]) -> dict[str, float | int]:
    """n and the p50/p95/p99/mean latency in milliseconds."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50), 1),
        "p95_ms": round(percentile(values, 95), 1),
        "p99_ms": round(percentile(values, 99), 1),
        "mean_ms": round(sum(values) / len(values) * 1000, 1),
    }


def summarize(tally: Tally, start: float, window_end: float) -> dict:
    """Latency per kind and overall, messages/s and errors for the measurement window."""
    inside = [m for m in tally.messages if m.due < window_end]
    window = max(window_end - start, 1e-9)
    answered_in_window = sum(1 for m in tally.messages if m.ok and m.replied <= window_end)
    kinds = sorted({m.kind for m in inside})
    conversations = tally.conversations
    return {
        "window_s": round(window, 1),
        "latency": {
            **{
                kind: latency_figures(
                    [m.replied - m.due for m in inside if m.ok and m.kind == kind]
                )
                for kind in kinds
            },
            "overall": latency_figures([m.replied - m.due for m in inside if m.ok]),
        },
        "messages_per_s": round(answered_in_window / window, 2),
        "messages_answered_in_window": answered_in_window,
        "messages_sent_after_window": len(tally.messages) - len(inside),
        "errors": sum(tally.errors.values()),
        "errors_by_kind": dict(tally.errors),
        "conversations": {
            "started": len(conversations),
            "completed": sum(c.completed for c in conversations),
            "failed": sum(c.failed for c in conversations),
            "cut_at_window_end": sum(c.cut for c in conversations),
            "by_kind": dict(Counter(c.kind for c in conversations)),
        },
    }


def wait_for_spool(database_url: str, var_dir: Path, seconds: float) -> int:
    """Wait until the action server's durable queue is empty; the records still in it."""
    spool = Spool.for_database(database_url, var_dir)
    deadline = time.monotonic() + seconds
    while spool.pending() and time.monotonic() < deadline:
        time.sleep(1)
    return len(spool.pending())


def check_storage(database_url: str, conversations: list[Conversation]) -> dict:
    """Each finished pre-assessment and check-in stored exactly once, by its conversation."""
    with get_sessionmaker(database_url)() as session:

        def counts(query: object) -> Counter:
            return Counter(dict(session.execute(query).all()))

        assessments = counts(
            select(Assessment.conversation_id, func.count()).group_by(Assessment.conversation_id)
        )
        followups = counts(
            select(Flag.conversation_id, func.count())
            .where(Flag.kind == "assessment_followup")
            .group_by(Flag.conversation_id)
        )
        checkins = counts(
            select(CheckIn.conversation_id, func.count()).group_by(CheckIn.conversation_id)
        )
        owners = dict(
            session.execute(select(CheckIn.conversation_id, CheckIn.participant_id)).all()
        )
    result: dict = {}
    for kind, rows in (("assessment", assessments), ("checkin", checkins)):
        mine = [c for c in conversations if c.kind == kind]
        done = [c for c in mine if c.completed]
        result[kind] = {
            "completed": len(done),
            "stored_once": sum(rows[c.sender] == 1 for c in done),
            "lost": sum(rows[c.sender] == 0 for c in done),
            "duplicated": sum(rows[c.sender] > 1 for c in done),
            "queued_for_later": sum(c.queued for c in done),
            # an unfinished one is stored only when its last reply was lost (a timeout)
            "stored_unfinished": sum(rows[c.sender] > 0 for c in mine if not c.completed),
        }
    done = [c for c in conversations if c.kind == "assessment" and c.completed]
    result["assessment"]["followup_flags_lost"] = sum(followups[c.sender] == 0 for c in done)
    result["assessment"]["followup_flags_duplicated"] = sum(followups[c.sender] > 1 for c in done)
    result["checkin"]["wrong_participant"] = sum(
        c.sender in owners and owners[c.sender] != c.participant_id
        for c in conversations
        if c.kind == "checkin"
    )
    expected = {c.sender for c in conversations if c.kind in ("assessment", "checkin")}
    result["unexpected_rows"] = sum(
        n for sender, n in (assessments + checkins).items() if sender not in expected
    )
    return result


# --- Processes and memory ---------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it, from /proc."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def status_kib(pid: int, key: str) -> int:
    """A /proc/<pid>/status figure in KiB (VmRSS, VmHWM), 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory(pid: int) -> dict[str, float | int]:
    """The resident set of `pid` with its children now, and the main process's peak, in MiB."""
    tree = descendants(pid)
    return {
        "rss_mib": round(sum(status_kib(p, "VmRSS") for p in tree) / 1024, 1),
        "peak_rss_mib": round(status_kib(pid, "VmHWM") / 1024, 1),
        "processes": len(tree),
    }


async def sample_peak(pid: int, peak: dict[str, float], stop: asyncio.Event) -> None:
    """Keep the highest tree RSS seen every second until `stop` is set."""
    while not stop.is_set():
        peak["rss_mib"] = max(peak.get("rss_mib", 0.0), memory(pid)["rss_mib"])
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1)


def drive_and_measure(
    url: str, token: str | None, load: Load, participants: Participants | None, pid: int
) -> tuple[Tally, dict, dict]:
    """Run the load while sampling the server's memory: (tally, figures, memory)."""

    async def both() -> tuple[Tally, float, float, dict]:
        stop, peak = asyncio.Event(), dict[str, float]()
        sampler = asyncio.create_task(sample_peak(pid, peak, stop))
        tally, start, window_end = await drive(url, token, load, participants)
        stop.set()
        await sampler
        return tally, start, window_end, peak

    tally, start, window_end, peak = asyncio.run(both())
    mem = memory(pid)
    mem["max_sampled_rss_mib"] = max(peak.get("rss_mib", 0.0), mem["rss_mib"])
    figures = summarize(tally, start, window_end)
    # What else the machine was doing: the 1-minute load average as the load ended.
    figures["load_average_1m"] = round(os.getloadavg()[0], 2)
    return tally, figures, mem


# --- Our stack --------------------------------------------------------------------------------


def run_ours(args: argparse.Namespace, load: Load, work: Path) -> dict:
    """Our stack on free ports with throwaway databases: figures, storage check, memory."""
    db = f"sqlite:///{work / 'iop.db'}"
    upgrade(db)
    with get_sessionmaker(db)() as session, session.begin():
        token = create_api_token(session, "load bench", role="channel")[1]
    participants = Participants(db, max(20, (args.concurrency or 10) * 2))
    stack = Stack(
        model=args.model,
        rasa_port=free_port(),
        action_port=free_port(),
        log_dir=work / "logs",
        extra_env={
            "DATABASE_URL": db,
            "TRACKER_DATABASE_URL": f"sqlite:///{work / 'tracker.db'}",
            "IOP_VAR_DIR": str(work / "var"),  # the durable queue and session key: throwaway
        },
    )
    begun = time.perf_counter()
    stack.start()
    ready = time.perf_counter() - begun
    try:
        pids = {s.name: s.process.pid for s in stack.services if s.process is not None}
        tally, figures, mem = drive_and_measure(
            f"{stack.rasa_url}/webhooks/rest/webhook",
            token,
            load,
            participants,
            pids["rasa server"],
        )
        action_mem = memory(pids["action server"])
        still_queued = wait_for_spool(db, work / "var", DRAIN_SECONDS)
        restarts = sum(not s.running() for s in stack.services)
    finally:
        stack.stop()
    storage = check_storage(db, tally.conversations)
    storage["still_queued_after_wait"] = still_queued
    return {
        "ready_s": round(ready, 1),
        **figures,
        "storage": storage,
        "memory": {"rasa": mem, "action_server": action_mem},
        "services_not_running_at_end": restarts,
    }


# --- The bare rasa init bot -------------------------------------------------------------------


def cache_root() -> Path:
    """Where scripts/train.sh keeps its caches (IOP_CACHE_DIR, else XDG's cache directory)."""
    if os.environ.get("IOP_CACHE_DIR"):
        return Path(os.environ["IOP_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "iop-assistant"


def bare_model(directory: Path) -> Path | None:
    """The bare bot's trained model, if it was built completely."""
    models = sorted((directory / "models").glob("*.tar.gz"))
    return models[-1] if (directory / ".built").is_file() and models else None


def build_bare(rasa_version: str, log_dir: Path) -> Path:
    """The `rasa init --no-prompt` project with its trained model, built once per Rasa version
    (into a temporary directory first, so an interrupted build is never taken for a cache)."""
    directory = cache_root() / f"bare-rasa-{rasa_version}"
    if bare_model(directory):
        return directory
    directory.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".bare-rasa-{rasa_version}-", dir=directory.parent))
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / "bare-init.log"
    print(f"building the bare rasa init bot once (log {log})", file=sys.stderr)
    env = {**os.environ, **SERVICE_ENV, "RASA_CACHE_DIRECTORY": str(building / ".rasa" / "cache")}
    try:
        with log.open("ab") as out:
            subprocess.run(
                [str(Path(sys.executable).parent / "rasa"), "init", "--no-prompt", "--init-dir",
                 str(building)],
                cwd=building, env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, check=True, timeout=3600,
            )  # fmt: skip
        # Only the REST channel, no Rasa X channel; no action server (the bot has no actions).
        (building / "credentials.yml").write_text("rest:\n", encoding="utf-8")
        shutil.rmtree(building / ".rasa", ignore_errors=True)
        (building / ".built").write_text(rasa_version + "\n", encoding="utf-8")
        if bare_model(directory):  # another run finished first
            shutil.rmtree(building, ignore_errors=True)
        else:
            shutil.rmtree(directory, ignore_errors=True)
            building.rename(directory)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    if not bare_model(directory):
        raise StackError(f"rasa init left no model in {directory}; see {log}")
    return directory


def run_bare(load: Load, work: Path) -> dict:
    """The bare bot under the same load: figures and memory."""
    rasa_version = version("rasa")
    directory = build_bare(rasa_version, work / "logs")
    model = bare_model(directory)
    if model is None:
        raise StackError(f"no bare model in {directory}")
    port = free_port()
    service = Service(
        name="bare rasa server",
        command=[
            str(Path(sys.executable).parent / "rasa"),
            "run",
            "--model",
            str(model),
            "--interface",
            LOOPBACK,
            "--port",
            str(port),
            "--credentials",
            str(directory / "credentials.yml"),
            "--endpoints",
            str(directory / "endpoints.yml"),
        ],
        ready_url=f"http://{LOOPBACK}:{port}/",
        log_path=work / "logs" / "bare-rasa.log",
    )
    begun = time.perf_counter()
    service.start({**os.environ, **SERVICE_ENV})
    try:
        service.wait_ready(time.monotonic() + 300)
        ready = time.perf_counter() - begun
        pid = service.process.pid if service.process is not None else 0
        _tally, figures, mem = drive_and_measure(
            f"http://{LOOPBACK}:{port}/webhooks/rest/webhook",
            None,
            replace(load, kinds=("bare",), weights=(1.0,)),
            None,
            pid,
        )
    finally:
        service.stop()
    return {"rasa_version": rasa_version, "ready_s": round(ready, 1), **figures, "memory": mem}


# --- Printing ---------------------------------------------------------------------------------


def print_run(title: str, figures: dict) -> None:
    """One server's figures, as a table."""
    print(title)
    print(
        f"  ready        {figures['ready_s']:.1f} s from start until Rasa's health check answered"
    )
    print(f"  {'kind':<11} {'n':>6} {'p50':>8} {'p95':>8} {'p99':>8} {'mean':>8}   (ms)")
    for kind, row in figures["latency"].items():
        if not row["n"]:
            print(f"  {kind:<11} {0:>6}")
            continue
        print(
            f"  {kind:<11} {row['n']:>6} {row['p50_ms']:>8.0f} {row['p95_ms']:>8.0f} "
            f"{row['p99_ms']:>8.0f} {row['mean_ms']:>8.0f}"
        )
    conversations = figures["conversations"]
    print(
        f"  throughput   {figures['messages_per_s']:.2f} messages/s "
        f"({figures['messages_answered_in_window']} answered in {figures['window_s']:.0f} s; "
        f"{figures['messages_sent_after_window']} more sent after it to finish conversations)"
    )
    print(
        f"  conversations {conversations['started']} started, {conversations['completed']} "
        f"completed, {conversations['failed']} stopped by an error, "
        f"{conversations['cut_at_window_end']} cut at the window's end "
        f"({', '.join(f'{k} {n}' for k, n in sorted(conversations['by_kind'].items()))})"
    )
    kinds = figures["errors_by_kind"]
    detail = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) or "none"
    print(f"  errors       {figures['errors']} ({detail})")
    print(f"  machine      load average {figures['load_average_1m']:.1f} (1 min) as the load ended")
    mem = figures["memory"].get("rasa", figures["memory"])
    line = (
        f"  memory       Rasa RSS {mem['rss_mib']:.0f} MiB at the end ({mem['processes']} "
        f"process(es)), highest sampled {mem['max_sampled_rss_mib']:.0f} MiB, "
        f"main process peak {mem['peak_rss_mib']:.0f} MiB"
    )
    print(line)
    if "action_server" in figures["memory"]:
        action = figures["memory"]["action_server"]
        print(f"               action server RSS {action['rss_mib']:.0f} MiB")


def print_storage(storage: dict) -> None:
    """The exactly-once check."""
    for kind, label in (("assessment", "pre-assessments"), ("checkin", "check-ins")):
        row = storage[kind]
        extra = (
            f"; follow-up flags lost {row['followup_flags_lost']}, duplicated "
            f"{row['followup_flags_duplicated']}"
            if kind == "assessment"
            else f"; under another participant {row['wrong_participant']}"
        )
        print(
            f"  stored       {label}: {row['completed']} completed, {row['stored_once']} stored "
            f"once, lost {row['lost']}, duplicated {row['duplicated']} ({row['queued_for_later']} "
            f"went through the durable queue){extra}; {row['stored_unfinished']} stored from "
            f"unfinished conversations"
        )
    print(
        f"               {storage['unexpected_rows']} rows from no such conversation, "
        f"{storage['still_queued_after_wait']} still in the durable queue after the wait"
    )


def ratio(ours: float | None, bare: float | None) -> float | None:
    """ours / bare, or None when either is missing or zero."""
    return round(ours / bare, 2) if ours and bare else None


# --- Main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--concurrency", type=int, help="closed loop: conversations at once (20)")
    mode.add_argument("--rate", type=float, help="open loop: conversations started per second")
    parser.add_argument("--think", type=float, default=3.0, help="open loop: s between messages")
    parser.add_argument("--duration", type=float, help="the measurement window in s (60)")
    parser.add_argument("--conversations", type=int, help="at most this many conversations")
    parser.add_argument("--abandon", action="store_true", help="leave conversations at the end")
    parser.add_argument("--timeout", type=float, default=60.0, help="s to wait for one reply")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--model", type=Path, default=REPO / "models" / "iop.tar.gz")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare rasa init bot")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)
    if args.rate is None and args.concurrency is None:
        args.concurrency = 20
    if args.duration is None and args.conversations is None:
        args.duration = DEFAULT_DURATION
    if (
        (args.concurrency is not None and args.concurrency < 1)
        or (args.rate is not None and args.rate <= 0)
        or (args.duration is not None and args.duration <= 0)
        or (args.conversations is not None and args.conversations < 1)
        or args.think < 0
        or args.timeout <= 0
    ):
        parser.error("counts, rates, durations and timeouts must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the load against our stack (and the bare bot) and print the figures."""
    args = parse_args(argv)
    if not args.model.is_file():
        print(f"no trained model at {args.model}: run `make train`", file=sys.stderr)
        return 2
    load = Load(
        concurrency=args.concurrency,
        rate=args.rate,
        think=args.think,
        duration=args.duration,
        conversations=args.conversations,
        abandon=args.abandon,
        kinds=KINDS,
        weights=MIX,
        seed=args.seed,
        faq=faq_phrasings(),
        timeout=args.timeout,
    )
    work = Path(tempfile.mkdtemp(prefix="iop-load-"))
    failed: list[str] = []
    summary: dict = {
        "mode": "closed" if args.rate is None else "open",
        "concurrency": args.concurrency,
        "rate_per_s": args.rate,
        "think_s": args.think if args.rate is not None else None,
        "duration_s": args.duration,
        "conversations": args.conversations,
        "abandon": args.abandon,
        "mix": dict(zip(KINDS, MIX, strict=True)),
        "cores": os.cpu_count(),
        "model": str(args.model),
        "logs": str(work / "logs"),
    }
    try:
        if not args.no_bare:
            # Built (once) before our stack starts, so the training never shares the cores.
            build_bare(version("rasa"), work / "logs")
        summary["ours"] = run_ours(args, load, work)
    except (StackError, OSError, subprocess.SubprocessError) as error:
        print(f"could not run the load against our stack: {error}", file=sys.stderr)
        return 1
    if not args.no_bare:
        try:
            summary["bare"] = run_bare(load, work)
        except (StackError, OSError, subprocess.SubprocessError) as error:
            failed.append(f"the bare rasa init bot: {error}")
    if args.rate is None:
        shape = f"closed loop, {args.concurrency} conversations at once"
    else:
        shape = f"open loop, {args.rate:g} conversations/s, {args.think:g} s think time"
    bound = " and ".join(
        filter(
            None,
            [
                f"a {args.duration:g} s window" if args.duration else "",
                f"at most {args.conversations} conversations" if args.conversations else "",
            ],
        )
    )
    print(f"{shape}, {bound}; {os.cpu_count()} cores shared by the client and the servers")
    print_run(f"IOP Assistant ({args.model.name}, SQLite stores)", summary["ours"])
    print_storage(summary["ours"]["storage"])
    down = summary["ours"]["services_not_running_at_end"]
    print(f"  services     {'all running' if not down else f'{down} not running'} at the end")
    if "bare" in summary:
        bare = summary["bare"]
        print_run(f"bare rasa init bot (rasa {bare['rasa_version']}, in-memory tracker)", bare)
        ours = summary["ours"]
        summary["ratios"] = {
            "throughput": ratio(ours["messages_per_s"], bare["messages_per_s"]),
            "p95": ratio(
                ours["latency"]["overall"].get("p95_ms"), bare["latency"]["overall"].get("p95_ms")
            ),
            "rss": ratio(ours["memory"]["rasa"]["rss_mib"], bare["memory"]["rss_mib"]),
        }
        r = summary["ratios"]
        print(f"ours/bare    throughput {r['throughput']}x, p95 {r['p95']}x, Rasa RSS {r['rss']}x")
    for line in failed:
        print(f"could not run {line}", file=sys.stderr)
    print(f"logs         {work / 'logs'}")
    if args.json:
        print(json.dumps(summary, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
