"""Rasa's lock store, chosen by our settings: one place to configure, like the tracker store.

Rasa serialises the messages of one conversation with a lock. One Rasa process (the default run)
keeps its locks in memory; several Rasa processes behind a load balancer must share them, so
`LOCK_STORE_URL=redis://host:6379/1` (or `rediss://` for TLS) selects Rasa's Redis lock store.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlparse

from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore

from bot.settings import get_settings

KEY_PREFIX = "iop"


def lock_store_for(url: str | None) -> LockStore:
    """Rasa's in-memory lock store without a URL, its Redis lock store with one."""
    if not url:
        return InMemoryLockStore()
    parsed = urlparse(url)
    if parsed.scheme not in ("redis", "rediss") or not parsed.hostname:
        raise ValueError("LOCK_STORE_URL must look like redis://host:6379/1")
    database = parsed.path.lstrip("/")
    return RedisLockStore(
        host=parsed.hostname,
        port=parsed.port or 6379,
        db=int(database) if database else 1,
        username=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
        use_ssl=parsed.scheme == "rediss",
        key_prefix=KEY_PREFIX,
    )


class SettingsLockStore(LockStore):
    """Named in endpoints.yml; Rasa calls it with the endpoint config and gets the real store."""

    def __new__(cls, *args: Any, **kwargs: Any) -> LockStore:  # type: ignore[misc]
        """Not an instance of this class: the store `lock_store_for` picks from the settings."""
        return lock_store_for(get_settings().lock_store_url)
