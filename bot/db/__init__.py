"""The data layer shared by the actions and the staff app: engine, models, migrations."""

from bot.db.engine import get_engine, get_sessionmaker

__all__ = ["get_engine", "get_sessionmaker"]
