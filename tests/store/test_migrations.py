"""Migrations: shipped in the package, run explicitly, failing loudly."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from charter.store.db import Database
from charter.store.migrate import (
    SchemaMismatch,
    current_revision,
    ensure_current,
    head_revision,
    upgrade,
)


def test_empty_database_is_refused_until_upgraded(database_url: str) -> None:
    db = Database(database_url)
    with pytest.raises(SchemaMismatch, match="empty"):
        ensure_current(db)
    assert upgrade(db) == head_revision()
    ensure_current(db)
    tables = set(inspect(db.engine).get_table_names())
    assert {
        "users",
        "api_tokens",
        "systems",
        "releases",
        "components",
        "decisions",
        "audit_events",
    } <= tables
    # Upgrading again is a no-op.
    assert upgrade(db) == head_revision()
    db.dispose()


def test_unknown_revision_is_refused(database_url: str) -> None:
    db = Database(database_url)
    upgrade(db)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
    assert current_revision(db) == "ffff"
    with pytest.raises(SchemaMismatch, match="newer version"):
        ensure_current(db)
    # A migration error propagates; nothing falls back to create_all.
    with pytest.raises(Exception, match="ffff"):
        upgrade(db)
    db.dispose()


def test_sqlite_pragmas(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    db.dispose()


def test_unsupported_url() -> None:
    from charter.domain.errors import BadInput

    with pytest.raises(BadInput, match="unsupported database URL"):
        Database("mysql://x")


def test_schema_head_constant_matches_the_migrations() -> None:
    from charter.store import SCHEMA_HEAD

    assert head_revision() == SCHEMA_HEAD
