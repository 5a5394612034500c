"""Helpers the migrations share."""

from __future__ import annotations

from alembic import op


def replace_check(table: str, name: str, condition: str) -> None:
    """Swap a CHECK constraint's condition (batch mode: SQLite rebuilds the table)."""
    with op.batch_alter_table(table) as batch:
        batch.drop_constraint(op.f(name), type_="check")
        batch.create_check_constraint(op.f(name), condition)
