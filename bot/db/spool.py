"""A durable retry queue on local disk, for records the database could not take just then.

When a finished check-in or pre-assessment cannot be written (the SQLite file locked past its
busy timeout, a PostgreSQL failover, connections refused), the action server writes the record
here instead (one file each, fsynced before the person is told it is kept) and its background
task (bot/apps/action_server.py) stores the queued records once the database answers again. Each
record carries the dedup key its row is stored under, so a record written twice, or queued
after a write that did commit, is stored exactly once, flags included.

One queue per database (a subfolder named by a hash of its URL), so a record is only ever
replayed into the database it was meant for. Files are owner-only: a pre-assessment record
holds answers and contact details, as the database row does.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

from sqlalchemy import exc

logger = logging.getLogger(__name__)

# The failures that mean "the database is not taking writes right now", as opposed to a record
# it will never take (an IntegrityError is a bug to see, not to retry forever).
STORAGE_ERRORS: tuple[type[BaseException], ...] = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.DisconnectionError,
    exc.TimeoutError,
)


class Spool:
    """Records waiting for the database, oldest first."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def for_database(cls, database_url: str, var_dir: Path) -> Spool:
        """The queue of one database under `var_dir/spool/`."""
        name = hashlib.sha256(database_url.encode()).hexdigest()[:16]
        return cls(var_dir / "spool" / name)

    def put(self, kind: str, record: Mapping[str, object]) -> Path:
        """Write one record durably (on disk before this returns); returns its file."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        # wall-clock nanoseconds first: file names sort in the order records were queued
        name = f"{time.time_ns():020d}-{kind}-{uuid.uuid4().hex[:8]}.json"
        final = self.directory / name
        temporary = self.directory / f".{name}.tmp"
        data = json.dumps({"kind": kind, "record": record}, default=str).encode()
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, final)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a power cut
        finally:
            os.close(directory)
        return final

    def pending(self) -> list[Path]:
        """The queued records' files, oldest first."""
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.glob("*.json") if not p.name.startswith("."))

    def drain(self, handlers: Mapping[str, Callable[[dict], None]]) -> tuple[int, int]:
        """Store queued records with their kind's handler, oldest first, until the database
        refuses again; returns (stored now, still waiting). A record no handler can take, or
        that the database refuses for good, is moved aside (`*.failed`) and logged by type.
        Several processes may drain one queue (the production profile's action servers): a
        file another one finished is skipped, and one both store is kept once by its dedup key."""
        stored = 0
        files = self.pending()
        for index, path in enumerate(files):
            try:
                entry = json.loads(path.read_text(encoding="utf-8"))
                handler = handlers[entry["kind"]]
            except FileNotFoundError:
                continue  # another process stored it meanwhile
            except (OSError, ValueError, KeyError, TypeError) as error:
                logger.error("spool: unreadable record %s (%s)", path.name, type(error).__name__)
                _move_aside(path)
                continue
            try:
                handler(entry["record"])
            except STORAGE_ERRORS:
                return stored, len(files) - index  # still down: try again later, in order
            except Exception as error:  # noqa: BLE001 - never retried forever, never lost
                logger.error("spool: %s record refused (%s)", entry["kind"], type(error).__name__)
                _move_aside(path)
                continue
            path.unlink(missing_ok=True)
            stored += 1
        return stored, 0


def _move_aside(path: Path) -> None:
    """Keep a record that cannot be stored as `*.failed` (unless another process took it)."""
    with contextlib.suppress(FileNotFoundError):
        path.rename(path.with_suffix(".failed"))
