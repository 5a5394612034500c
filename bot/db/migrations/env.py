"""Alembic environment: the bot's metadata, the URL from settings (or the caller's connection)."""

from alembic import context

from bot.db.engine import get_engine
from bot.db.models import metadata


def run_migrations() -> None:
    """Migrate over the connection the caller passed, or one to settings' database."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or None
    with get_engine(url).connect() as connection:
        _migrate(connection)
        connection.commit()


def _migrate(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not used in this project")
run_migrations()
