"""The durable retry queue (bot/db/spool.py): records kept on disk in order, stored once the
database answers, never retried forever and never lost."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.db.spool import Spool


def failing(error: Exception):
    def handler(record: dict) -> None:
        raise error

    return handler


def test_records_wait_in_order_and_are_stored_once_the_database_answers(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "queue")
    for n in range(3):
        spool.put("checkin", {"n": n, "note": "é and ünïcode"})
    assert len(spool.pending()) == 3
    down = OperationalError("INSERT", {}, Exception("database is locked"))
    assert spool.drain({"checkin": failing(down)}) == (0, 3)
    stored: list[dict] = []
    assert spool.drain({"checkin": stored.append}) == (3, 0)
    assert [r["n"] for r in stored] == [0, 1, 2] and stored[0]["note"] == "é and ünïcode"
    assert spool.pending() == []


def test_a_failure_midway_keeps_the_rest_for_later(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "queue")
    for n in range(3):
        spool.put("checkin", {"n": n})
    stored: list[int] = []

    def flaky(record: dict) -> None:
        if record["n"] == 1:
            raise OperationalError("INSERT", {}, Exception("server closed the connection"))
        stored.append(record["n"])

    assert spool.drain({"checkin": flaky}) == (1, 2)
    assert stored == [0] and len(spool.pending()) == 2


def test_a_record_refused_for_good_is_set_aside_not_retried(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "queue")
    spool.put("checkin", {"n": 0})
    spool.put("unknown kind", {"n": 1})
    refused = IntegrityError("INSERT", {}, Exception("constraint"))
    assert spool.drain({"checkin": failing(refused)}) == (0, 0)
    assert spool.pending() == []
    assert len(list((tmp_path / "queue").glob("*.failed"))) == 2


def test_records_are_owner_only_and_one_queue_per_database(tmp_path: Path) -> None:
    one = Spool.for_database("sqlite:///a.db", tmp_path)
    other = Spool.for_database("postgresql://db/iop", tmp_path)
    assert one.directory != other.directory and one.directory.parent == tmp_path / "spool"
    path = one.put("assessment", {"contact": {"email": "sam@example.com"}})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(one.directory.stat().st_mode) == 0o700
    assert other.pending() == []


@pytest.mark.parametrize("garbage", [b"", b"{not json", b'{"record": {}}'])
def test_an_unreadable_file_is_set_aside(tmp_path: Path, garbage: bytes) -> None:
    spool = Spool(tmp_path / "queue")
    spool.put("checkin", {"n": 0})
    (tmp_path / "queue" / "00000000000000000000-checkin-x.json").write_bytes(garbage)
    stored: list[dict] = []
    assert spool.drain({"checkin": stored.append}) == (1, 0)
    assert stored == [{"n": 0}]


def test_two_processes_draining_one_queue_store_each_record_and_never_fail(
    tmp_path: Path,
) -> None:
    """The production profile's two action servers drain one spool folder."""
    import threading
    import time

    writer = Spool(tmp_path / "queue")
    for n in range(40):
        writer.put("checkin", {"n": n})
    stored: list[int] = []
    lock = threading.Lock()

    def store(record: dict) -> None:  # idempotent by key, as the real handlers are
        time.sleep(0.002)
        with lock:
            if record["n"] not in stored:
                stored.append(record["n"])

    errors: list[BaseException] = []

    def drain() -> None:
        try:
            Spool(tmp_path / "queue").drain({"checkin": store})
        except BaseException as error:  # noqa: BLE001 (asserted below)
            errors.append(error)

    threads = [threading.Thread(target=drain) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(stored) == list(range(40))
    assert writer.pending() == [] and not list((tmp_path / "queue").glob("*.failed"))
