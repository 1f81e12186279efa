"""Migration 0010: the risk register's tables, as the models declare them, and back."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from charter.domain.row_hashes import GOVERNED_TABLES
from charter.store.db import Database
from charter.store.migrate import _config, upgrade
from charter.store.models import Base


def test_0010_creates_the_register_tables_the_models_declare(database_url: str) -> None:
    db = Database(database_url)
    # Migration 0006 records a baseline of every governed table that exists then; the
    # register's tables do not yet, and must not break it.
    assert upgrade(db, "0009") == "0009"
    assert not inspect(db.engine).has_table("risks")
    upgrade(db)
    inspector = inspect(db.engine)
    for name in ("risks", "risk_revisions"):
        assert name in GOVERNED_TABLES
        migrated = {c["name"] for c in inspector.get_columns(name)}
        assert migrated == set(Base.metadata.tables[name].columns.keys()), name
    config = _config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0009")
    assert not inspect(db.engine).has_table("risks")
    assert not inspect(db.engine).has_table("risk_revisions")
    db.dispose()
