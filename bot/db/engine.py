"""One engine and session factory per database URL, built lazily from settings."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from bot.settings import get_settings


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    """Foreign keys on; WAL so the action server and the staff app can read while one writes."""
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def normalise_url(url: str) -> str:
    """Accept the common `postgres://` spelling, which SQLAlchemy 1.4 refuses."""
    if url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://") :]
    return url


def _resolve(url: str | None) -> str:
    # Resolved before the caches, so a changed DATABASE_URL is never served a stale engine.
    return normalise_url(url or get_settings().database_url)


def get_engine(url: str | None = None) -> Engine:
    """The engine for `url` (default: settings' database URL), created on first use."""
    return _engine(_resolve(url))


def get_sessionmaker(url: str | None = None) -> sessionmaker:
    """The session factory bound to `get_engine(url)`; use `with factory() as s, s.begin():`."""
    return _sessionmaker(_resolve(url))


@lru_cache(maxsize=8)
def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, future=True, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, future=True, pool_pre_ping=True)
    return engine


@lru_cache(maxsize=8)
def _sessionmaker(url: str) -> sessionmaker:
    return sessionmaker(bind=_engine(url), class_=Session, future=True, expire_on_commit=False)


def savepoint(session: Session) -> SessionTransaction:
    """`session.begin_nested()` that nests on SQLite too.

    pysqlite opens a transaction only before a write, so a SAVEPOINT issued first would be the
    outermost one and its RELEASE would commit on its own, whatever the caller's transaction
    does next (a flag would outlive the rollback of the check-in it belongs to). Here the
    transaction is begun first, taking the write lock the savepoint's insert needs anyway
    (waiting up to busy_timeout; read every earlier result in full first, as SQLite refuses at
    once to begin while a half-read statement holds an old snapshot).
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        raw = connection.connection.dbapi_connection
        if not raw.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    return session.begin_nested()
