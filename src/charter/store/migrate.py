"""Run the Alembic migrations shipped inside the package.

A migration error propagates: Charter never falls back to ``create_all``, because a schema
that silently differs from the migrations is worse than a loud failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import inspect, text

from charter.domain.errors import CharterError
from charter.store import SCHEMA_HEAD
from charter.store.db import Database

if TYPE_CHECKING:
    from alembic.config import Config


class SchemaMismatch(CharterError):
    """The database schema is not at the revision this version of Charter expects."""

    status = 503
    title = "Database schema out of date"
    slug = "schema-mismatch"


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "charter.store:migrations")
    return config


def head_revision() -> str:
    """Return the newest migration revision shipped with this package, according to Alembic."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(db: Database) -> str | None:
    """Return the revision the database is at, or None for an empty database."""
    with db.engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(db: Database, revision: str = "head") -> str:
    """Upgrade the database schema to ``revision`` and return the revision it is now at."""
    from alembic import command

    config = _config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    now = current_revision(db)
    assert now is not None
    return now


def ensure_current(db: Database) -> None:
    """Refuse to work on a database whose schema is not at this package's head revision."""
    current = current_revision(db)
    if current == SCHEMA_HEAD:
        return
    if current is None:
        raise SchemaMismatch("the database is empty: run `charter init` or `charter db upgrade`")
    from alembic.script import ScriptDirectory

    head = head_revision()
    known = {rev.revision for rev in ScriptDirectory.from_config(_config()).walk_revisions()}
    if current not in known:
        raise SchemaMismatch(
            f"the database is at revision {current}, which this Charter does not know "
            "(it was written by a newer version)"
        )
    raise SchemaMismatch(
        f"the database is at revision {current}, not {head}: run `charter db upgrade`"
    )
