"""The data layer: engine and sessions, models, Alembic migrations, and every query, one module
per aggregate (flags, alert_outbox, assessments, checkins, participants, staff_accounts, audit),
plus the durable spool for records the database could not take just then."""

from bot.db.engine import get_engine, get_sessionmaker

__all__ = ["get_engine", "get_sessionmaker"]
