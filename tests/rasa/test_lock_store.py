"""The lock store named in endpoints.yml: in memory by default, Rasa's Redis store on request."""

from __future__ import annotations

import os
import uuid

import pytest
import redis
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig, read_endpoint_config

from bot.rasa.lock_store import lock_store_for
from bot.settings import REPO_ROOT
from tests.conftest import settings_env

REDIS_URL = os.environ.get("IOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/1")


@pytest.fixture
def redis_url() -> str:
    """The local Redis (required in CI, where the production path must be tested)."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.exceptions.ConnectionError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required in CI and is not reachable: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: the production-path test skips")
    return REDIS_URL


def rasa_lock_store(url: str | None) -> LockStore:
    """What Rasa builds from our endpoints.yml with LOCK_STORE_URL set to `url`."""
    with settings_env("LOCK_STORE_URL", url):
        config = read_endpoint_config(str(REPO_ROOT / "endpoints.yml"), "lock_store")
        assert isinstance(config, EndpointConfig)
        return LockStore.create(config)


def test_one_rasa_process_keeps_locks_in_memory() -> None:
    assert isinstance(rasa_lock_store(None), InMemoryLockStore)


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "redis://", "127.0.0.1:6379"])
def test_a_malformed_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="LOCK_STORE_URL"):
        lock_store_for(url)


def test_redis_locks_serialise_one_conversation_across_stores(redis_url: str) -> None:
    first, second = rasa_lock_store(redis_url), lock_store_for(redis_url)
    assert isinstance(first, RedisLockStore) and isinstance(second, RedisLockStore)
    conversation = f"lock-test-{uuid.uuid4().hex}"
    try:
        ticket_a = first.issue_ticket(conversation)
        ticket_b = second.issue_ticket(conversation)  # another Rasa process, same conversation
        lock = second.get_lock(conversation)
        assert lock is not None and lock.is_locked(ticket_b) and not lock.is_locked(ticket_a)
        first.finish_serving(conversation, ticket_a)
        assert not second.get_lock(conversation).is_locked(ticket_b)
    finally:
        first.delete_lock(conversation)
    assert second.get_lock(conversation) is None
