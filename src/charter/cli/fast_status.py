"""`charter status` (text or JSON) on the local database, without SQLAlchemy or Typer.

Importing SQLAlchemy, the ORM models, the policy pack's pydantic model and Typer was most
of what `charter status` cost over a thousand systems (issue 12: 0.75 s, of which 0.1 s
was reading). This path opens the database with its DB-API driver (``sqlite3``, or
psycopg for PostgreSQL) and runs the same read-model the service runs
(:func:`charter.services.status_read.status_systems`), so the output is the same.

It only takes the happy path: a local database at this Charter's schema revision, a
valid token whose role may read status and monitoring. Anything else (a server URL, a
missing or unknown token, an old schema, an unusual URL, a database error) returns None
and the command runs the ordinary way, which reports the problem as it always has.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from charter.domain.errors import CharterError

#: The command lines this path answers, and the format each asks for.
_REQUESTS = {
    ("status", "--format", "json"): "json",
    ("status", "--format=json"): "json",
    ("status",): "text",
    ("status", "--format", "text"): "text",
    ("status", "--format=text"): "text",
}


def requested(argv: Sequence[str]) -> bool:
    """Whether ``argv`` is exactly `charter status` (text or JSON output)."""
    return tuple(argv) in _REQUESTS


def run(argv: Sequence[str]) -> int | None:
    """Print `charter status` and return 0, or None to take the ordinary way."""
    if not requested(argv):
        return None
    from charter.settings import Settings

    try:
        settings = Settings.load()
    except CharterError:
        return None
    if settings.server_url or not settings.token:
        return None
    systems = read_status(settings.database_url, settings.token)
    if systems is None:
        return None
    if _REQUESTS[tuple(argv)] == "text":
        from charter.cli.status_text import print_status

        print_status({"systems": systems})
        return 0
    from charter.cli import render

    render.emit_json({"systems": systems})
    return 0


def read_status(database_url: str, token: str) -> list[dict[str, Any]] | None:
    """The status view's systems read straight from the database, or None (see above)."""
    from charter.services.status_read import Reader

    with _connect(database_url) as opened:
        if opened is None:
            return None
        connection, dialect, error = opened
        try:
            reader = Reader(connection, dialect)
            if not _allowed(reader, token):
                return None
            from charter.services.status_read import status_systems

            return status_systems(reader, datetime.now(UTC))
        except error:
            return None


@contextmanager
def _connect(url: str) -> Iterator[tuple[Any, str, type[Exception]] | None]:
    """A read transaction on the database at ``url``: (connection, dialect, driver error)."""
    if url.startswith("sqlite:///") and "?" not in url:
        import sqlite3

        path = url[len("sqlite:///") :]
        if path in ("", ":memory:") or not os.path.isfile(path):
            yield None
            return
        connection = sqlite3.connect(path, timeout=30, isolation_level=None)
        try:
            connection.execute("BEGIN")  # one snapshot for every query
            yield connection, "sqlite", sqlite3.Error
        finally:
            connection.close()
        return
    for scheme in ("postgres://", "postgresql://", "postgresql+psycopg://"):
        if url.startswith(scheme):
            import psycopg

            try:
                server = psycopg.connect("postgresql://" + url[len(scheme) :])
            except psycopg.Error:
                yield None
                return
            try:
                server.read_only = True
                yield server, "postgresql", psycopg.Error
            finally:
                server.close()
            return
    yield None


def _allowed(reader: Any, token: str) -> bool:
    """Whether the schema is current and ``token`` is a live token of a user whose role
    may read status and monitoring (the checks ``charter.services`` makes)."""
    from charter.domain.errors import Forbidden
    from charter.domain.roles import Permission, Role, require
    from charter.domain.tokens import hash_token, token_is_live
    from charter.store import SCHEMA_HEAD

    if reader.rows("SELECT version_num FROM alembic_version") != [(SCHEMA_HEAD,)]:
        return False
    found = reader.rows(
        "SELECT u.role, u.disabled, t.revoked_at FROM users u"
        " JOIN api_tokens t ON t.user_id = u.id WHERE t.token_hash = ?",
        (hash_token(token),),
    )
    if len(found) != 1 or not token_is_live(bool(found[0][1]), found[0][2]):
        return False
    try:
        role = Role(found[0][0])
        require(role, Permission.STATUS_READ)
        require(role, Permission.MONITOR_READ)
    except (ValueError, Forbidden):
        return False
    return True
