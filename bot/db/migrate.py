"""Apply the Alembic migrations (`python -m bot init-db`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from bot.db.engine import get_engine, normalise_url
from bot.settings import get_settings

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")


def alembic_config(url: str) -> Config:
    """Alembic's configuration for the database at `url`."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str | None = None) -> list[str]:
    """Bring the database to the newest schema; returns the bot's tables afterwards."""
    url = normalise_url(url or get_settings().database_url)
    with get_engine(url).begin() as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return sorted(t for t in inspect(get_engine(url)).get_table_names() if t != "alembic_version")


def create_database(url: str | None = None) -> bool:
    """Create the PostgreSQL database `url` names when it does not exist (connecting to the
    server's `postgres` database); True when it was created. SQLite files create themselves."""
    parsed = make_url(normalise_url(url or get_settings().database_url))
    if not parsed.drivername.startswith("postgresql") or not parsed.database:
        return False
    admin = create_engine(
        parsed.set(database="postgres"), future=True, isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
            ).first()
            if exists:
                return False
            quoted = connection.dialect.identifier_preparer.quote(parsed.database)
            connection.execute(text(f"CREATE DATABASE {quoted}"))
            return True
    finally:
        admin.dispose()
