"""Shared fixtures: a fresh, migrated database per test on SQLite or PostgreSQL.

The backend is chosen with ``CHARTER_TEST_DB`` (``sqlite``, the default, or
``postgresql``). On PostgreSQL each test gets its own schema in the ``test`` database
(``CHARTER_TEST_PG_URL``, default ``postgresql://postgres@127.0.0.1:5432/test``), dropped
afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from charter.cli.main import load_commands
from charter.domain.roles import Role
from charter.services.context import Charter, Context
from charter.services.users import bootstrap_admin, create_user
from charter.store.db import Database
from charter.store.migrate import upgrade
from tests.helpers import BACKEND, PG_URL, SHARED_DATASETS, actor_of

# Typer lists commands in the order their modules were imported. The CLI runs in process in
# tests (tests/cli_runner.py) and each command imports only its own modules, so import them
# all now, in the console script's order: `charter --help` and the generated reference then
# read the same whichever test runs first.
load_commands()

# Channel secrets are encrypted with a key outside the database; tests use a fixed one
# rather than creating ~/.charter/secrets.key (a Fernet key: 32 url-safe base64 bytes).
os.environ.setdefault("CHARTER_SECRETS_KEY", "dGVzdC1rZXktZm9yLWNoYXJ0ZXItdGVzdHMtMzJieXQ=")


#: Adapter tests whose outcome does not depend on the database backend: the API's
#: authorization matrix and schema fuzzing (547 and 148 tests, each on a freshly seeded
#: database), the console, the CLI's parsing, rendering and exit codes, and the demo. They
#: run on SQLite only (marker ``adapter``); the service, store, API, attack and
#: local/remote parity tests below them run on PostgreSQL too. Without this the PostgreSQL
#: leg alone took 30 minutes of CI on 2 cores.
ADAPTER_TESTS = (
    "tests/api/test_authz_matrix.py",
    "tests/api/test_schemathesis.py",
    "tests/web/",
    "tests/cli/",
    "tests/demo/",
)
#: Adapter tests that still run on both backends: the CLI against a local database and
#: against a server, operation by operation.
BOTH_BACKENDS = ("tests/cli/test_backend_parity.py",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that uses a database, so CI can rerun those on PostgreSQL, and the
    adapter tests that need not be rerun there."""
    root = Path(str(config.rootpath))
    for item in items:
        if "database_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)
        where = Path(str(item.path)).relative_to(root).as_posix()
        if where.startswith(ADAPTER_TESTS) and not where.startswith(BOTH_BACKENDS):
            item.add_marker(pytest.mark.adapter)


class FakeClock:
    """A controllable clock: tests move time instead of sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        """Move the clock forward by a timedelta's keyword arguments."""
        self.now += timedelta(**kwargs)


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database on the backend under test."""
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path / 'charter.db'}"
        return
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:16]}"
    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in plain else "?"
    try:
        yield f"{plain}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The migrations, run once per session: a migrated SQLite file, or (PostgreSQL) every
    statement the migrations executed, recorded to replay into each test's schema.

    Migrating per test cost ~0.5 s on SQLite and ~1.3 s on PostgreSQL; copying the file or
    replaying the recorded statements costs a few milliseconds and builds the same schema.
    """
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        database = Database(f"sqlite:///{path}")
        upgrade(database)
        database.dispose()
        return path
    import psycopg
    from sqlalchemy import event

    schema = f"tpl_{uuid.uuid4().hex[:12]}"
    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in plain else "?"
    database = Database(f"{plain}{separator}options=-csearch_path%3D{schema}")
    statements: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if not statement.lstrip().upper().startswith(("SELECT", "SHOW")):
            statements.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", record)
    upgrade(database)
    database.dispose()
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return statements


@pytest.fixture
def db(database_url: str, migrated_template: Any) -> Iterator[Database]:
    """A migrated database (a copy of the session's migrated template)."""
    if BACKEND == "sqlite":
        import sqlite3

        source = sqlite3.connect(migrated_template)
        target = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        source.backup(target)
        source.close()
        target.close()
    else:
        import psycopg

        with psycopg.connect(database_url) as conn:
            for statement, parameters in migrated_template:
                conn.execute(statement, parameters or None)
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> FakeClock:
    """The clock services see."""
    return FakeClock()


@pytest.fixture
def charter(db: Database, clock: FakeClock) -> Charter:
    """The service entry point on the test database and clock."""
    return Charter(db, clock=clock)


@pytest.fixture
def tokens(charter: Charter, clock: FakeClock) -> dict[str, str]:
    """One user per role (named after the role, plus a second approver), by name -> token."""
    return users_per_role(charter, clock)


def users_per_role(charter: Charter, clock: FakeClock) -> dict[str, str]:
    """Create the admin, one user per other role and a second approver: name -> token."""
    result: dict[str, str] = {}
    with charter.db.transaction(write=True) as session:
        _, result["admin"] = bootstrap_admin(session, "admin", clock())
    with charter.act(result["admin"], write=True) as ctx:
        for role in Role:
            if role is not Role.ADMIN:
                _, result[role.value] = create_user(ctx, role.value.replace("_", "-"), role.value)
        _, result["approver2"] = create_user(ctx, "approver-2", "approver")
    return result


@pytest.fixture
def act(charter: Charter, tokens: dict[str, str]):  # type: ignore[no-untyped-def]
    """Open a write context as the user of a role: ``with act("developer") as ctx: ...``."""

    def _act(role: str, *, write: bool = True):  # type: ignore[no-untyped-def]
        return charter.act(tokens[role], write=write)

    return _act


__all__ = ["SHARED_DATASETS", "Context", "FakeClock", "actor_of"]
