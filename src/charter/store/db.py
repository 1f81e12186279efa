"""Engine and transactions for SQLite (default) and PostgreSQL.

Write transactions are serialised on both backends, so that check-then-write logic (is
this name taken? what is the audit-chain head?) never races: on SQLite they start with
``BEGIN IMMEDIATE`` (the second writer waits up to the busy timeout instead of failing at
commit); on PostgreSQL they first take a transaction-scoped advisory lock. Reads are
never blocked. SQLite runs in WAL mode with foreign keys on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from charter.domain.errors import BadInput

#: How long a SQLite writer waits for the lock before giving up, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 30_000

_WRITE_OPTION = "charter_write"
#: The advisory lock key PostgreSQL write transactions take ("CHRT").
WRITE_LOCK_KEY = 0x43_48_52_54


def normalise_url(url: str) -> str:
    """Map user-friendly URLs onto SQLAlchemy driver URLs (``postgresql://`` uses psycopg 3)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if not (url.startswith("sqlite") or url.startswith("postgresql+psycopg")):
        raise BadInput(
            f"unsupported database URL {url.split(':', 1)[0]!r}: use sqlite or postgresql"
        )
    return url


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so that BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _install_postgres_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(_WRITE_OPTION, False):
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")


@dataclass
class Database:
    """A database Charter stores its records in: an engine and two kinds of transaction."""

    url: str
    engine: Engine = field(init=False)
    _read_sessions: sessionmaker[Session] = field(init=False, repr=False)
    _write_sessions: sessionmaker[Session] = field(init=False, repr=False)
    _writer_queue: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        # hide_parameters: a database error names its statement but never the bound values,
        # which can be secrets (issue 9: a webhook secret appeared in the server log).
        self.url = normalise_url(self.url)
        if self.url.startswith("sqlite"):
            memory = self.url in ("sqlite://", "sqlite:///:memory:")
            # A pool of file connections (opening one costs four PRAGMAs); the in-memory
            # database exists per connection, so it gets none.
            self.engine = (
                create_engine(self.url, poolclass=NullPool, hide_parameters=True)
                if memory
                else create_engine(
                    self.url,
                    pool_size=8,
                    max_overflow=8,
                    pool_pre_ping=False,
                    hide_parameters=True,
                )
            )
            _install_sqlite_hooks(self.engine)
        else:
            self.engine = create_engine(
                self.url, pool_pre_ping=True, pool_size=10, hide_parameters=True
            )
            _install_postgres_hooks(self.engine)
        write_engine = self.engine.execution_options(**{_WRITE_OPTION: True})
        self._read_sessions = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(bind=write_engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        """True when the backend is SQLite."""
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[Session]:
        """Yield a session in one transaction: committed on success, rolled back on any error.

        On SQLite, writers of this process queue on a lock before ``BEGIN IMMEDIATE``:
        SQLite's busy handler retries with growing sleeps and in no order, which gives
        waiting writers a long tail; a fair in-process queue removes it. Writers in other
        processes still meet at the database lock.
        """
        factory = self._write_sessions if write else self._read_sessions
        if write and self.url.startswith("sqlite"):
            with self._writer_queue, factory() as session, session.begin():
                yield session
            return
        with factory() as session, session.begin():
            yield session

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()
