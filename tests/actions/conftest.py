"""Fixtures the action tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.db.migrate import upgrade
from bot.settings import get_settings


@pytest.fixture
def db_url(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The actions' database (from DATABASE_URL, as in the action server), migrated."""
    url = f"sqlite:///{tmp_path / 'iop.db'}"
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
